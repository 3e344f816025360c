"""Upsell's REST door: the offer catalog (versioned), what each offer earned, the decision log,
and the agent desktop's two messages — "the customer is interested" and "here is what they said".

Catalog edits are stored at once (200/201, with the new version); the two desktop messages become
events on `frontline.upsell.outcomes` and are answered 202, after what can be checked against the
ledger was checked (404 unknown suggestion, 409 an answer that contradicts the one recorded).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Protocol

from fastapi import APIRouter, Header, HTTPException, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from frontline.contracts.contacts import ShortText
from frontline.contracts.envelope import MAX_MONEY, Event, Identifier
from frontline.contracts.upsell import (
    MAX_OFFERS,
    InterestData,
    InterestMarked,
    Offer,
    OfferSettings,
    OutcomeData,
    OutcomeKind,
    SuggestionAnswered,
)
from frontline.plumbing.auth import Anyone, Desk, Managers, Principal, Role
from services.upsell.catalogs import Catalogs
from services.upsell.core.ledger import Ledger, Tally
from services.upsell.core.performance import OfferPerformance, performance_of
from services.upsell.store import UpsellStore, VersionConflict

OfferPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
IdPath = Annotated[str, Path(min_length=1, max_length=128)]


class Accepted(BaseModel):
    event_id: str
    type: str
    detail: str = "accepted; upsell applies it in order"


class InterestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: Identifier
    note: ShortText | None = None


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: OutcomeKind
    revenue: float = Field(default=0, ge=0, le=MAX_MONEY, description="What the customer bought for, if accepted.")


class OfferVersion(BaseModel):
    offer: Offer
    saved_at: datetime
    saved_by: str | None = Field(description="The key that saved it; not shown to agents.")


class DecisionOut(BaseModel):
    decision_id: str
    contact_id: str
    customer_id: str
    agent_id: str | None
    moment: str
    at: datetime
    shown: bool
    held_out: bool
    reasons: list[str]
    offer_id: str | None
    offer_version: int | None
    propensity: float | None
    choice_probability: float | None
    segment: str | None
    excluded: dict[str, int]
    open_offers: int
    outcome: OutcomeKind | None
    revenue: float


class Parts(Protocol):
    """What the routes use; the store and catalogs exist once the service has started."""

    store: UpsellStore
    catalogs: Catalogs
    ledger: Ledger

    async def publish(self, event: Event) -> None: ...


def router(parts: Parts) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["upsell"])
    ledger, publish = parts.ledger, parts.publish

    # --- the catalog ---------------------------------------------------------------------------

    @api.get("/offers", summary="The offer catalog, current versions")
    async def list_offers(who: Principal = Anyone) -> list[Offer]:
        return await parts.store.offers(who.tenant)

    @api.get("/offers/{offer_id}", summary="One offer, current version")
    async def get_offer(offer_id: OfferPath, who: Principal = Anyone) -> Offer:
        found = await parts.store.offer(who.tenant, offer_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"offer {offer_id!r} not found")
        return found

    @api.get("/offers/{offer_id}/versions", summary="Every version of an offer, oldest first")
    async def offer_versions(offer_id: OfferPath, who: Principal = Anyone) -> list[OfferVersion]:
        versions = await parts.store.versions(who.tenant, offer_id)
        if not versions:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"offer {offer_id!r} not found")
        shown = [v if not who.may(Role.AGENT) else {**v, "saved_by": None} for v in versions]
        return [OfferVersion.model_validate(v) for v in shown]

    @api.put(
        "/offers/{offer_id}",
        summary="Create an offer or save its next version",
        description="Send `If-Match: <version>` with the version you read (0 for a new offer) to make sure "
        "no one else's edit is overwritten: a mismatch is answered 412 with the current version.",
        responses={201: {"description": "Created"}, 412: {"description": "Changed since read"}},
    )
    async def save_offer(
        offer_id: OfferPath,
        settings: OfferSettings,
        response: Response,
        who: Principal = Managers,
        if_match: Annotated[str | None, Header(description='The version you read, e.g. 3 or "3"')] = None,
    ) -> Offer:
        expected = _version_in(if_match)
        catalog = await parts.catalogs.of(who.tenant)
        if catalog.size >= MAX_OFFERS and not await parts.store.versions(who.tenant, offer_id):
            raise HTTPException(status.HTTP_409_CONFLICT, f"the catalog holds {MAX_OFFERS} offers, its most")
        try:
            offer = await parts.store.save(
                who.tenant, offer_id, settings, expected=expected, by=who.name, now=datetime.now(UTC)
            )
        except VersionConflict as conflict:
            code = status.HTTP_412_PRECONDITION_FAILED if expected is not None else status.HTTP_409_CONFLICT
            raise HTTPException(code, f"offer {offer_id!r} is at version {conflict.current}") from None
        parts.catalogs.changed(who.tenant)
        response.status_code = status.HTTP_201_CREATED if offer.version == 1 else status.HTTP_200_OK
        response.headers["ETag"] = f'"{offer.version}"'
        return offer

    @api.delete("/offers/{offer_id}", status_code=204, summary="Take an offer out of the catalog (history stays)")
    async def remove_offer(offer_id: OfferPath, who: Principal = Managers) -> Response:
        if not await parts.store.remove(who.tenant, offer_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"offer {offer_id!r} not found")
        parts.catalogs.changed(who.tenant)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    # --- what offers earned ---------------------------------------------------------------------

    @api.get("/performance", summary="Every offer's impressions, acceptance, revenue and uplift")
    async def all_performance(who: Principal = Anyone) -> list[OfferPerformance]:
        tallies = ledger.book(who.tenant).tallies
        offers = {o.offer_id for o in await parts.store.offers(who.tenant)} | set(tallies)
        return [performance_of(o, tallies.get(o, Tally())) for o in sorted(offers)]

    @api.get("/offers/{offer_id}/performance", summary="One offer's impressions, acceptance, revenue and uplift")
    async def offer_performance(offer_id: OfferPath, who: Principal = Anyone) -> OfferPerformance:
        tally = ledger.book(who.tenant).tallies.get(offer_id)
        if tally is None:
            if await parts.store.offer(who.tenant, offer_id) is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"offer {offer_id!r} not found")
            tally = Tally()
        return performance_of(offer_id, tally)

    # --- the decision log and the desktop -------------------------------------------------------

    @api.get("/contacts/{contact_id}/decisions", summary="Every upsell decision on a contact, and why")
    async def decisions(contact_id: IdPath, who: Principal = Anyone) -> list[DecisionOut]:
        out = []
        for d in ledger.decisions_of(who.tenant, contact_id):
            fields = asdict(d)
            fields["open_offers"] = len(fields.pop("candidates"))
            out.append(DecisionOut(**fields, held_out=d.held_out))
        return out

    @api.post("/contacts/{contact_id}/interest", status_code=202, summary="The customer is interested in buying")
    async def mark_interest(contact_id: IdPath, body: InterestIn, who: Principal = Desk) -> Accepted:
        who.acts_as(body.agent_id)
        event = InterestMarked.new(
            data=InterestData(contact_id=contact_id, agent_id=body.agent_id, note=body.note),
            tenant=who.tenant,
            source=who.name,
            occurred_at=datetime.now(UTC),
            contact_id=contact_id,
        )
        await publish(event)
        return Accepted(event_id=str(event.id), type=event.type)

    @api.post("/suggestions/{suggestion_id}/outcome", status_code=202, summary="What the customer said to it")
    async def answer(suggestion_id: IdPath, body: OutcomeIn, who: Principal = Desk) -> Accepted:
        decision = ledger.decision(who.tenant, suggestion_id)
        if decision is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"suggestion {suggestion_id!r} not found")
        if decision.offer_id is None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"decision {suggestion_id!r} made no suggestion")
        if decision.agent_id is not None:
            who.acts_as(decision.agent_id)
        if decision.outcome is not None and decision.outcome is not body.outcome:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"suggestion {suggestion_id!r} was already answered: {decision.outcome}"
            )
        event = SuggestionAnswered.new(
            data=OutcomeData(
                suggestion_id=suggestion_id,
                offer_id=decision.offer_id,
                customer_id=decision.customer_id,
                outcome=body.outcome,
                revenue=body.revenue,
            ),
            tenant=who.tenant,
            source=who.name,
            occurred_at=datetime.now(UTC),
            contact_id=decision.contact_id,
        )
        await publish(event)
        return Accepted(event_id=str(event.id), type=event.type)

    return api


def _version_in(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not re.fullmatch(r"[0-9]{1,9}", text):  # ASCII digits only: str.isdigit() takes "²"
        raise HTTPException(status.HTTP_400_BAD_REQUEST, 'If-Match: must be an offer version, e.g. "3"')
    return int(text)
