"""The ledger: decisions counted once, outcomes counted once, history and learning that follow from them;
and contact moments that wait for their contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from frontline.contracts.upsell import (
    HeldOut,
    Moment,
    NoOfferSuggested,
    NoSuggestionData,
    OfferSuggested,
    OutcomeData,
    OutcomeKind,
    SuggestionAnswered,
    SuggestionData,
)
from services.upsell.core.ledger import Ledger
from services.upsell.core.moments import ContactFile, Moments
from services.upsell.core.performance import beta_quantile, performance_of
from tests.unit.factories import contact_assigned, contact_completed, contact_escalated, contact_received

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def suggested(decision: str, *, contact: str = "c-1", customer: str = "cust-1", offer: str = "tv", at=NOW):
    data = SuggestionData(
        suggestion_id=decision,
        contact_id=contact,
        agent_id="ann",
        customer_id=customer,
        offer_id=offer,
        offer_version=1,
        moment=Moment.ASSIGNED,
        script="…",
        language="en",
        reasons=["interest:sales_inquiry"],
        propensity=0.1,
        choice_probability=0.5,
        score=2.0,
        segment="gold",
        candidates=[offer, "other"],
    )
    return OfferSuggested.new(data=data, tenant="acme", source="upsell", occurred_at=at, contact_id=contact)


def answered(decision: str, outcome: OutcomeKind, *, offer: str = "tv", revenue: float = 0, at=NOW):
    data = OutcomeData(suggestion_id=decision, offer_id=offer, customer_id="cust-1", outcome=outcome, revenue=revenue)
    return SuggestionAnswered.new(data=data, tenant="acme", source="desk", occurred_at=at, contact_id="c-1")


def held_out(decision: str, *, offer: str = "tv"):
    data = NoSuggestionData(
        suggestion_id=decision,
        contact_id="c-9",
        customer_id="cust-9",
        moment=Moment.ASSIGNED,
        reasons=["control_group"],
        held_out=HeldOut(offer_id=offer, offer_version=1, propensity=0.1),
    )
    return NoOfferSuggested.new(data=data, tenant="acme", source="upsell", occurred_at=NOW, contact_id="c-9")


def test_a_decision_and_its_outcome_count_once_however_often_they_arrive() -> None:
    ledger = Ledger()
    for _ in range(2):
        ledger.apply(suggested("d-1"))
    assert ledger.apply(answered("d-1", OutcomeKind.ACCEPTED, revenue=30)) is None
    assert ledger.apply(answered("d-1", OutcomeKind.ACCEPTED, revenue=30)) is None
    assert ledger.apply(answered("d-1", OutcomeKind.DECLINED)) is None  # the first answer stands
    tally = ledger.book("acme").tallies["tv"]
    assert (tally.impressions, tally.accepted, tally.declined, tally.revenue) == (1, 1, 0, 30)
    assert ledger.book("acme").propensities.counts == {("tv", "gold"): (1, 0)}
    assert [d.decision_id for d in ledger.decisions_of("acme", "c-1")] == ["d-1"]


def test_outcomes_that_cannot_count_say_why() -> None:
    ledger = Ledger()
    ledger.apply(suggested("d-1"))
    assert ledger.apply(answered("nope", OutcomeKind.ACCEPTED)) == "unknown suggestion 'nope'"
    assert "was of offer 'tv'" in (ledger.apply(answered("d-1", OutcomeKind.ACCEPTED, offer="radio")) or "")
    assert ledger.book("acme").tallies["tv"].accepted == 0


def test_an_outcome_read_before_its_decision_counts_when_the_decision_comes() -> None:
    ledger = Ledger()
    assert ledger.apply(answered("d-1", OutcomeKind.ACCEPTED, revenue=30)) == "unknown suggestion 'd-1'"
    ledger.apply(suggested("d-1"))
    assert ledger.book("acme").tallies["tv"].accepted == 1
    assert ledger.book("acme").early == {}


def test_history_gives_the_gates_the_frequency_cap_cool_down_and_daily_volume() -> None:
    ledger = Ledger()
    ledger.apply(suggested("d-1", contact="c-1", at=NOW - timedelta(days=2)))
    ledger.apply(answered("d-1", OutcomeKind.DECLINED, at=NOW - timedelta(days=2)))
    ledger.apply(suggested("d-2", contact="c-2", offer="radio"))
    later = ledger.history("acme", "cust-1", "c-3", NOW.date())
    assert later.last_suggested_at == NOW
    assert later.declined_at == {"tv": NOW - timedelta(days=2)}
    assert later.suggested_today == {"radio": 1}
    assert later.suggestions_in_contact == 0
    own = ledger.history("acme", "cust-1", "c-2", NOW.date())
    assert own.last_suggested_at is None, "a contact's own suggestion is its contact limit's business"
    assert own.suggestions_in_contact == 1


def test_a_control_group_purchase_is_the_baseline_of_uplift() -> None:
    ledger = Ledger()
    for n in range(10):
        ledger.apply(suggested(f"s-{n}", contact=f"c-{n}"))
        ledger.apply(answered(f"s-{n}", OutcomeKind.ACCEPTED if n < 4 else OutcomeKind.DECLINED))
    for n in range(10):
        ledger.apply(held_out(f"h-{n}"))
    ledger.apply(answered("h-0", OutcomeKind.ACCEPTED))
    result = performance_of("tv", ledger.book("acme").tallies["tv"])
    assert (result.impressions, result.accepted, result.held_out, result.bought_anyway) == (10, 4, 10, 1)
    assert result.acceptance_rate == 0.4
    assert result.uplift is not None
    assert abs(result.uplift - 0.3) < 1e-9
    assert result.uplift_interval is not None
    assert result.uplift_interval.low < 0.3 < result.uplift_interval.high
    assert result.acceptance_interval.low < 0.4 < result.acceptance_interval.high
    assert ledger.book("acme").propensities.counts == {("tv", "gold"): (4, 6)}, "held-out purchases teach nothing"


def test_old_decisions_are_forgotten_but_what_was_learned_stays() -> None:
    ledger = Ledger(keep_days=30)
    ledger.apply(suggested("d-old", contact="c-old", at=NOW - timedelta(days=40)))
    ledger.apply(answered("d-old", OutcomeKind.ACCEPTED))
    ledger.apply(suggested("d-new", contact="c-new"))
    assert not ledger.decided("acme", "d-old")
    assert ledger.decisions_of("acme", "c-old") == []
    assert ledger.book("acme").propensities.counts == {("tv", "gold"): (1, 0)}


def test_a_moment_read_before_its_contact_waits_for_it_and_escalation_sticks() -> None:
    moments = Moments()
    assigned = contact_assigned("c-1", "ann")
    waiting = moments.moment_of(assigned)
    assert waiting is not None
    assert waiting.moment is Moment.ASSIGNED
    moments.wait("acme", "c-1", waiting)
    moments.follow(contact_escalated("c-1"))
    due = moments.open(ContactFile.of(contact_received(contact_id="c-1")))
    assert [(s.moment, s.agent_id, s.escalated, cause) for s, cause in due] == [
        (Moment.ASSIGNED, "ann", True, assigned)
    ]
    completed = contact_completed("c-1", "ann")
    resolved = moments.moment_of(completed)
    assert resolved is not None
    assert resolved.resolved
    moments.follow(completed)
    assert moments.known("acme", "c-1") is None


def test_a_completion_read_before_its_contact_is_still_decided_when_the_contact_comes() -> None:
    moments = Moments()
    completed = contact_completed("c-1", "ann")
    waiting = moments.moment_of(completed)
    assert waiting is not None
    moments.wait("acme", "c-1", waiting)
    moments.follow(completed)
    due = moments.open(ContactFile.of(contact_received(contact_id="c-1")))
    assert [(s.moment, s.resolved) for s, _ in due] == [(Moment.RESOLVED, True)]


def test_a_moment_whose_contact_never_comes_is_given_up_after_a_day() -> None:
    moments = Moments(max_wait=timedelta(hours=24))
    early = contact_assigned("c-lost", "ann")
    waiting = moments.moment_of(early)
    assert waiting is not None
    moments.wait("acme", "c-lost", waiting)
    later = contact_assigned("c-2", "ann").model_copy(update={"occurred_at": early.occurred_at + timedelta(days=2)})
    waiting_later = moments.moment_of(later)
    assert waiting_later is not None
    moments.wait("acme", "c-2", waiting_later)
    assert list(moments.waiting) == [("acme", "c-2")]


def test_the_oldest_contacts_leave_memory_first() -> None:
    moments = Moments(capacity=2)
    for n in range(3):
        moments.open(ContactFile.of(contact_received(contact_id=f"c-{n}")))
    assert [moments.known("acme", f"c-{n}") is not None for n in range(3)] == [False, True, True]


def test_credible_intervals_are_exact_beta_quantiles() -> None:
    assert abs(beta_quantile(2, 1, 0.025) - 0.025**0.5) < 1e-9  # Beta(2, 1) has CDF x²
    assert abs(beta_quantile(1, 2, 0.5) - (1 - 0.5**0.5)) < 1e-9  # Beta(1, 2) has CDF 1 - (1 - x)²
    assert abs(beta_quantile(1, 1, 0.3) - 0.3) < 1e-9
    assert beta_quantile(50, 450, 0.025) < 0.1 < beta_quantile(50, 450, 0.975)
