"""What upsell remembers, rebuilt from its own topics: every decision, what customers said to them,
and what follows from both — contact and customer history for the gates, daily volumes per offer,
the learned propensities and each offer's tally. Pure: events in, answers out.

Decisions are keyed by their id (one per contact and moment), so a decision read twice — the
worker's own, then the same one from the topic — counts once; an outcome counts once per decision.
Decisions older than `keep_days` are forgotten (the topics' retention); what was learned from
them stays.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from frontline.contracts.envelope import Event
from frontline.contracts.upsell import Moment, NoOfferSuggested, OfferSuggested, OutcomeKind, SuggestionAnswered
from services.upsell.core.gates import History
from services.upsell.core.learning import Propensities


@dataclass
class Decision:
    decision_id: str
    contact_id: str
    customer_id: str
    agent_id: str | None
    moment: Moment
    at: datetime
    shown: bool
    reasons: list[str]
    offer_id: str | None = None
    offer_version: int | None = None
    propensity: float | None = None
    choice_probability: float | None = None
    segment: str | None = None
    candidates: list[str] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    outcome: OutcomeKind | None = None
    revenue: float = 0.0

    @property
    def held_out(self) -> bool:
        return not self.shown and self.offer_id is not None


@dataclass
class Tally:
    """One offer's record: suggestions shown and their answers; control-group decisions withheld."""

    impressions: int = 0
    accepted: int = 0
    declined: int = 0
    ignored: int = 0
    revenue: float = 0.0
    held_out: int = 0
    bought_anyway: int = 0


@dataclass
class Book:
    """One tenant's share of the ledger."""

    propensities: Propensities
    decisions: dict[str, Decision] = field(default_factory=dict)
    by_contact: dict[str, list[str]] = field(default_factory=dict)
    last_suggested: dict[str, tuple[datetime, str]] = field(default_factory=dict)  # customer → (when, contact)
    declined: dict[str, dict[str, datetime]] = field(default_factory=dict)  # customer → offer → last decline
    per_day: dict[date, dict[str, int]] = field(default_factory=dict)  # day → offer → suggestions shown
    tallies: dict[str, Tally] = field(default_factory=dict)
    order: deque[tuple[datetime, str]] = field(default_factory=deque)
    early: dict[str, SuggestionAnswered] = field(default_factory=dict)  # outcomes read before their decision
    swept_on: date | None = None


