"""Dashboard KPIs folded from events as they are recorded: each event yields counter deltas for
(dimension, key, minute) buckets; hours and days are sums of minutes. Pure: the caller hands in
what records remembers of the event's contact and customer (plain dicts it stores), and keeps the
tenant's agents and waiting contacts here.

Where each counter lands (the published definitions, `DEFINITIONS`):
- offered, answered, abandoned, waits and service level: the minute the contact was queued. For the
  queue, each time it entered that queue; for the tenant and channel, once per contact (a transfer
  is not a new contact), in the minute it was first queued. Answered also counts for the answering
  agent and team.
- handled, handle time, resolved, first-contact resolution: the minute the contact was completed.
- agent time by state (occupancy): every second of an agent's state, in the minute it was lived,
  counted when the state ends; a query adds the states the agents are in now (`open_state_seconds`).
- suggestions and their answers: the minute of the suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from frontline.contracts import Event
from frontline.contracts.agents import Resolution
from frontline.contracts.contacts import ContactReceived
from frontline.contracts.routing import (
    AgentChanged,
    AgentStateChanged,
    ContactAbandoned,
    ContactAssigned,
    ContactCompleted,
    ContactQueued,
    ContactTransferred,
    QueuedBecause,
)
from frontline.contracts.upsell import OfferSuggested, SuggestionAnswered

THRESHOLDS = (10, 15, 20, 30, 45, 60, 90, 120, 180, 300)  # seconds: service level is kept for these T
DIMENSIONS = ("tenant", "queue", "team", "agent", "channel")
STAFFED = ("available", "busy", "wrap_up")  # agent states occupancy counts
REPEAT_WINDOW = timedelta(days=7)
CUSTOMER_CONTACTS_KEPT = 50
Doc = dict[str, Any]

DEFINITIONS = {
    "offered": "contacts that entered the queue (tenant, channel: contacts first queued) in the bucket",
    "answered": "of those, contacts assigned to an agent",
    "abandoned": "of those, contacts whose customer left before an agent took them",
    "abandonment_rate": "abandoned ÷ offered",
    "service_level": "answered within T seconds of queuing ÷ offered; T per queue (GET /v1/kpis/service-levels)",
    "with_goal": "of the offered, contacts whose queue has a service goal for their channel (answer_within)",
    "goal_met": "of those, contacts answered within the goal, counted from the customer's arrival",
    "within_goal": "goal_met ÷ with_goal: the service level in the tenant's own terms, each channel against its goal",
    "asa": "average speed of answer: total wait of answered contacts ÷ answered, seconds",
    "aht": "average handle time: total handle time ÷ contacts completed in the bucket, seconds",
    "occupancy": "(busy + wrap-up seconds) ÷ (available + busy + wrap-up seconds) of the agents",
    "fcr": "first-contact resolution: contacts completed as resolved with no repeat contact of the same "
    "customer about the same concern within 7 days ÷ contacts completed (final 7 days after the bucket)",
    "backlog": "contacts waiting in a queue now, and the oldest wait (not bucketed)",
    "upsell_acceptance": "suggestions accepted ÷ suggestions shown to agents in the bucket",
}


@dataclass(frozen=True)
class Delta:
    dimension: str
    key: str
    minute: datetime
    counter: str
    amount: float


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def split_minutes(start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """Seconds of [start, end) lived in each minute."""
    out = []
    at = start
    while at < end:
        boundary = minute_of(at) + timedelta(minutes=1)
        until = min(boundary, end)
        out.append((minute_of(at), (until - at).total_seconds()))
        at = until
    return out


def open_state_seconds(
    agents: dict[str, Doc], dimension: str, key: str, start: datetime, end: datetime, now: datetime, size: timedelta
) -> dict[datetime, dict[str, float]]:
    """The seconds of the staffed states (`STAFFED`) the agents are in at `now`, which no event has
    counted yet, lived between `start` and `end`, per bucket of `size` (aligned to the UTC day) — as
    the fold will count them when the states end, so a dashboard's occupancy includes who is idle
    right now. For the tenant every agent, for a team its agents, for an agent that agent; queues and
    channels keep no agent time. States no KPI reads (away, offline) are left to their end."""
    if dimension == "tenant":
        covered = list(agents.values())
    elif dimension == "team":
        covered = [agent for agent in agents.values() if agent.get("team") == key]
    elif dimension == "agent":
        covered = [agents[key]] if key in agents else []
    else:
        return {}
    step = int(size.total_seconds())
    buckets: dict[datetime, dict[str, float]] = {}
    for agent in covered:
        if agent.get("state") not in STAFFED:
            continue
        at, until = max(datetime.fromisoformat(agent["since"]), start), min(now, end)
        counter = f"{agent['state']}_seconds"
        while at < until:
            bucket = datetime.fromtimestamp(int(at.timestamp()) // step * step, UTC)
            boundary = min(bucket + size, until)
            counters = buckets.setdefault(bucket, {})
            counters[counter] = counters.get(counter, 0.0) + (boundary - at).total_seconds()
            at = boundary
    return buckets


def service_level_counter(threshold: int) -> str:
    return f"within_{threshold}"


class Kpis:
    """One tenant's KPI fold. `agents` (agent → team, state, since) and `waiting` (contact → queue,
    channel, queued at) are the tenant's own, kept by the caller with its log state."""

    def __init__(self, agents: dict[str, Doc] | None = None, waiting: dict[str, Doc] | None = None) -> None:
        self.agents: dict[str, Doc] = agents if agents is not None else {}
        self.waiting: dict[str, Doc] = waiting if waiting is not None else {}

    def fold(self, event: Event, contact: Doc | None, customer: Doc | None) -> list[Delta]:
        """The deltas `event` adds; `contact` and `customer` (dicts, or None if the event has none) are
        updated in place with what later events will need."""
        match event:
            case ContactReceived():
                return self._received(event, contact, customer)
            case ContactQueued():
                return self._queued(event, contact)
            case ContactAssigned():
                return self._assigned(event, contact)
            case ContactAbandoned():
                return self._abandoned(event, contact)
            case ContactCompleted():
                return self._completed(event, contact, customer)
            case ContactTransferred():
                team = self._team(event.data.from_agent)
                dims = _dims(queue=(contact or {}).get("queue"), agent=event.data.from_agent, team=team)
                return _deltas(dims, minute_of(event.occurred_at), transfers=1)
            case AgentChanged():
                self.agents.setdefault(event.data.profile.agent_id, {})["team"] = event.data.profile.team
                return []
            case AgentStateChanged():
                return self._state(event)
            case OfferSuggested():
                return self._suggested(event, contact)
            case SuggestionAnswered():
                return self._answered(event, contact)
        return []

    def _team(self, agent: str | None) -> str | None:
        return None if agent is None else self.agents.get(agent, {}).get("team")

    def _received(self, event: ContactReceived, contact: Doc | None, customer: Doc | None) -> list[Delta]:
        data = event.data
        if contact is not None:
            contact.update(customer=data.customer.customer_id, concern=data.concern.code, channel=data.channel.value)
        if customer is None:
            return []
        deltas: list[Delta] = []
        history: list[Doc] = customer.setdefault("contacts", [])
        arrived = data.arrived_at or event.occurred_at
        if data.repeat_contact:
            for earlier in reversed(history):
                completed = earlier.get("completed_at")
                if (
                    earlier["concern"] == data.concern.code
                    and earlier.get("fcr")
                    and completed is not None
                    and arrived - REPEAT_WINDOW <= datetime.fromisoformat(completed) <= arrived
                ):
                    earlier["fcr"] = False
                    deltas += _deltas(earlier["dims"], datetime.fromisoformat(earlier["minute"]), fcr=-1)
                    break
        if event.contact_id is not None and all(c["contact"] != event.contact_id for c in history):
            history.append({"contact": event.contact_id, "concern": data.concern.code})
            del history[:-CUSTOMER_CONTACTS_KEPT]
        return deltas

    def _queued(self, event: ContactQueued, contact: Doc | None) -> list[Delta]:
        data = event.data
        minute = minute_of(data.queued_at)
        self.waiting[data.contact_id] = {
            "queue": data.queue,
            "channel": data.channel.value,
            "since": data.queued_at.isoformat(),
        }
        with_goal = int(data.answer_within is not None)
        deltas = _deltas(_dims(queue=data.queue, tenant=False), minute, offered=1, with_goal=with_goal)
        if contact is None:
            return deltas
        contact.update(
            queue=data.queue, queued_at=data.queued_at.isoformat(), answered_here=False, goal=data.answer_within
        )
        contact["channel"] = data.channel.value
        if data.because is QueuedBecause.ARRIVED and "first" not in contact:
            contact["first"] = minute.isoformat()
            contact["arrived_at"] = data.arrived_at.isoformat()
            contact["first_goal"] = data.answer_within
            deltas += _deltas(_dims(channel=contact["channel"]), minute, offered=1, with_goal=with_goal)
        return deltas

    def _assigned(self, event: ContactAssigned, contact: Doc | None) -> list[Delta]:
        data = event.data
        self.waiting.pop(data.contact_id, None)
        if contact is None or contact.get("answered_here") or "queued_at" not in contact:
            return []
        contact.update(answered_here=True, agent=data.agent_id)
        queued_at = datetime.fromisoformat(contact["queued_at"])
        in_queue = max(0.0, (event.occurred_at - queued_at).total_seconds())
        team = self._team(data.agent_id)
        deltas = _deltas(
            _dims(queue=contact["queue"], agent=data.agent_id, team=team, tenant=False),
            minute_of(queued_at),
            answered=1,
            wait_seconds=in_queue,
            goal_met=_met(contact.get("goal"), data.waited_seconds),
            **_within(in_queue),
        )
        if "first" in contact and not contact.get("counted"):
            contact["counted"] = True
            deltas += _deltas(
                _dims(channel=contact.get("channel")),
                datetime.fromisoformat(contact["first"]),
                answered=1,
                wait_seconds=data.waited_seconds,
                goal_met=_met(contact.get("first_goal"), data.waited_seconds),
                **_within(data.waited_seconds),
            )
        return deltas

    def _abandoned(self, event: ContactAbandoned, contact: Doc | None) -> list[Delta]:
        data = event.data
        self.waiting.pop(data.contact_id, None)
        if contact is None or contact.get("answered_here") or "queued_at" not in contact:
            return []
        contact["answered_here"] = True  # the queue's outcome is known
        deltas = _deltas(
            _dims(queue=contact["queue"], tenant=False),
            minute_of(datetime.fromisoformat(contact["queued_at"])),
            abandoned=1,
        )
        if "first" in contact and not contact.get("counted"):
            contact["counted"] = True
            deltas += _deltas(
                _dims(channel=contact.get("channel")), datetime.fromisoformat(contact["first"]), abandoned=1
            )
        return deltas

    def _completed(self, event: ContactCompleted, contact: Doc | None, customer: Doc | None) -> list[Delta]:
        data = event.data
        self.waiting.pop(data.contact_id, None)
        minute = minute_of(event.occurred_at)
        dims = _dims(
            queue=data.queue,
            agent=data.agent_id,
            team=self._team(data.agent_id),
            channel=(contact or {}).get("channel"),
        )
        resolved = data.resolution is Resolution.RESOLVED
        if customer is not None:
            for entry in customer.get("contacts", []):
                if entry["contact"] == data.contact_id:
                    entry.update(
                        completed_at=event.occurred_at.isoformat(), minute=minute.isoformat(), dims=dims, fcr=resolved
                    )
        return _deltas(
            dims,
            minute,
            handled=1,
            handle_seconds=data.handle_seconds,
            resolved=int(resolved),
            fcr=int(resolved),
        )

    def _state(self, event: AgentStateChanged) -> list[Delta]:
        data = event.data
        agent = self.agents.setdefault(data.agent_id, {})
        deltas: list[Delta] = []
        if "state" in agent:
            since = datetime.fromisoformat(agent["since"])
            dims = _dims(agent=data.agent_id, team=agent.get("team"))
            for minute, seconds in split_minutes(since, event.occurred_at):
                deltas += _deltas(dims, minute, **{f"{agent['state']}_seconds": seconds})
        agent.update(state=data.state.value, since=max(event.occurred_at.isoformat(), agent.get("since", "")))
        return deltas

    def _suggested(self, event: OfferSuggested, contact: Doc | None) -> list[Delta]:
        data = event.data
        minute = minute_of(event.occurred_at)
        contact = contact if contact is not None else {}
        dims = _dims(
            agent=data.agent_id,
            team=self._team(data.agent_id),
            queue=contact.get("queue"),
            channel=contact.get("channel"),
        )
        shown = {"minute": minute.isoformat(), "dims": dims}
        contact.setdefault("suggestions", {})[data.suggestion_id] = shown
        deltas = _deltas(dims, minute, suggested=1)
        early = contact.get("early_answers", {}).pop(data.suggestion_id, None)
        if early is not None:  # the answer was read first (another topic)
            shown["answer"] = early
            deltas += _deltas(dims, minute, **{early: 1})
        return deltas

    def _answered(self, event: SuggestionAnswered, contact: Doc | None) -> list[Delta]:
        if contact is None:
            return []
        sid = event.data.suggestion_id
        shown = contact.get("suggestions", {}).get(sid)
        if shown is None:  # a control-group purchase, or a suggestion not read yet
            contact.setdefault("early_answers", {})[sid] = event.data.outcome.value
            return []
        if shown.get("answer"):
            return []  # answered before: the first answer counts
        shown["answer"] = event.data.outcome.value
        return _deltas(shown["dims"], datetime.fromisoformat(shown["minute"]), **{event.data.outcome.value: 1})


