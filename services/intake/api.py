"""Intake's REST door and its customer and taxonomy resources; thin: translate, call, translate back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Header, HTTPException, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from frontline.contracts.contacts import ContactReceivedData, ContactSubmittedData, CustomerIdentifiers
from frontline.contracts.envelope import EventTooLarge, Timestamp
from frontline.contracts.registry import describe_validation_error
from frontline.plumbing.auth import CurrentPrincipal, Managers, Principal, Role, requires
from services.intake.core.customers import CustomerProfile, ProfileUpdate
from services.intake.core.examples import (
    CSV,
    JSON_LINES,
    MAX_ROWS,
    ExampleIn,
    InvalidExamples,
    parse_examples,
    redacted,
)
from services.intake.core.identity import InvalidIdentifier, normalise
from services.intake.core.taxonomy import Taxonomy
from services.intake.service import Accepted, Outcome, Refused, Submission
from services.intake.store import EPOCH, ReferenceTaken

if TYPE_CHECKING:
    from services.intake.app import Components

MAX_BATCH = 500
Source = Annotated[str, StringConstraints(min_length=1, max_length=128)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


class ContactIn(ContactSubmittedData):
    """A contact as another system or an agent submits it."""

    model_config = ConfigDict(extra="forbid")

    source: Source | None = Field(default=None, description="The submitting system; defaults to the API key's name.")
    occurred_at: Timestamp | None = Field(default=None, description="When the customer made contact; now if left out.")


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contacts: list[ContactIn] = Field(min_length=1, max_length=MAX_BATCH)


class ContactOut(BaseModel):
    contact_id: str
    duplicate: bool = Field(description="True when this contact had been submitted before.")
    event_id: str
    received_at: datetime
    contact: ContactReceivedData


class BatchOut(BaseModel):
    contacts: list[ContactOut]


class ExampleSetOut(BaseModel):
    version: int
    examples: int
    intents: int = Field(description="Distinct intents among the examples.")
    concerns: int = Field(description="Distinct concerns among the examples.")
    by: str = Field(description="The API key that uploaded them.")
    stored_at: datetime
    documents: int = Field(description="Store documents holding them.")
    redacted: int | None = Field(default=None, description="Examples in which something was masked (upload only).")


class LabelScore(BaseModel):
    label: str
    f1: float


class Confusion(BaseModel):
    labelled: str
    predicted: str
    count: int


class EvaluationOut(BaseModel):
    examples: int = Field(description="Held-back examples it was measured on (never trained on).")
    accuracy: float
    macro_f1: float
    log_loss: float | None = Field(
        default=None, description="Mean -ln of the probability it gave the true concern (models only); lower is better."
    )
    f1_by_label: list[LabelScore] = Field(default_factory=list)
    confusions: list[Confusion] = Field(default_factory=list, description="The most frequent mistakes first.")


class ModelSummaryOut(BaseModel):
    version: int
    live: bool
    stored: bool = Field(
        description="Its model is kept and can be made live; older versions keep only their evaluation."
    )
    trained_at: datetime
    trained_on: int = Field(description="Examples it learned from.")
    held_back: int = Field(description="Examples it was measured on.")
    labels: int = Field(description="Intents (or concerns) it tells apart.")
    bytes: int
    seconds: float = Field(description="How long training and evaluation took.")
    promoted: bool = Field(description="Whether it beat what classified when it was trained.")
    reason: str
    live_concern_macro_f1: float | None = Field(description="The model live then, on the same examples.")
    keywords_concern_macro_f1: float = Field(description="The keyword taxonomy, on the same examples.")
    languages: list[str] | None = Field(
        default=None,
        description="Languages it learned (each at least 2 % of its examples); a contact written in another"
        " is classified by the taxonomy's keywords. None: not recorded (versions trained before languages were).",
    )


class ModelVersionOut(ModelSummaryOut):
    evaluation: EvaluationOut = Field(description="Its labels (intents, or concerns) on the held-back examples.")
    concern_evaluation: EvaluationOut = Field(description="The concerns that follow, which routing acts on.")
    concerns: dict[str, str] = Field(description="Each label's concern.")


class ModelsOut(BaseModel):
    live: int | None = Field(description="The version classifying now; none: the keyword taxonomy.")
    live_by: str | None = Field(description="Who made it live: `training`, or the API key that chose it.")
    live_since: datetime | None
    training_pending: bool = Field(description="Examples changed since the last training.")
    next_training: datetime | None = Field(
        description="When a pending training may start at the earliest; none: at the next look for work."
    )
    last_training: dict[str, object] | None
    versions: list[ModelSummaryOut]


class LiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(ge=1, le=2**31, description="A stored version, or null for the keyword taxonomy.")


EXPORT: dict[str, Any] = {
    "dependencies": [requires(Role.ADMIN)],
    "response_class": Response,
    "responses": {200: {"content": {JSON_LINES[0]: {"schema": {"type": "string"}}}}},
}
UPLOAD_ROWS = {"type": "array", "items": ExampleIn.model_json_schema(), "minItems": 1, "maxItems": MAX_ROWS}
UPLOAD_CONTENT = {
    JSON_LINES[0]: {
        "schema": UPLOAD_ROWS,
        "example": '{"text": "My card has not arrived", "intent": "card_arrival"}',
    },
    CSV: {"schema": UPLOAD_ROWS, "example": "text,concern\nWhere is my refund?,returns_refunds\n"},
}


def router(parts: Components) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["intake"])

    @api.post(
        "/contacts",
        status_code=201,
        response_model=ContactOut,
        summary="Submit one contact; the same Idempotency-Key or (source, external_id) yields the same contact",
    )
    async def submit(
        response: Response,
        principal: CurrentPrincipal,
        contact: Annotated[ContactIn, Body()],
        idempotency_key: IdempotencyKey = None,
    ) -> ContactOut:
        submission = _submission(principal, contact, idempotency_key)
        async with _admitted(parts):
            [outcome] = await parts.rest.submit([submission])
        accepted = _accepted(outcome, ("body",))
        if accepted.duplicate:
            response.status_code = status.HTTP_200_OK
        return _out(accepted)

    @api.post(
        "/contacts:batch",
        response_model=BatchOut,
        summary=f"Submit up to {MAX_BATCH} contacts; the whole batch is validated before any is accepted",
    )
    async def submit_batch(principal: CurrentPrincipal, batch: BatchIn) -> BatchOut:
        submissions = [_submission(principal, contact, None) for contact in batch.contacts]
        if refusals := parts.intake.refusals(submissions):
            raise HTTPException(422, [_problem(("body", "contacts", i, *r.location), r) for i, r in refusals])
        async with _admitted(parts):
            outcomes = await parts.rest.submit(submissions)
        return BatchOut(
            contacts=[_out(_accepted(outcome, ("body", "contacts", i))) for i, outcome in enumerate(outcomes)]
        )

    @api.get("/contacts/{contact_id}", response_model=ContactOut)
    async def get_contact(principal: CurrentPrincipal, contact_id: str) -> ContactOut:
        stored = await parts.store.contact(principal.tenant, contact_id)
        if stored is None:
            raise HTTPException(404, f"no contact {contact_id}")
        return _out(Accepted(stored, duplicate=True))

    @api.get(
        "/customers",
        response_model=CustomerProfile,
        summary="Find a customer by exactly one of reference, email or phone",
    )
    async def find_customer(
        principal: CurrentPrincipal,
        reference: str | None = Query(None),
        email: str | None = Query(None),
        phone: str | None = Query(None),
    ) -> CustomerProfile:
        key = _lookup_key(parts.settings.default_region, reference=reference, email=email, phone=phone)
        found = await parts.store.customer_by_key(principal.tenant, key)
        if found is None:
            raise HTTPException(404, "no customer with that identifier")
        return found

    @api.get("/customers/{customer_id}", response_model=CustomerProfile)
    async def get_customer(principal: CurrentPrincipal, customer_id: str) -> CustomerProfile:
        found = await parts.store.customer(principal.tenant, customer_id)
        if found is None:
            raise HTTPException(404, f"no customer {customer_id}")
        return found

    @api.patch("/customers/{customer_id}", response_model=CustomerProfile, dependencies=[Managers])
    async def update_customer(principal: CurrentPrincipal, customer_id: str, update: ProfileUpdate) -> CustomerProfile:
        try:
            found = await parts.store.update_customer(principal.tenant, customer_id, update, now=datetime.now(UTC))
        except ReferenceTaken as taken:
            raise HTTPException(409, str(taken)) from None
        if found is None:
            raise HTTPException(404, f"no customer {customer_id}")
        return found

    @api.get("/taxonomy", response_model=Taxonomy)
    async def get_taxonomy(principal: CurrentPrincipal) -> Taxonomy:
        return await parts.classifiers.taxonomy(principal.tenant)

    @api.put(
        "/taxonomy",
        response_model=Taxonomy,
        dependencies=[requires(Role.ADMIN)],
        summary="Replace the tenant's concern taxonomy (its version must grow)",
    )
    async def put_taxonomy(principal: CurrentPrincipal, taxonomy: Taxonomy) -> Taxonomy:
        current = await parts.classifiers.taxonomy(principal.tenant)
        if taxonomy.version <= current.version:
            raise HTTPException(409, f"version must be greater than the current {current.version}")
        await parts.store.save_taxonomy(principal.tenant, taxonomy)
        parts.classifiers.forget(principal.tenant)
        return taxonomy

    @api.post(
        "/training-examples",
        status_code=201,
        response_model=ExampleSetOut,
        dependencies=[requires(Role.ADMIN)],
        summary=f"Upload up to {MAX_ROWS:,} labelled examples (JSON Lines or CSV), validated whole; "
        "they are kept redacted as the tenant's next version",
        openapi_extra={"requestBody": {"required": True, "content": UPLOAD_CONTENT}},
    )
    async def add_training_examples(principal: CurrentPrincipal, request: Request) -> ExampleSetOut:
        try:
            examples = parse_examples(await request.body(), request.headers.get("content-type", ""))
        except InvalidExamples as invalid:
            raise HTTPException(422, str(invalid)) from None
        kept, masked = redacted(examples, region=parts.settings.default_region)
        await parts.models.changed(principal.tenant, now=True)  # a crash after storing still trains them
        stored = await parts.store.add_examples(principal.tenant, kept, by=principal.name, now=datetime.now(UTC))
        await parts.models.changed(principal.tenant, now=True)  # a training that began meanwhile missed them
        return ExampleSetOut(**asdict(stored), redacted=masked)

    @api.get(
        "/training-examples",
        response_model=list[ExampleSetOut],
        dependencies=[requires(Role.ADMIN)],
        summary="The tenant's versions of labelled examples, oldest first",
    )
    async def training_example_sets(principal: CurrentPrincipal) -> list[ExampleSetOut]:
        return [ExampleSetOut(**asdict(kept)) for kept in await parts.store.example_sets(principal.tenant)]

    @api.get(
        "/training-examples/corrections",
        summary="What agents said contacts were about at wrap-up, newest first, as JSON Lines (redacted texts)",
        **EXPORT,
    )
    async def export_corrections(
        principal: CurrentPrincipal, limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = MAX_ROWS
    ) -> Response:
        return _json_lines(await parts.models.corrections(principal.tenant, limit=limit))

    @api.get(
        "/training-examples/{version}",
        summary="One version's examples as JSON Lines, as kept (redacted), in the upload's order",
        **EXPORT,
    )
    async def export_training_examples(
        principal: CurrentPrincipal, version: Annotated[int, Path(ge=1, le=2**31)]
    ) -> Response:
        kept = next((s for s in await parts.store.example_sets(principal.tenant) if s.version == version), None)
        if kept is None:
            raise HTTPException(404, f"no examples of version {version}")
        return _json_lines(
            [example async for chunk in parts.store.examples(principal.tenant, kept) for example in chunk]
        )

    @api.get(
        "/models",
        response_model=ModelsOut,
        dependencies=[requires(Role.ADMIN)],
        summary="The tenant's concern model versions, oldest first, which one is live, and the last training",
    )
    async def models(principal: CurrentPrincipal) -> ModelsOut:
        return await _models_out(parts, principal.tenant)

    @api.get(
        "/models/{version}",
        response_model=ModelVersionOut,
        dependencies=[requires(Role.ADMIN)],
        summary="One version's evaluation on the held-back examples: per-label F1 and the confusions",
    )
    async def model_version(
        principal: CurrentPrincipal, version: Annotated[int, Path(ge=1, le=2**31)]
    ) -> ModelVersionOut:
        found = await parts.models.version(principal.tenant, version)
        if found is None:
            raise HTTPException(404, f"no model version {version}")
        live = await parts.models.live(principal.tenant)
        return ModelVersionOut.model_validate(_as_listed(found, live))

    @api.put(
        "/models/live",
        response_model=ModelsOut,
        dependencies=[requires(Role.ADMIN)],
        summary="Make a stored version live (a rollback), or none: the keyword taxonomy classifies again",
    )
    async def set_live(principal: CurrentPrincipal, choice: LiveIn) -> ModelsOut:
        if choice.version is not None:
            found = await parts.models.version(principal.tenant, choice.version)
            if found is None:
                raise HTTPException(404, f"no model version {choice.version}")
            if not found["parts"]:
                raise HTTPException(409, f"version {choice.version} is no longer stored, only its evaluation")
        await parts.models.set_live(principal.tenant, choice.version, by=principal.name, now=datetime.now(UTC))
        parts.classifiers.forget(principal.tenant)
        return await _models_out(parts, principal.tenant)

    return api


def _json_lines(examples: list[ExampleIn]) -> Response:
    lines = [example.model_dump_json(exclude_none=True).encode() + b"\n" for example in examples]
    return Response(b"".join(lines), media_type=JSON_LINES[0])


def _as_listed(found: dict[str, Any], live: int | None) -> dict[str, Any]:
    """A stored version's summary, with whether it is live and whether its model is still kept."""
    return found | {"live": found["version"] == live, "stored": found["parts"] > 0}


