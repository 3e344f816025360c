"""Routing's REST door: agents, queues, offers and contacts in; live statistics and explanations out.

Requests become events on `frontline.agents.events` or `frontline.routing.requests` and are answered
202 Accepted: the worker that owns the tenant's pool applies them in order. What can be checked
against the live view is checked first (404 unknown, 409 not possible now); reads come from the view.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, status
from pydantic import BaseModel, ConfigDict, Field

from frontline.contracts import agents as requests
from frontline.contracts.agents import AgentProfile, AgentSettings, Presence
from frontline.contracts.contacts import ShortText
from frontline.contracts.envelope import Event, EventData, Identifier
from frontline.contracts.policies import CustomerLeaving, CustomerLeft, QueuePolicy, QueuePolicySaved, QueueSettings
from frontline.contracts.routing import Decision
from frontline.plumbing.auth import Admins, Anyone, Desk, Managers, Principal
from services.routing.core.contacts import Stage
from services.routing.core.state import PoolState
from services.routing.core.stats import QueueStats, estimated_wait, position_of, queue_stats
from services.routing.view import RoutingView

Publish = Callable[[Event], Any]
QueuePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
IdPath = Annotated[str, Path(min_length=1, max_length=128)]


class Accepted(BaseModel):
    event_id: str
    type: str
    detail: str = "accepted; routing applies requests in order, read the outcome back"


class AgentOut(BaseModel):
    profile: AgentProfile
    state: str
    presence: Presence
    reason: str | None
    idle_seconds: float
    wrap_up_until: datetime | None
    contacts: list[str]
    offers: list[str]
    missed_offers: int


class QueueOut(BaseModel):
    policy: QueuePolicy
    policy_version: int


class StateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Presence
    reason: ShortText | None = None


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: Identifier
    reason: ShortText | None = None


class CompleteIn(requests.Handled):
    """The wrap-up: what was done and, if the agent says, what the contact was about (intake learns from it)."""

    model_config = ConfigDict(extra="forbid")


class TransferIn(requests.TransferRequest):
    model_config = ConfigDict(extra="forbid")


class LeftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: ShortText = "customer_left"


class ContactRoutingOut(BaseModel):
    contact_id: str
    queue: str
    stage: Stage
    agent_id: str | None
    offer_id: str | None
    waited_seconds: float
    position: int | None = Field(description="0 = next in its queue; null unless waiting.")
    estimated_wait_seconds: float | None
    step: int
    decisions: list[Decision]


def router(view: RoutingView, publish: Publish) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["routing"])

    async def send(model: type[Event], data: EventData, who: Principal, contact_id: str | None = None) -> Accepted:
        event = model.new(
            data=data, tenant=who.tenant, source=who.name, occurred_at=datetime.now(UTC), contact_id=contact_id
        )
        await publish(event)
        return Accepted(event_id=str(event.id), type=event.type)

    def pool(who: Principal) -> PoolState:
        return view.pool(who.tenant)

    def known_agent(who: Principal, agent_id: str) -> None:
        if agent_id not in pool(who).agents:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"agent {agent_id!r} not found")

    # --- agents --------------------------------------------------------------------------------

    @api.get("/agents", summary="Every agent of the pool, with state and load")
    async def list_agents(who: Principal = Managers) -> list[AgentOut]:
        return [_agent_out(pool(who), agent_id) for agent_id in sorted(pool(who).agents)]

    @api.get("/agents/{agent_id}", summary="One agent")
    async def get_agent(agent_id: IdPath, who: Principal = Anyone) -> AgentOut:
        known_agent(who, agent_id)
        return _agent_out(pool(who), agent_id)

    @api.put("/agents/{agent_id}", status_code=202, summary="Create an agent or replace their profile")
    async def save_agent(
        agent_id: IdPath, profile: Annotated[AgentSettings, Body()], who: Principal = Admins
    ) -> Accepted:
        full = AgentProfile.model_validate({**profile.model_dump(), "agent_id": agent_id})
        return await send(requests.AgentProfileSaved, full, who)

    @api.delete("/agents/{agent_id}", status_code=202, summary="Remove an agent; their contacts are re-queued")
    async def remove_agent(agent_id: IdPath, who: Principal = Admins) -> Accepted:
        known_agent(who, agent_id)
        return await send(requests.AgentProfileRemoved, requests.AgentRef(agent_id=agent_id), who)

    @api.post("/agents/{agent_id}/state", status_code=202, summary="Go available, away or offline, with a reason")
    async def request_state(agent_id: IdPath, body: StateIn, who: Principal = Anyone) -> Accepted:
        who.acts_as(agent_id)
        known_agent(who, agent_id)
        request = requests.StateRequest(agent_id=agent_id, state=body.state, reason=body.reason)
        return await send(requests.AgentStateRequested, request, who)

    @api.post("/agents/{agent_id}/end-wrap-up", status_code=202, summary="Finish after-contact work early")
    async def end_wrap_up(agent_id: IdPath, who: Principal = Desk) -> Accepted:
        who.acts_as(agent_id)
        known_agent(who, agent_id)
        if pool(who).agents[agent_id].wrap_up_until is None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"agent {agent_id!r} is not in wrap-up")
        return await send(requests.WrapUpEnded, requests.AgentRef(agent_id=agent_id), who)

    # --- offers and contacts -------------------------------------------------------------------

    def open_offer(who: Principal, offer_id: str, agent_id: str) -> None:
        who.acts_as(agent_id)
        state = pool(who)
        contact = state.contacts.get(state.offers.get(offer_id, ""))
        if contact is None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"offer {offer_id!r} is not open")
        if contact.agent_id != agent_id:
            raise HTTPException(status.HTTP_409_CONFLICT, f"offer {offer_id!r} was made to another agent")

    @api.post("/offers/{offer_id}/accept", status_code=202, summary="Accept an offer")
    async def accept(offer_id: IdPath, body: AnswerIn, who: Principal = Desk) -> Accepted:
        open_offer(who, offer_id, body.agent_id)
        answer = requests.OfferAnswer(offer_id=offer_id, agent_id=body.agent_id, accepted=True, reason=body.reason)
        return await send(requests.OfferAnswered, answer, who)

    @api.post("/offers/{offer_id}/reject", status_code=202, summary="Reject an offer; the contact is re-routed")
    async def reject(offer_id: IdPath, body: AnswerIn, who: Principal = Desk) -> Accepted:
        open_offer(who, offer_id, body.agent_id)
        answer = requests.OfferAnswer(offer_id=offer_id, agent_id=body.agent_id, accepted=False, reason=body.reason)
        return await send(requests.OfferAnswered, answer, who)

    def handled_by(who: Principal, contact_id: str, agent_id: str) -> None:
        who.acts_as(agent_id)
        contact = pool(who).contacts.get(contact_id)
        if contact is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"contact {contact_id!r} is not in routing")
        if contact.stage is not Stage.ASSIGNED or contact.agent_id != agent_id:
            raise HTTPException(status.HTTP_409_CONFLICT, f"contact {contact_id!r} is not assigned to {agent_id!r}")

    @api.post("/contacts/{contact_id}/complete", status_code=202, summary="Finish a contact; wrap-up starts")
    async def complete(contact_id: IdPath, body: CompleteIn, who: Principal = Desk) -> Accepted:
        handled_by(who, contact_id, body.agent_id)
        handled = requests.Handled.model_validate(body.model_dump())
        return await send(requests.ContactHandled, handled, who, contact_id=contact_id)

    @api.post("/contacts/{contact_id}/transfer", status_code=202, summary="Hand a contact to a queue or an agent")
    async def transfer(contact_id: IdPath, body: TransferIn, who: Principal = Desk) -> Accepted:
        handled_by(who, contact_id, body.agent_id)
        if body.to_queue is not None and body.to_queue not in pool(who).policies:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"queue {body.to_queue!r} not found")
        if body.to_agent is not None:
            known_agent(who, body.to_agent)
        request = requests.TransferRequest.model_validate(body.model_dump())
        return await send(requests.TransferRequested, request, who, contact_id=contact_id)

    @api.post("/contacts/{contact_id}/abandon", status_code=202, summary="The customer left before an agent took it")
    async def abandon(contact_id: IdPath, body: LeftIn, who: Principal = Managers) -> Accepted:
        contact = pool(who).contacts.get(contact_id)
        if contact is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"contact {contact_id!r} is not in routing")
        if contact.stage is Stage.ASSIGNED:
            raise HTTPException(status.HTTP_409_CONFLICT, f"contact {contact_id!r} is already with an agent")
        return await send(CustomerLeft, CustomerLeaving(reason=body.reason), who, contact_id=contact_id)

    @api.get("/contacts/{contact_id}/routing", summary="Where a contact is: stage, position, estimated wait, why")
    async def contact_routing(contact_id: IdPath, who: Principal = Anyone) -> ContactRoutingOut:
        state = pool(who)
        contact = state.contacts.get(contact_id)
        if contact is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"contact {contact_id!r} is not in routing (any more)")
        now = datetime.now(UTC)
        position = position_of(state, contact, now)
        return ContactRoutingOut(
            contact_id=contact_id,
            queue=contact.queue,
            stage=contact.stage,
            agent_id=contact.agent_id,
            offer_id=contact.offer_id,
            waited_seconds=contact.waited_seconds(now),
            position=position,
            estimated_wait_seconds=None if position is None else estimated_wait(state, contact.queue, position),
            step=contact.step,
            decisions=list(view.decisions.get((who.tenant, contact_id), ())),
        )

    @api.get("/contacts/{contact_id}/decisions", summary="Why a contact went where it went (newest last)")
    async def decisions(contact_id: IdPath, who: Principal = Anyone) -> list[Decision]:
        kept = view.decisions.get((who.tenant, contact_id))
        if kept is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no routing decisions kept for contact {contact_id!r}")
        return list(kept)

    # --- queues --------------------------------------------------------------------------------

    @api.get("/queues", summary="Every queue's policy and version")
    async def list_queues(who: Principal = Anyone) -> list[QueueOut]:
        state = pool(who)
        return [QueueOut(policy=p, policy_version=state.policy_versions[p.queue]) for p in state.queue_order]

    @api.get("/queues/{queue}", summary="One queue's policy and version")
    async def get_queue(queue: QueuePath, who: Principal = Anyone) -> QueueOut:
        state = pool(who)
        if queue not in state.policies:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"queue {queue!r} not found")
        return QueueOut(policy=state.policies[queue], policy_version=state.policy_versions[queue])

    @api.put("/queues/{queue}", status_code=202, summary="Create a queue or replace its policy (a new version)")
    async def save_queue(
        queue: QueuePath, settings: Annotated[QueueSettings, Body()], who: Principal = Admins
    ) -> Accepted:
        overflow = settings.overflow
        if overflow is not None and (overflow.to_queue == queue or overflow.to_queue not in pool(who).policies):
            problem = "a queue cannot overflow into itself" if overflow.to_queue == queue else "queue not found"
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                [{"loc": ["body", "overflow", "to_queue"], "msg": f"{overflow.to_queue!r}: {problem}"}],
            )
        policy = QueuePolicy.model_validate({**settings.model_dump(), "queue": queue})
        return await send(QueuePolicySaved, policy, who)

    @api.get("/queues/{queue}/stats", summary="Waiting, oldest wait, agents per skill, estimated wait")
    async def stats(queue: QueuePath, who: Principal = Anyone) -> QueueStats:
        state = pool(who)
        if queue not in state.policies:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"queue {queue!r} not found")
        return queue_stats(state, queue, datetime.now(UTC))

    @api.get("/stats", summary="Live statistics of every queue")
    async def all_stats(who: Principal = Anyone) -> list[QueueStats]:
        state, now = pool(who), datetime.now(UTC)
        return [queue_stats(state, policy.queue, now) for policy in state.queue_order]

    return api


def _agent_out(state: PoolState, agent_id: str) -> AgentOut:
    agent = state.agents[agent_id]
    return AgentOut(
        profile=agent.profile,
        state=agent.state.value,
        presence=agent.presence,
        reason=agent.reason,
        idle_seconds=agent.idle_seconds(datetime.now(UTC)),
        wrap_up_until=agent.wrap_up_until,
        contacts=sorted(agent.work),
        offers=sorted(agent.offers),
        missed_offers=agent.missed_offers,
    )