def _dims(
    *,
    queue: str | None = None,
    agent: str | None = None,
    team: str | None = None,
    channel: str | None = None,
    tenant: bool = True,
) -> dict[str, str]:
    """The buckets an event counts in: dimension → key (stored as is, so a plain document)."""
    named = {"tenant": "*" if tenant else None, "queue": queue, "team": team, "agent": agent, "channel": channel}
    return {dimension: key for dimension, key in named.items() if key is not None}


def _met(goal: float | None, waited: float) -> int:
    """1 when a contact with a service goal was answered within it (its wait counts from arrival)."""
    return int(goal is not None and waited <= goal)


def _within(wait: float) -> dict[str, float]:
    return {service_level_counter(t): 1 for t in THRESHOLDS if wait <= t}


def _deltas(dims: dict[str, str], minute: datetime, **counters: float) -> list[Delta]:
    return [
        Delta(dimension, key, minute, counter, amount)
        for dimension, key in dims.items()
        for counter, amount in counters.items()
        if amount
    ]


def metrics(counters: dict[str, float], service_level_seconds: int) -> dict[str, float | None]:
    """The dashboard figures of one bucket's summed counters; None where the denominator is 0."""

    def ratio(top: float, bottom: float) -> float | None:
        return top / bottom if bottom else None

    c = counters.get
    staffed = sum(c(f"{state}_seconds", 0) for state in STAFFED)
    return {
        "offered": c("offered", 0),
        "answered": c("answered", 0),
        "abandoned": c("abandoned", 0),
        "abandonment_rate": ratio(c("abandoned", 0), c("offered", 0)),
        "service_level": ratio(c(service_level_counter(service_level_seconds), 0), c("offered", 0)),
        "asa": ratio(c("wait_seconds", 0), c("answered", 0)),
        "with_goal": c("with_goal", 0),
        "goal_met": c("goal_met", 0),
        "within_goal": ratio(c("goal_met", 0), c("with_goal", 0)),
        "handled": c("handled", 0),
        "aht": ratio(c("handle_seconds", 0), c("handled", 0)),
        "occupancy": ratio(c("busy_seconds", 0) + c("wrap_up_seconds", 0), staffed),
        "fcr": ratio(c("fcr", 0), c("handled", 0)),
        "transfers": c("transfers", 0),
        "suggested": c("suggested", 0),
        "accepted": c("accepted", 0),
        "upsell_acceptance": ratio(c("accepted", 0), c("suggested", 0)),
    }