async def _models_out(parts: Components, tenant: str) -> ModelsOut:
    learning = await parts.models.learning(tenant)
    versions = [
        ModelSummaryOut.model_validate(_as_listed(found, learning.live))
        for found in await parts.models.versions(tenant)
    ]
    return ModelsOut(
        live=learning.live,
        live_by=learning.live_by,
        live_since=learning.live_since,
        training_pending=learning.pending,
        next_training=learning.next_training if learning.next_training != EPOCH else None,
        last_training=learning.last_training,
        versions=versions,
    )


def _submission(principal: Principal, contact: ContactIn, idempotency_key: str | None) -> Submission:
    if contact.source not in (None, principal.name) and not principal.may(Role.SYSTEM):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"only a system key may name a source other than its own ({principal.name})"
        )
    return Submission(
        tenant=principal.tenant,
        source=contact.source or principal.name,
        occurred_at=contact.occurred_at or datetime.now(UTC),
        idempotency_key=idempotency_key,
        data=ContactSubmittedData.model_validate(contact.model_dump(exclude={"source", "occurred_at"})),
    )


def _accepted(outcome: Outcome, field_prefix: tuple[str | int, ...]) -> Accepted:
    """The accepted contact; a refusal as the 422 (or 413 for an event too large) naming the field."""
    if isinstance(outcome, Accepted):
        return outcome
    if isinstance(outcome.error, EventTooLarge):
        raise outcome.error  # the guard's 413
    raise HTTPException(422, [_problem((*field_prefix, *outcome.location), outcome)])