class Ledger:
    def __init__(self, *, prior_accepts: float = 1.0, prior_refusals: float = 9.0, keep_days: float = 90) -> None:
        self._prior = (prior_accepts, prior_refusals)
        self._keep = timedelta(days=keep_days)
        self.books: dict[str, Book] = {}

    def book(self, tenant: str) -> Book:
        found = self.books.get(tenant)
        if found is None:
            accepts, refusals = self._prior
            found = self.books[tenant] = Book(Propensities(prior_accepts=accepts, prior_refusals=refusals))
        return found

    def apply(self, event: Event) -> str | None:
        """Takes in one event of upsell's topics; returns why an outcome cannot count, else None.
        Events of other types are not upsell's memory and are passed over."""
        if isinstance(event, OfferSuggested | NoOfferSuggested):
            self._decided(event)
            return None
        if isinstance(event, SuggestionAnswered):
            return self._answered(event)
        return None

    def decided(self, tenant: str, decision_id: str) -> bool:
        book = self.books.get(tenant)
        return book is not None and decision_id in book.decisions

    def decision(self, tenant: str, decision_id: str) -> Decision | None:
        book = self.books.get(tenant)
        return book.decisions.get(decision_id) if book else None

    def decisions_of(self, tenant: str, contact_id: str) -> list[Decision]:
        book = self.books.get(tenant)
        if book is None:
            return []
        return [book.decisions[d] for d in book.by_contact.get(contact_id, []) if d in book.decisions]

    def history(self, tenant: str, customer_id: str, contact_id: str, today: date) -> History:
        book = self.book(tenant)
        last = book.last_suggested.get(customer_id)
        return History(
            # this contact's own suggestion is the contact limit's business, not the frequency cap's
            last_suggested_at=last[0] if last is not None and last[1] != contact_id else None,
            declined_at=book.declined.get(customer_id, {}),
            suggestions_in_contact=sum(d.shown for d in self.decisions_of(tenant, contact_id)),
            suggested_today=book.per_day.get(today, {}),
        )

    def _decided(self, event: OfferSuggested | NoOfferSuggested) -> None:
        data = event.data
        book = self.book(event.tenant)
        if data.suggestion_id in book.decisions:
            return
        decision = Decision(
            decision_id=data.suggestion_id,
            contact_id=data.contact_id,
            customer_id=data.customer_id,
            agent_id=data.agent_id,
            moment=data.moment,
            at=event.occurred_at,
            shown=isinstance(event, OfferSuggested),
            reasons=list(data.reasons),
        )
        if isinstance(event, OfferSuggested):
            s = event.data
            decision.offer_id, decision.offer_version, decision.segment = s.offer_id, s.offer_version, s.segment
            decision.propensity, decision.choice_probability = s.propensity, s.choice_probability
            decision.candidates = list(s.candidates)
            tally = book.tallies.setdefault(s.offer_id, Tally())
            tally.impressions += 1
            previous = book.last_suggested.get(s.customer_id)
            if previous is None or previous[0] < event.occurred_at:
                book.last_suggested[s.customer_id] = (event.occurred_at, s.contact_id)
            counts = book.per_day.setdefault(event.occurred_at.date(), {})
            counts[s.offer_id] = counts.get(s.offer_id, 0) + 1
        else:
            decision.excluded = dict(event.data.excluded)
            if event.data.held_out is not None:
                held = event.data.held_out
                decision.offer_id, decision.offer_version = held.offer_id, held.offer_version
                decision.propensity = held.propensity
                book.tallies.setdefault(held.offer_id, Tally()).held_out += 1
        book.decisions[decision.decision_id] = decision
        book.by_contact.setdefault(decision.contact_id, []).append(decision.decision_id)
        book.order.append((decision.at, decision.decision_id))
        early = book.early.pop(decision.decision_id, None)
        if early is not None:
            self._answered(early)
        self._forget(book, now=event.occurred_at)

    def problem_with(self, event: SuggestionAnswered) -> str | None:
        """Why this outcome cannot count: an unknown decision, one that made no suggestion, another offer."""
        data = event.data
        decision = self.decision(event.tenant, data.suggestion_id)
        if decision is None:
            return f"unknown suggestion {data.suggestion_id!r}"
        if decision.offer_id is None:
            return f"decision {data.suggestion_id!r} made no suggestion"
        if decision.offer_id != data.offer_id:
            return f"suggestion {data.suggestion_id!r} was of offer {decision.offer_id!r}, not {data.offer_id!r}"
        return None

    def _answered(self, event: SuggestionAnswered) -> str | None:
        problem = self.problem_with(event)
        if problem is not None:
            if not self.decided(event.tenant, event.data.suggestion_id):
                # the two topics are read side by side: on a replay an outcome may come before its decision
                self.book(event.tenant).early.setdefault(event.data.suggestion_id, event)
            return problem
        data = event.data
        book = self.book(event.tenant)
        decision = book.decisions[data.suggestion_id]
        assert decision.offer_id is not None
        if decision.outcome is not None:
            return None  # an outcome arriving again counts once
        decision.outcome, decision.revenue = data.outcome, data.revenue
        tally = book.tallies.setdefault(decision.offer_id, Tally())
        accepted = data.outcome is OutcomeKind.ACCEPTED
        if decision.held_out:
            tally.bought_anyway += accepted
            return None
        tally.accepted += accepted
        tally.declined += data.outcome is OutcomeKind.DECLINED
        tally.ignored += data.outcome is OutcomeKind.IGNORED
        tally.revenue += data.revenue if accepted else 0.0
        assert decision.segment is not None
        book.propensities.record(decision.offer_id, decision.segment, accepted=accepted)
        if data.outcome is OutcomeKind.DECLINED:
            book.declined.setdefault(decision.customer_id, {})[decision.offer_id] = event.occurred_at
        return None

    def _forget(self, book: Book, now: datetime) -> None:
        while book.order and now - book.order[0][0] > self._keep:
            _, decision_id = book.order.popleft()
            gone = book.decisions.pop(decision_id, None)
            if gone is not None:
                remaining = [d for d in book.by_contact.get(gone.contact_id, []) if d != decision_id]
                if remaining:
                    book.by_contact[gone.contact_id] = remaining
                else:
                    book.by_contact.pop(gone.contact_id, None)
        if book.swept_on == now.date():
            return  # the daily counts and early outcomes are swept once a day, not on every decision
        book.swept_on = now.date()
        for day in [day for day in book.per_day if day < now.date() - timedelta(days=1)]:
            del book.per_day[day]
        for decision_id in [d for d, early in book.early.items() if now - early.occurred_at > self._keep]:
            del book.early[decision_id]
