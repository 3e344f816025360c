"""Contacts as upsell follows them, and the moments at which a suggestion may be decided.

Routing's facts and intake's contacts come on different topics, so a contact's assignment may be
read before the contact itself: such a moment waits for the contact. What a moment needs of the
contact (customer, channel, concern, language, mood) comes from `contact.received`; routing adds
the agent, escalation and resolution.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import timedelta

from frontline.contracts.agents import Resolution
from frontline.contracts.contacts import Channel, ContactReceived, CustomerSnapshot
from frontline.contracts.envelope import Event
from frontline.contracts.routing import ContactAbandoned, ContactAssigned, ContactCompleted, ContactEscalated
from frontline.contracts.upsell import InterestMarked, Moment
from services.upsell.core.gates import Situation


@dataclass(frozen=True)
class ContactFile:
    """What upsell keeps of a contact between its moments."""

    tenant: str
    contact_id: str
    customer: CustomerSnapshot
    channel: Channel
    concern: str
    language: str | None
    angry: bool
    escalated: bool = False
    interest_marked: bool = False

    @classmethod
    def of(cls, event: ContactReceived) -> ContactFile:
        data = event.data
        assert event.contact_id is not None
        return cls(
            tenant=event.tenant,
            contact_id=event.contact_id,
            customer=data.customer,
            channel=data.channel,
            concern=data.concern.code,
            language=data.language.code,
            angry=data.sentiment.angry,
            escalated=data.escalate,
        )

    def at(self, moment: Moment, agent_id: str, *, resolved: bool = False) -> Situation:
        return Situation(
            tenant=self.tenant,
            contact_id=self.contact_id,
            agent_id=agent_id,
            customer=self.customer,
            channel=self.channel,
            concern=self.concern,
            language=self.language,
            angry=self.angry,
            escalated=self.escalated,
            moment=moment,
            interest_marked=self.interest_marked,
            resolved=resolved,
        )


@dataclass(frozen=True)
class Waiting:
    """A moment, made by `cause`; one read before its contact waits until the contact is known."""

    moment: Moment
    agent_id: str
    cause: Event
    resolved: bool = False


Key = tuple[str, str]


@dataclass
class Moments:
    """Open contacts (most recent `capacity`; older ones are reloaded from the store) and waiting moments."""

    capacity: int = 200_000
    files: OrderedDict[Key, ContactFile] = field(default_factory=OrderedDict)
    waiting: OrderedDict[Key, list[Waiting]] = field(default_factory=OrderedDict)  # oldest first
    max_wait: timedelta = timedelta(hours=24)  # a moment whose contact never comes is given up after this
    escalated: set[Key] = field(default_factory=set)  # escalations read before their contact

    def known(self, tenant: str, contact_id: str) -> ContactFile | None:
        return self.files.get((tenant, contact_id))

    def open(self, file: ContactFile) -> list[tuple[Situation, Event]]:
        """A contact is known (received, or reloaded): the moments that waited for it are due, with their causes."""
        key = (file.tenant, file.contact_id)
        if key in self.escalated:
            self.escalated.discard(key)
            file = replace(file, escalated=True)
        self.files[key] = file
        self.files.move_to_end(key)
        while len(self.files) > self.capacity:
            self.files.popitem(last=False)
        return [(file.at(w.moment, w.agent_id, resolved=w.resolved), w.cause) for w in self.waiting.pop(key, [])]

    def moment_of(self, event: Event) -> Waiting | None:
        """The decision moment an event of routing or of an agent makes, if any."""
        if isinstance(event, ContactAssigned):
            return Waiting(Moment.ASSIGNED, event.data.agent_id, event)
        if isinstance(event, InterestMarked):
            return Waiting(Moment.INTEREST, event.data.agent_id, event)
        if isinstance(event, ContactCompleted):
            resolved = event.data.resolution is Resolution.RESOLVED
            return Waiting(Moment.RESOLVED, event.data.agent_id, event, resolved=resolved)
        return None

    def follow(self, event: Event) -> None:
        """What routing's facts change about an open contact: escalation, interest, the end (a moment
        still waiting for its contact stays: it is decided when the contact comes)."""
        key = (event.tenant, event.contact_id or "")
        file = self.files.get(key)
        if isinstance(event, ContactEscalated):
            if file is None:
                self.escalated.add(key)
            else:
                self.files[key] = replace(file, escalated=True)
        elif isinstance(event, InterestMarked) and file is not None:
            self.files[key] = replace(file, interest_marked=True)
        elif isinstance(event, ContactAbandoned | ContactCompleted):
            self.files.pop(key, None)
            if key not in self.waiting:
                self.escalated.discard(key)

    def wait(self, tenant: str, contact_id: str, waiting: Waiting) -> None:
        self.waiting.setdefault((tenant, contact_id), []).append(waiting)
        cutoff = waiting.cause.occurred_at - self.max_wait
        while self.waiting:
            key, oldest = next(iter(self.waiting.items()))
            if oldest[0].cause.occurred_at >= cutoff:
                break
            del self.waiting[key]
            self.escalated.discard(key)
