"""A hand-computed morning in one queue, as the events records receives, and the KPIs it must give.
Routing's facts here are stand-ins (source "scenario"), which a running routing service skips.

Queue `billing`, voice, team `red` (ann, bob), from 10:00:00 UTC on 2 November 2026:

    c1  queued 10:00:00  answered by ann 10:00:05 (wait 5)    completed 10:01:45, handle 100, resolved
    c2  queued 10:00:10  answered by bob 10:00:35 (wait 25)   completed 10:03:55, handle 200, unresolved
    c3  queued 10:00:20  abandoned 10:01:00 after 40 s
    c4  queued 10:00:30  answered by ann 10:02:20 (wait 110)  completed 10:04:20, handle 120, resolved
    c5  10:30, the customer of c1 again about billing: c1 was not resolved at first contact after all

    ann: available 10:00:00, busy 10:00:05, available 10:01:45, busy 10:02:20, available 10:04:20, offline 10:05
         → busy 220 s, available 80 s: occupancy 220 / 300
    bob: available 10:00:00, busy 10:00:35, wrap-up 10:03:55, available 10:04:25, offline 10:05
         → busy 200 s, wrap-up 30 s, available 70 s: occupancy 230 / 300
    upsell: c1 suggested 10:01:00 (accepted), c2 suggested 10:01:30 (declined)

Queue billing, hour 10: offered 4, answered 3, abandoned 1 (25 %), service level at T=20 s: 1 of 4,
at T=30 s: 2 of 4; ASA (5 + 25 + 110) / 3; AHT (100 + 200 + 120) / 3; FCR 1 of 3 (c4 only, after c5).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from frontline.contracts import Event
from frontline.contracts.agents import AgentProfile, Presence, Resolution
from frontline.contracts.contacts import Channel
from frontline.contracts.routing import (
    Abandonment,
    AgentChanged,
    AgentProfileChanged,
    AgentState,
    AgentStateChanged,
    AgentStateData,
    Assignment,
    Completion,
    ContactAbandoned,
    ContactAssigned,
    ContactCompleted,
    ContactQueued,
    QueuedBecause,
    QueuedContact,
)
from frontline.contracts.upsell import OfferSuggested, OutcomeData, OutcomeKind, SuggestionAnswered, SuggestionData
from tests.unit.factories import contact_received

T0 = datetime(2026, 11, 2, 10, tzinfo=UTC)
EXPECTED_QUEUE_HOUR = {
    "offered": 4,
    "answered": 3,
    "abandoned": 1,
    "abandonment_rate": 0.25,
    "service_level": 0.25,  # T = 20 s
    "asa": 140 / 3,
    "handled": 3,
    "aht": 140.0,
    "fcr": 1 / 3,
}
EXPECTED_OCCUPANCY = {"ann": 220 / 300, "bob": 230 / 300, "red": 450 / 600}
EXPECTED_UPSELL_ACCEPTANCE = 0.5


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _routing(model: type[Event], data: object, when: float, tenant: str, contact_id: str | None = None) -> Event:
    return model.new(data=data, tenant=tenant, source="scenario", occurred_at=at(when), contact_id=contact_id)  # type: ignore[arg-type]


def morning(tenant: str, prefix: str = "") -> list[Event]:
    """The scenario's events in the order routing and upsell would publish them."""
    events: list[Event] = []
    c = {n: f"{prefix}c{n}" for n in range(1, 6)}

    def profile(agent: str) -> None:
        events.append(
            _routing(AgentChanged, AgentProfileChanged(profile=AgentProfile(agent_id=agent, team="red")), 0, tenant)
        )

    def state(agent: str, value: AgentState, when: float) -> None:
        presence = Presence.OFFLINE if value is AgentState.OFFLINE else Presence.AVAILABLE
        data = AgentStateData(agent_id=agent, state=value, presence=presence)
        events.append(_routing(AgentStateChanged, data, when, tenant))

    def received(n: int, when: float, **fields: object) -> None:
        event = contact_received(
            tenant=tenant, contact_id=c[n], customer={"customer_id": f"{prefix}cust-{n}"}, channel="voice", **fields
        )
        events.append(event.model_copy(update={"occurred_at": at(when)}))

    def queued(n: int, when: float) -> None:
        data = QueuedContact(
            contact_id=c[n],
            queue="billing",
            policy_version=1,
            because=QueuedBecause.ARRIVED,
            channel=Channel.VOICE,
            priority=40,
            service_class="standard",
            arrived_at=at(when),
            queued_at=at(when),
        )
        events.append(_routing(ContactQueued, data, when, tenant, c[n]))

    def assigned(n: int, agent: str, when: float, waited: float) -> None:
        data = Assignment(contact_id=c[n], agent_id=agent, offer_id=f"o-{c[n]}", queue="billing", waited_seconds=waited)
        events.append(_routing(ContactAssigned, data, when, tenant, c[n]))

    def completed(n: int, agent: str, when: float, handle: float, resolution: Resolution) -> None:
        data = Completion(
            contact_id=c[n],
            agent_id=agent,
            queue="billing",
            disposition="answered",
            resolution=resolution,
            handle_seconds=handle,
            wrap_up_until=at(when),
        )
        events.append(_routing(ContactCompleted, data, when, tenant, c[n]))

    def suggested(n: int, agent: str, when: float, outcome: OutcomeKind) -> None:
        suggestion = SuggestionData(
            suggestion_id=f"s-{c[n]}",
            contact_id=c[n],
            agent_id=agent,
            customer_id=f"{prefix}cust-{n}",
            offer_id="tv",
            offer_version=1,
            moment="assigned",
            script="TV?",
            language="en",
            reasons=["billing"],
            propensity=0.2,
            choice_probability=0.9,
            score=1.0,
            segment="gold",
        )
        events.append(
            OfferSuggested.new(data=suggestion, tenant=tenant, source="upsell", occurred_at=at(when), contact_id=c[n])
        )
        answer = OutcomeData(suggestion_id=f"s-{c[n]}", offer_id="tv", customer_id=f"{prefix}cust-{n}", outcome=outcome)
        events.append(
            SuggestionAnswered.new(
                data=answer, tenant=tenant, source="desk", occurred_at=at(when + 20), contact_id=c[n]
            )
        )

    profile("ann")
    profile("bob")
    state("ann", AgentState.AVAILABLE, 0)
    state("bob", AgentState.AVAILABLE, 0)
    for n, when in ((1, 0), (2, 10), (3, 20), (4, 30)):
        received(n, when)
        queued(n, when)
    assigned(1, "ann", 5, 5)
    state("ann", AgentState.BUSY, 5)
    assigned(2, "bob", 35, 25)
    state("bob", AgentState.BUSY, 35)
    suggested(1, "ann", 60, OutcomeKind.ACCEPTED)
    events.append(
        _routing(
            ContactAbandoned,
            Abandonment(contact_id=c[3], queue="billing", waited_seconds=40, reason="left"),
            60,
            tenant,
            c[3],
        )
    )
    suggested(2, "bob", 90, OutcomeKind.DECLINED)
    completed(1, "ann", 105, 100, Resolution.RESOLVED)
    state("ann", AgentState.AVAILABLE, 105)
    assigned(4, "ann", 140, 110)
    state("ann", AgentState.BUSY, 140)
    completed(2, "bob", 235, 200, Resolution.UNRESOLVED)
    state("bob", AgentState.WRAP_UP, 235)
    completed(4, "ann", 260, 120, Resolution.RESOLVED)
    state("ann", AgentState.AVAILABLE, 260)
    state("bob", AgentState.AVAILABLE, 265)
    state("ann", AgentState.OFFLINE, 300)
    state("bob", AgentState.OFFLINE, 300)
    # c5: c1's customer again about billing, within 7 days
    event = contact_received(
        tenant=tenant, contact_id=c[5], customer={"customer_id": f"{prefix}cust-1"}, repeat_contact=True
    )
    events.append(event.model_copy(update={"occurred_at": at(1800)}))
    return events
