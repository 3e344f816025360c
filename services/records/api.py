"""Records' REST door: timelines, verification and proofs, checkpoints, KPIs, export, retention,
legal holds and erasure. Every answer is as of the tenant's committed log state."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from frontline.contracts.contacts import ShortText
from frontline.contracts.envelope import Event, Timestamp
from frontline.contracts.records import CustomerErasureRequested, Erasure, Purge, RecordsPurged
from frontline.plumbing.auth import Admins, Anyone, Managers, Principal
from frontline.plumbing.logging import get_logger
from services.records.core.kpis import DEFINITIONS, DIMENSIONS, THRESHOLDS
from services.records.queries import Bucket, Item, NotRecorded, Records, TooWide, Verification
from services.records.settings import RecordsSettings
from services.records.store import RecordStore

IdPath = Annotated[str, Path(min_length=1, max_length=128)]
Dimension = Literal["tenant", "queue", "team", "agent", "channel"]
assert set(DIMENSIONS) == set(Dimension.__args__)  # type: ignore[attr-defined]

log = get_logger(__name__)


class Parts(Protocol):
    records: Records
    store: RecordStore
    settings: RecordsSettings

    async def publish(self, event: Event) -> None: ...

    async def purge(self, tenant: str, now: datetime) -> dict[str, Any]: ...


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_after: int | None = Field(description="Pass as `after` for the next page; null at the end.")


class ContactSummary(BaseModel):
    contact_id: str
    concern: str | None
    records: int
    first_at: str | None
    last_at: str | None
    last_type: str | None
    queue: str | None
    channel: str | None
    agent: str | None


class CustomerHistory(BaseModel):
    customer_id: str
    contacts: list[ContactSummary]
    next_offset: int | None


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: ShortText = Field(description="Why, e.g. gdpr_article_17.")


class Accepted(BaseModel):
    event_id: str
    type: str
    detail: str


class RecordsPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retention_days: int = Field(ge=1, le=36_500)
    service_levels: dict[ShortText, int] = Field(
        default_factory=dict, description=f"Queue → T seconds of its service level; one of {list(THRESHOLDS)}."
    )

    @field_validator("service_levels")
    @classmethod
    def _kept_thresholds(cls, levels: dict[str, int]) -> dict[str, int]:
        for queue, threshold in levels.items():
            if threshold not in THRESHOLDS:
                raise ValueError(f"{queue}: T must be one of {list(THRESHOLDS)} seconds, not {threshold}")
        return levels


class Holds(BaseModel):
    customers: list[str]
    contacts: list[str]


def _missing(error: NotRecorded) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(error))


def _item(item: Item) -> dict[str, Any]:
    return asdict(item)


def router(parts: Parts) -> APIRouter:
    api = APIRouter(prefix="/v1")

    async def policy_of(tenant: str) -> tuple[RecordsPolicy, dict[str, list[str]]]:
        doc = await parts.store.policy(tenant)
        policy = RecordsPolicy(
            retention_days=doc.get("retention_days", parts.settings.retention_days),
            service_levels=doc.get("service_levels", {}),
        )
        return policy, doc.get("holds", {"customers": [], "contacts": []})

    @api.get("/contacts/{contact_id}/timeline", summary="A contact's whole story, oldest first, paginated")
    async def contact_timeline(
        contact_id: IdPath,
        after: Annotated[int, Query(ge=-1, description="The last place already seen.")] = -1,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        type: Annotated[list[str] | None, Query(description="Only these event types.")] = None,
        start: Timestamp | None = None,
        end: Timestamp | None = None,
        who: Principal = Anyone,
    ) -> Page:
        try:
            items, cursor = await parts.records.timeline(
                who.tenant,
                f"contact:{contact_id}",
                after=after,
                limit=limit,
                types=set(type or ()),
                start=start,
                end=end,
            )
        except NotRecorded as error:
            raise _missing(error) from None
        return Page(items=[_item(i) for i in items], next_after=cursor)

    @api.get("/agents/{agent_id}/timeline", summary="What an agent's profile and states went through")
    async def agent_timeline(
        agent_id: IdPath,
        after: Annotated[int, Query(ge=-1)] = -1,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        who: Principal = Managers,
    ) -> Page:
        try:
            items, cursor = await parts.records.timeline(who.tenant, f"agent:{agent_id}", after=after, limit=limit)
        except NotRecorded as error:
            raise _missing(error) from None
        return Page(items=[_item(i) for i in items], next_after=cursor)

    @api.get("/customers/{customer_id}/history", summary="A customer's contacts, newest first, paginated")
    async def customer_history(
        customer_id: IdPath,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=200)] = 20,
        who: Principal = Anyone,
    ) -> CustomerHistory:
        try:
            state = await parts.records.state(who.tenant)
            customer = await parts.records.customer(state, customer_id)
        except NotRecorded as error:
            raise _missing(error) from None
        contacts = list(reversed(customer.get("contacts", [])))
        page = contacts[offset : offset + limit]
        summaries = []
        for entry in page:
            try:
                head = await parts.records.subject_head(state, f"contact:{entry['contact']}")
            except NotRecorded:
                head = {"count": 0}
            summaries.append(
                ContactSummary(
                    contact_id=entry["contact"],
                    concern=entry.get("concern"),
                    records=head["count"],
                    first_at=head.get("first_at"),
                    last_at=head.get("last_at"),
                    last_type=head.get("last_type"),
                    queue=head.get("queue"),
                    channel=head.get("channel"),
                    agent=head.get("agent"),
                )
            )
        more = offset + limit < len(contacts)
        return CustomerHistory(
            customer_id=customer_id, contacts=summaries, next_offset=offset + limit if more else None
        )

    @api.get("/verify/contacts/{contact_id}", summary="Prove a contact's history intact, or say what was altered")
    async def verify_contact(contact_id: IdPath, who: Principal = Managers) -> Verification:
        try:
            return await parts.records.verify(who.tenant, [f"contact:{contact_id}"])
        except NotRecorded as error:
            raise _missing(error) from None

    @api.get("/verify/customers/{customer_id}", summary="Prove every contact of a customer intact")
    async def verify_customer(customer_id: IdPath, who: Principal = Managers) -> Verification:
        try:
            state = await parts.records.state(who.tenant)
            customer = await parts.records.customer(state, customer_id)
            subjects = [f"contact:{c['contact']}" for c in customer.get("contacts", [])]
            try:
                await parts.records.subject_head(state, f"customer:{customer_id}")
                subjects.append(f"customer:{customer_id}")
            except NotRecorded:
                pass  # no request about the customer was recorded
            return await parts.records.verify(who.tenant, subjects)
        except NotRecorded as error:
            raise _missing(error) from None

    @api.get("/verify/log", summary="Check the tenant's whole log: every record, every leaf, the signed head")
    async def verify_log(who: Principal = Admins) -> Verification:
        try:
            return await parts.records.audit(who.tenant)
        except NotRecorded as error:
            raise _missing(error) from None

    @api.get("/checkpoints/latest", summary="The latest signed tree head, for an outside party to keep")
    async def latest_checkpoint(who: Principal = Anyone) -> dict[str, Any]:
        try:
            state = await parts.records.state(who.tenant)
        except NotRecorded as error:
            raise _missing(error) from None
        return {**(state.head or {}), "public_key": parts.records.public_key.hex(), "algorithm": "ed25519"}

    @api.get("/checkpoints", summary="Signed tree heads kept over time, oldest first")
    async def checkpoints(who: Principal = Anyone) -> list[dict[str, Any]]:
        heads = [h async for h in parts.store.scan(parts.store.heads, {"tenant": who.tenant})]
        return sorted(({k: v for k, v in h.items() if k != "_id"} for h in heads), key=lambda h: h["size"])

    @api.get("/checkpoints/key", summary="The Ed25519 public key tree heads are signed with")
    async def signing_key(who: Principal = Anyone) -> dict[str, str]:
        return {"algorithm": "ed25519", "public_key": parts.records.public_key.hex()}

    @api.get("/proofs/consistency", summary="RFC 9162 consistency proof: the log of `to` leaves extends `from`")
    async def consistency(
        from_size: Annotated[int, Query(alias="from", ge=1)],
        to_size: Annotated[int, Query(alias="to", ge=1)],
        who: Principal = Anyone,
    ) -> dict[str, Any]:
        try:
            proof = await parts.records.consistency(who.tenant, from_size, to_size)
            roots = [await parts.records.root_at(who.tenant, n) for n in (from_size, to_size)]
        except NotRecorded as error:
            raise _missing(error) from None
        except ValueError as error:
            raise HTTPException(422, f"from, to: {error}") from None
        return {"from": from_size, "to": to_size, "from_root": roots[0], "to_root": roots[1], "proof": proof}

    @api.get("/proofs/inclusion", summary="RFC 9162 inclusion proof of the leaf at `index` in the tree of `size`")
    async def inclusion(
        index: Annotated[int, Query(ge=0)], size: Annotated[int, Query(ge=1)], who: Principal = Anyone
    ) -> dict[str, Any]:
        try:
            leaf, proof = await parts.records.inclusion(who.tenant, index, size)
            root = await parts.records.root_at(who.tenant, size)
        except NotRecorded as error:
            raise _missing(error) from None
        except ValueError as error:
            raise HTTPException(422, f"index, size: {error}") from None
        return {"index": index, "size": size, "leaf": leaf, "root": root, "proof": proof}

    @api.get("/kpis", summary="KPIs by dimension and time bucket")
    async def kpis(
        start: Timestamp,
        end: Timestamp,
        dimension: Dimension = "tenant",
        key: Annotated[list[str] | None, Query(description="Keys of the dimension; all seen by default.")] = None,
        bucket: Bucket = "hour",
        who: Principal = Anyone,
    ) -> list[dict[str, Any]]:
        policy, _ = await policy_of(who.tenant)
        try:
            return await parts.records.kpis(
                who.tenant,
                dimension,
                key,
                bucket,
                start.astimezone(UTC),
                end.astimezone(UTC),
                policy.service_levels,
                parts.settings.service_level_seconds,
                datetime.now(UTC),
            )
        except NotRecorded as error:
            raise _missing(error) from None
        except TooWide as error:
            raise HTTPException(422, f"start, end: {error}") from None

    @api.get("/kpis/definitions", summary="What each KPI means, and the service level's T per queue")
    async def definitions(who: Principal = Anyone) -> dict[str, Any]:
        policy, _ = await policy_of(who.tenant)
        return {
            "definitions": DEFINITIONS,
            "service_level_seconds": {"default": parts.settings.service_level_seconds, **policy.service_levels},
            "thresholds_kept": list(THRESHOLDS),
        }

    @api.get("/kpis/backlog", summary="Contacts waiting now, by queue and channel, with the oldest wait")
    async def backlog(who: Principal = Anyone) -> dict[str, Any]:
        try:
            return await parts.records.backlog(who.tenant, datetime.now(UTC))
        except NotRecorded as error:
            raise _missing(error) from None

    @api.get("/export", summary="Records as JSON Lines or CSV, streamed, with the timelines' filters")
    async def export(
        format: Literal["jsonl", "csv"] = "jsonl",
        type: Annotated[list[str] | None, Query()] = None,
        start: Timestamp | None = None,
        end: Timestamp | None = None,
        contact: Annotated[
            list[Annotated[str, StringConstraints(max_length=128)]] | None,
            Query(max_length=1000, description="Only these contacts' records."),
        ] = None,
        customer: str | None = None,
        who: Principal = Managers,
    ) -> StreamingResponse:
        try:
            state = await parts.records.state(who.tenant)
            subjects = [f"contact:{c}" for c in contact] if contact else None
            for subject in subjects or ():  # every contact asked for is known before a line is sent
                await parts.records.subject_head(state, subject)
            if customer is not None:
                history = await parts.records.customer(state, customer)
                subjects = [*(subjects or []), *(f"contact:{c['contact']}" for c in history.get("contacts", []))]
        except NotRecorded as error:
            raise _missing(error) from None
        items = parts.records.export(who.tenant, types=set(type or ()), start=start, end=end, subjects=subjects)
        if format == "csv":
            return StreamingResponse(_failing_loudly(_csv(items), "#"), media_type="text/csv")
        return StreamingResponse(_failing_loudly(_jsonl(items), ""), media_type="application/x-ndjson")

    @api.post(
        "/customers/{customer_id}/erasure",
        status_code=202,
        summary="Erase a customer's personal data (their key is destroyed when records records the request)",
    )
    async def erase(customer_id: IdPath, body: ErasureIn, who: Principal = Admins) -> Accepted:
        event = CustomerErasureRequested.new(
            data=Erasure(customer_id=customer_id, reason=body.reason, requested_by=who.name),
            tenant=who.tenant,
            source="records",
            occurred_at=datetime.now(UTC),
        )
        await parts.publish(event)
        return Accepted(event_id=str(event.id), type=event.type, detail="accepted; records erases it in order")

    @api.get("/records/policy", summary="Retention and the service level's T per queue")
    async def get_policy(who: Principal = Anyone) -> RecordsPolicy:
        return (await policy_of(who.tenant))[0]

    @api.put("/records/policy", summary="Set retention and the service level's T per queue")
    async def put_policy(body: RecordsPolicy, who: Principal = Admins) -> RecordsPolicy:
        doc = await parts.store.policy(who.tenant)
        await parts.store.save_policy({**doc, **body.model_dump()})
        return body

    @api.get("/holds", summary="Customers and contacts under legal hold (exempt from purge)")
    async def get_holds(who: Principal = Managers) -> Holds:
        return Holds(**(await policy_of(who.tenant))[1])

    @api.put("/holds/{kind}/{ident}", summary="Put a customer or a contact under legal hold")
    async def hold(kind: Literal["customers", "contacts"], ident: IdPath, who: Principal = Admins) -> Holds:
        return await _change_hold(parts, who.tenant, kind, ident, add=True)

    @api.delete("/holds/{kind}/{ident}", summary="Release a legal hold")
    async def release(kind: Literal["customers", "contacts"], ident: IdPath, who: Principal = Admins) -> Holds:
        return await _change_hold(parts, who.tenant, kind, ident, add=False)

    @api.post("/records/purge", summary="Run the purge now: payloads past retention go, hashes and proofs stay")
    async def purge_now(who: Principal = Admins) -> dict[str, Any]:
        return await parts.purge(who.tenant, datetime.now(UTC))

    @api.get("/dead-letters", summary="Messages of this tenant each topic's DLQ received, by day")
    async def dead_letters(who: Principal = Managers) -> list[dict[str, Any]]:
        docs = [d async for d in parts.store.scan(parts.store.dead_letters, {})]
        counted = [(d["_id"], d.get("tenants", {}).get(who.tenant)) for d in docs]
        return [{"topic": topic, "count": c["count"], "by_day": c["by_day"]} for topic, c in counted if c]

    return api


async def _change_hold(parts: Parts, tenant: str, kind: str, ident: str, *, add: bool) -> Holds:
    doc = await parts.store.policy(tenant)
    holds = doc.setdefault("holds", {"customers": [], "contacts": []})
    held = [i for i in holds.get(kind, []) if i != ident]
    holds[kind] = [*held, ident] if add else held
    await parts.store.save_policy(doc)
    return Holds(**holds)


def purge_event(tenant: str, result: dict[str, Any], retention_days: int, now: datetime) -> RecordsPurged:
    return RecordsPurged.new(
        data=Purge(
            before=result["before"], retention_days=retention_days, records=result["records"], held=result["held"]
        ),
        tenant=tenant,
        source="records",
        occurred_at=now,
    )


async def _failing_loudly(lines: AsyncIterator[bytes], comment: str) -> AsyncIterator[bytes]:
    """A stream that fails after its status was sent ends with a line saying so, then aborts the
    chunked body (no final chunk), so no client can take part of an export for the whole."""
    try:
        async for line in lines:
            yield line
    except Exception as error:
        log.error("export failed mid-stream", error=f"{type(error).__name__}: {error}")
        trailer = {"error": f"the export failed after this line: {type(error).__name__}", "complete": False}
        yield (comment + json.dumps(trailer) + "\n").encode()
        raise ExportAborted(str(error)) from error


class ExportAborted(RuntimeError):
    """Raised into the server to abort a response already under way."""


async def _jsonl(items: AsyncIterator[Item]) -> AsyncIterator[bytes]:
    async for item in items:
        yield json.dumps(asdict(item), default=str).encode() + b"\n"


CSV_COLUMNS = ("index", "subject", "seq", "event_id", "type", "occurred_at", "withheld", "event")


async def _csv(items: AsyncIterator[Item]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    async for item in items:
        row = asdict(item)
        row["event"] = json.dumps(row["event"], default=str) if row["event"] is not None else ""
        writer.writerow([row[c] if row[c] is not None else "" for c in CSV_COLUMNS])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
