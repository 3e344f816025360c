"""The routing engine of one pool: a command and `now` in, facts out. No I/O, no clock.

Every state change goes through `PoolState.evolve`, one fact at a time, so the facts returned are
exactly what a replay needs to rebuild this pool.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from frontline.contracts import agents as requests
from frontline.contracts.agents import Presence
from frontline.contracts.contacts import ContactReceived
from frontline.contracts.envelope import Event
from frontline.contracts.policies import CustomerLeft, QueuePolicy, QueuePolicySaved
from frontline.contracts.routing import (
    Abandonment,
    AgentChanged,
    AgentGone,
    AgentProfileChanged,
    AgentRemoved,
    AgentStateChanged,
    AgentStateData,
    Assignment,
    Completion,
    ContactAbandoned,
    ContactAssigned,
    ContactCompleted,
    ContactEscalated,
    ContactQueued,
    ContactTransferred,
    Escalated,
    Offer,
    OfferAccepted,
    OfferCreated,
    OfferExpired,
    OfferOutcome,
    OfferRejected,
    OfferWithdrawn,
    PolicyChanged,
    QueuedBecause,
    QueuedContact,
    QueuePolicyChanged,
    Transfer,
    Trigger,
    WrapUp,
    WrapUpFinished,
)
from services.routing.core.agents import Agent
from services.routing.core.contacts import Contact, Stage
from services.routing.core.errors import NotHandling, OfferNotOpen, UnknownAgent, UnknownQueue
from services.routing.core.pace import step_due
from services.routing.core.selection import Selection
from services.routing.core.state import Fact, PoolState

# Timers are due at float epoch seconds, `now` is a datetime (microseconds): a timer within one of them
# is due, or a clock set to a timer's own time could never reach it.
TIMER_RESOLUTION = 1e-6
OFFER_NAMESPACE = uuid.UUID("6f1c1f7e-5d0c-4a53-9d8e-6a4f1f3c2b10")


class Router(PoolState):
    """`apply(event, now)` and `tick(now)` return the facts they caused, already applied."""

    def __init__(self, tenant: str) -> None:
        super().__init__(tenant)
        self._facts: list[Fact] = []
        self._touched: dict[str, None] = {}  # agents a command touched, in order
        self._selection = Selection(self)

    @classmethod
    def handles(cls, event: Event) -> bool:
        return type(event) in _HANDLERS

    def apply(self, event: Event, now: datetime) -> list[Fact]:
        self._facts, self._touched = [], {}
        _HANDLERS[type(event)](self, event, now)
        self._selection.route(now)
        self._report_states(now)
        return self._facts

    def tick(self, now: datetime) -> list[Fact]:
        """Act on what fell due by `now`: expired offers, relaxed steps, escalations, overflows, wrap-ups."""
        self._facts, self._touched = [], {}
        epoch = now.timestamp() + TIMER_RESOLUTION
        while self.timers and self.timers[0][0] <= epoch:
            _, _, kind, key = heapq.heappop(self.timers)
            if kind == "offer":
                self._offer_due(key, now)
            elif kind == "wrap_up":
                self._wrap_up_due(key, now)
            else:
                self._contact_due(key, now)
        self._selection.route(now)
        self._report_states(now)
        return self._facts

    def next_due(self) -> float | None:
        return self.timers[0][0] if self.timers else None

    def emit(self, kind: type[Event], data: Any, at: datetime) -> None:
        fact = Fact(kind=kind, data=data, at=at)
        self.evolve(fact)
        self._facts.append(fact)
        agent_id = data.__dict__.get("agent_id")
        if agent_id is not None:
            self._touched[agent_id] = None

    def _report_states(self, now: datetime) -> None:
        """One agent.state_changed per agent whose shown state differs once the command is done
        (an agent who finishes a contact and is offered the next one at once stays busy)."""
        for agent_id in list(self._touched):
            agent = self.agents.get(agent_id)
            if agent is not None and agent.state is not self.reported_states.get(agent_id):
                data = AgentStateData(
                    agent_id=agent_id, state=agent.state, presence=agent.presence, reason=agent.reason
                )
                self.emit(AgentStateChanged, data, now)

    # --- contacts ------------------------------------------------------------------------------

    def _contact_received(self, event: ContactReceived, now: datetime) -> None:
        contact_id = event.contact_id or str(event.id)
        if contact_id in self.contacts:
            return
        data = event.data
        policy = self._queue_for(concern=data.concern.code, channel=data.channel)
        escalation = policy.escalation
        reason = None
        if escalation is not None and escalation.on_anger and (data.sentiment.angry or data.escalate):
            reason = "angry customer"
        elif escalation is not None and escalation.on_repeat_contact and data.repeat_contact:
            reason = "repeat contact"
        priority = max(0, min(100, data.priority + policy.priority_boost))
        queued = QueuedContact(
            contact_id=contact_id,
            queue=policy.queue,
            policy_version=self.policy_versions[policy.queue],
            because=QueuedBecause.ARRIVED,
            channel=data.channel,
            priority=priority,
            service_class=policy.service_class_for(priority).name,
            skills=data.required_skills,
            language=data.language.code,
            customer_id=data.customer.customer_id,
            escalated_to=escalation.tier if reason and escalation else None,
            escalation_reason=reason,
            arrived_at=min(data.arrived_at or event.occurred_at, now),
            queued_at=now,
            answer_within=policy.answer_within.get(data.channel),
        )
        self.emit(ContactQueued, queued, now)
        self._selection.contact_ready(contact_id, Trigger.CONTACT_QUEUED)

    def _queue_for(self, *, concern: str, channel: Any) -> QueuePolicy:
        ordered = self.queue_order
        return next((policy for policy in ordered if policy.takes(concern=concern, channel=channel)), ordered[-1])

    def _customer_left(self, event: CustomerLeft, now: datetime) -> None:
        contact = self.contacts.get(event.contact_id or "")
        if contact is None or contact.stage is Stage.ASSIGNED:
            return
        if contact.offer_id is not None and contact.agent_id is not None:
            self._withdraw(contact.offer_id, contact, reason=event.data.reason, now=now)
        self.emit(
            ContactAbandoned,
            Abandonment(
                contact_id=contact.contact_id,
                queue=contact.queue,
                waited_seconds=contact.waited_seconds(now),
                reason=event.data.reason,
            ),
            now,
        )

    def _contact_due(self, contact_id: str, now: datetime) -> None:
        contact = self.contacts.get(contact_id)
        if contact is None or contact.stage is not Stage.WAITING:
            return
        policy, waited_in_queue = contact.policy, (now - contact.queued.queued_at).total_seconds()
        overflow = policy.overflow
        if overflow is not None and waited_in_queue >= overflow.after_seconds and overflow.to_queue in self.policies:
            self._requeue(contact, queue=overflow.to_queue, because=QueuedBecause.OVERFLOWED, now=now)
            return
        escalation = policy.escalation
        if (
            escalation is not None
            and escalation.after_seconds is not None
            and contact.queued.escalated_to is None
            and waited_in_queue >= escalation.after_seconds
        ):
            reason = f"waited {escalation.after_seconds:g}s"
            self.emit(ContactEscalated, Escalated(contact_id=contact_id, tier=escalation.tier, reason=reason), now)
        if step_due(self, contact, now) != contact.step or contact.queued.escalated_to is not None:
            self._selection.contact_ready(contact_id, Trigger.STEP_RELAXED)

    def _requeue(
        self, contact: Contact, *, queue: str, because: QueuedBecause, now: datetime, only_agent: str | None = None
    ) -> None:
        policy = self.policies[queue]
        queued = contact.queued.model_copy(
            update={
                "queue": queue,
                "policy_version": self.policy_versions[queue],
                "because": because,
                "service_class": policy.service_class_for(contact.queued.priority).name,
                "only_agent": only_agent,
                "queued_at": now,
                "answer_within": policy.answer_within.get(contact.channel),
            }
        )
        self.emit(ContactQueued, queued, now)
        self._selection.contact_ready(contact.contact_id, Trigger.CONTACT_QUEUED)

    # --- offers --------------------------------------------------------------------------------

    def offer(self, contact: Contact, agent: Agent, now: datetime) -> None:
        offer_id = str(uuid.uuid5(OFFER_NAMESPACE, f"{self.tenant}|{contact.contact_id}|{contact.offers_made}"))
        expires_at = now + timedelta(seconds=contact.policy.offer_timeout_seconds)
        self.emit(
            OfferCreated,
            Offer(
                offer_id=offer_id,
                contact_id=contact.contact_id,
                agent_id=agent.agent_id,
                channel=contact.channel,
                queue=contact.queue,
                expires_at=expires_at,
            ),
            now,
        )

    def _offer_answered(self, event: requests.OfferAnswered, now: datetime) -> None:
        answer = event.data
        contact = self._open_offer(answer.offer_id, answer.agent_id)
        outcome = OfferOutcome(
            offer_id=answer.offer_id, contact_id=contact.contact_id, agent_id=answer.agent_id, reason=answer.reason
        )
        if not answer.accepted:
            self.emit(OfferRejected, outcome, now)
            self._selection.contact_ready(contact.contact_id, Trigger.OFFER_RETURNED)
            self._selection.agent_ready(answer.agent_id)
            return
        self.emit(OfferAccepted, outcome, now)
        assignment = Assignment(
            contact_id=contact.contact_id,
            agent_id=answer.agent_id,
            offer_id=answer.offer_id,
            queue=contact.queue,
            waited_seconds=contact.waited_seconds(now),
        )
        self.emit(ContactAssigned, assignment, now)

    def _open_offer(self, offer_id: str, agent_id: str) -> Contact:
        contact = self.contacts.get(self.offers.get(offer_id, ""))
        if contact is None or contact.offer_id != offer_id:
            raise OfferNotOpen(offer_id, "it was answered, expired or withdrawn already, or never made")
        if contact.agent_id != agent_id:
            raise OfferNotOpen(offer_id, f"it was made to another agent, not {agent_id}")
        return contact

    def _offer_due(self, offer_id: str, now: datetime) -> None:
        contact = self.contacts.get(self.offers.get(offer_id, ""))
        if contact is None or contact.offer_id != offer_id or contact.agent_id is None:
            return
        agent_id = contact.agent_id
        outcome = OfferOutcome(offer_id=offer_id, contact_id=contact.contact_id, agent_id=agent_id, reason="timeout")
        self.emit(OfferExpired, outcome, now)
        self._selection.contact_ready(contact.contact_id, Trigger.OFFER_RETURNED)
        agent = self.agents.get(agent_id)
        if agent is None:
            return
        if agent.missed_offers >= contact.policy.max_missed_offers:
            self._set_presence(agent, Presence.AWAY, f"missed {agent.missed_offers} offers in a row", now)
        else:
            self._selection.agent_ready(agent_id)

    def _withdraw(self, offer_id: str, contact: Contact, *, reason: str, now: datetime) -> None:
        outcome = OfferOutcome(
            offer_id=offer_id, contact_id=contact.contact_id, agent_id=contact.agent_id or "", reason=reason
        )
        self.emit(OfferWithdrawn, outcome, now)
        self._selection.agent_ready(outcome.agent_id)

    # --- agents --------------------------------------------------------------------------------

    def _agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise UnknownAgent(agent_id)
        return agent

    def _profile_saved(self, event: requests.AgentProfileSaved, now: datetime) -> None:
        self.emit(AgentChanged, AgentProfileChanged(profile=event.data), now)
        self._selection.agent_ready(event.data.agent_id)

    def _profile_removed(self, event: requests.AgentProfileRemoved, now: datetime) -> None:
        agent = self._agent(event.data.agent_id)
        self._take_back_offers(agent, reason="agent removed", now=now)
        held = [self.contacts[contact_id] for contact_id in agent.work if contact_id in self.contacts]
        self.emit(AgentRemoved, AgentGone(agent_id=agent.agent_id), now)
        for contact in held:
            self._requeue(contact, queue=contact.queue, because=QueuedBecause.TRANSFERRED, now=now)

    def _state_requested(self, event: requests.AgentStateRequested, now: datetime) -> None:
        agent = self._agent(event.data.agent_id)
        self._set_presence(agent, event.data.state, event.data.reason, now)

    def _set_presence(self, agent: Agent, presence: Presence, reason: str | None, now: datetime) -> None:
        if presence is agent.presence and reason == agent.reason:
            return
        if presence is not Presence.AVAILABLE:
            self._take_back_offers(agent, reason=f"agent went {presence.value}", now=now)
        state = AgentStateData(
            agent_id=agent.agent_id,
            state=agent.state_with(presence),
            presence=presence,
            reason=reason,
        )
        self.emit(AgentStateChanged, state, now)
        if presence is Presence.AVAILABLE:
            self._selection.agent_ready(agent.agent_id)

    def _take_back_offers(self, agent: Agent, *, reason: str, now: datetime) -> None:
        for offer_id, (contact_id, _) in list(agent.offers.items()):
            self._withdraw(offer_id, self.contacts[contact_id], reason=reason, now=now)
            self._selection.contact_ready(contact_id, Trigger.OFFER_RETURNED)

    def _contact_handled(self, event: requests.ContactHandled, now: datetime) -> None:
        contact = self._handled_by(event.contact_id or "", event.data.agent_id)
        wrap_up = timedelta(seconds=contact.policy.wrap_up_seconds)
        completion = Completion(
            contact_id=contact.contact_id,
            agent_id=event.data.agent_id,
            queue=contact.queue,
            disposition=event.data.disposition,
            resolution=event.data.resolution,
            handle_seconds=(now - (contact.assigned_at or now)).total_seconds(),
            wrap_up_until=now + wrap_up,
        )
        self.emit(ContactCompleted, completion, now)
        self._selection.agent_ready(event.data.agent_id)

    def _handled_by(self, contact_id: str, agent_id: str) -> Contact:
        contact = self.contacts.get(contact_id)
        if contact is None or contact.stage is not Stage.ASSIGNED or contact.agent_id != agent_id:
            raise NotHandling(contact_id, agent_id)
        return contact

    def _transfer_requested(self, event: requests.TransferRequested, now: datetime) -> None:
        request = event.data
        contact = self._handled_by(event.contact_id or "", request.agent_id)
        if request.to_queue is not None and request.to_queue not in self.policies:
            raise UnknownQueue(request.to_queue)
        if request.to_agent is not None:
            self._agent(request.to_agent)
        transfer = Transfer(
            contact_id=contact.contact_id,
            from_agent=request.agent_id,
            to_queue=request.to_queue,
            to_agent=request.to_agent,
            reason=request.reason,
        )
        self.emit(ContactTransferred, transfer, now)
        queue = request.to_queue or contact.queue
        self._requeue(contact, queue=queue, because=QueuedBecause.TRANSFERRED, now=now, only_agent=request.to_agent)
        self._selection.agent_ready(request.agent_id)

    def _wrap_up_ended(self, event: requests.WrapUpEnded, now: datetime) -> None:
        agent = self._agent(event.data.agent_id)
        if agent.wrap_up_until is not None:
            self.emit(WrapUpFinished, WrapUp(agent_id=agent.agent_id), now)
            self._selection.agent_ready(agent.agent_id)

    def _wrap_up_due(self, agent_id: str, now: datetime) -> None:
        agent = self.agents.get(agent_id)
        if agent is not None and agent.wrap_up_until is not None and agent.wrap_up_until <= now:
            self.emit(WrapUpFinished, WrapUp(agent_id=agent_id), now)
            self._selection.agent_ready(agent_id)

    # --- queues --------------------------------------------------------------------------------

    def _policy_saved(self, event: QueuePolicySaved, now: datetime) -> None:
        policy = event.data
        if policy.overflow is not None and policy.overflow.to_queue not in self.policies:
            raise UnknownQueue(policy.overflow.to_queue)
        version = self.policy_versions.get(policy.queue, 0) + 1
        self.emit(PolicyChanged, QueuePolicyChanged(policy=policy, policy_version=version), now)


_HANDLERS: dict[type[Event], Callable[[Router, Any, datetime], None]] = {
    ContactReceived: Router._contact_received,
    requests.AgentProfileSaved: Router._profile_saved,
    requests.AgentProfileRemoved: Router._profile_removed,
    requests.AgentStateRequested: Router._state_requested,
    requests.OfferAnswered: Router._offer_answered,
    requests.ContactHandled: Router._contact_handled,
    requests.TransferRequested: Router._transfer_requested,
    requests.WrapUpEnded: Router._wrap_up_ended,
    QueuePolicySaved: Router._policy_saved,
    CustomerLeft: Router._customer_left,
}