def _problem(location: tuple[str | int, ...], refused: Refused) -> dict[str, object]:
    """The same shape FastAPI gives its own validation errors, so clients handle one format."""
    message = refused.error.problem if isinstance(refused.error, InvalidIdentifier) else str(refused.error)
    return {"loc": list(location), "msg": message, "type": "value_error"}


@asynccontextmanager
async def _admitted(parts: Components) -> AsyncIterator[None]:
    """Past the configured number of contacts in flight, answer at once with 503 and Retry-After
    rather than queue until every caller times out."""
    if parts.admission.locked():
        raise HTTPException(503, "intake is at capacity; retry shortly", headers={"Retry-After": "1"})
    async with parts.admission:
        yield


def _unprocessable(location: tuple[str | int, ...], message: str) -> HTTPException:
    return HTTPException(422, [{"loc": list(location), "msg": message, "type": "value_error"}])


def _lookup_key(region: str, **given: str | None) -> str:
    named = {kind: value for kind, value in given.items() if value}
    if len(named) != 1:
        raise _unprocessable(("query",), "give exactly one of reference, email or phone")
    try:
        return normalise(CustomerIdentifiers.model_validate(named), region=region).keys()[0]
    except InvalidIdentifier as invalid:
        raise _unprocessable(("query", *invalid.field.split(".")[1:]), invalid.problem) from None
    except ValidationError as invalid:
        raise _unprocessable(("query", *named), describe_validation_error(invalid)) from None


def _out(accepted: Accepted) -> ContactOut:
    event = accepted.event
    return ContactOut(
        contact_id=str(event.contact_id),
        duplicate=accepted.duplicate,
        event_id=str(event.id),
        received_at=event.occurred_at,
        contact=event.data,
    )
