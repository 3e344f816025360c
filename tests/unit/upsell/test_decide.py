"""Upsell's engine: no suggestion through a closed gate, learning that beats random, honest offline estimates."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from frontline.contracts.contacts import Channel, CustomerSnapshot
from frontline.contracts.upsell import Moment, Offer
from services.upsell.core.decide import decide
from services.upsell.core.evaluation import Logged, estimate
from services.upsell.core.gates import History, Situation, UpsellPolicy, in_control_group
from services.upsell.core.learning import Propensities

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
POLICY = UpsellPolicy(frequency_cap_days=7, cool_down_days=30, per_contact=1, control_percent=5)
PRODUCTS = ["broadband", "tv", "mobile", "insurance"]


def offer(offer_id: str, product: str, **fields: object) -> Offer:
    return Offer.model_validate(
        {"offer_id": offer_id, "product": product, "value": 10, "scripts": {"en": "Did you know …"}} | fields
    )


customers = st.builds(
    CustomerSnapshot,
    customer_id=st.text("abcdef0123456789", min_size=4, max_size=8),
    tier=st.sampled_from(["standard", "gold"]),
    products=st.lists(st.sampled_from(PRODUCTS), unique=True, max_size=3),
    marketing_consent=st.booleans(),
    opted_out_channels=st.lists(st.sampled_from([Channel.VOICE, Channel.CHAT]), unique=True),
    new_customer=st.booleans(),
)
situations = st.builds(
    Situation,
    tenant=st.just("acme"),
    contact_id=st.just("c-1"),
    agent_id=st.one_of(st.none(), st.just("ann")),
    customer=customers,
    channel=st.sampled_from([Channel.VOICE, Channel.CHAT, Channel.EMAIL]),
    concern=st.sampled_from(["sales_inquiry", "complaint", "billing", "product_question"]),
    language=st.sampled_from(["en", "nl", None]),
    angry=st.booleans(),
    escalated=st.booleans(),
    moment=st.sampled_from(list(Moment)),
    interest_marked=st.booleans(),
)
days_ago = st.one_of(st.none(), st.floats(0, 60).map(lambda d: NOW - timedelta(days=d)))
histories = st.builds(
    History,
    last_suggested_at=days_ago,
    declined_at=st.dictionaries(st.sampled_from(["o-tv", "o-mobile", "o-ins"]), days_ago.filter(bool), max_size=2),
    suggestions_in_contact=st.integers(0, 2),
    suggested_today=st.dictionaries(st.sampled_from(["o-tv", "o-mobile", "o-ins"]), st.integers(0, 5), max_size=3),
)
CATALOG = [
    offer("o-tv", "tv", eligibility={"owns_any": ["broadband"]}, daily_cap=3),
    offer("o-mobile", "mobile", channels=["voice", "chat"], concerns=["sales_inquiry", "billing"]),
    offer("o-ins", "insurance", eligibility={"exclude_new_customers": True, "tiers": ["gold"]}),
]


@settings(max_examples=400, deadline=None)
@given(situation=situations, history=histories, seed=st.integers(0, 2**16))
def test_no_suggestion_ever_passes_a_closed_gate(situation: Situation, history: History, seed: int) -> None:
    decision = decide(situation, CATALOG, history, Propensities(), POLICY, random.Random(seed), NOW)
    if decision.choice is None:
        assert decision.closed, "a decision without a suggestion says why"
        return
    customer, chosen = situation.customer, decision.choice.offer
    assert situation.agent_id is not None
    assert not situation.angry
    assert not situation.escalated
    assert situation.concern != "complaint" or situation.moment is Moment.RESOLVED
    assert customer.marketing_consent
    assert situation.channel not in customer.opted_out_channels
    assert history.suggestions_in_contact < POLICY.per_contact
    assert history.last_suggested_at is None or NOW - history.last_suggested_at >= timedelta(days=7)
    interest = situation.interest_marked or situation.concern in ("sales_inquiry", "product_question")
    assert interest or situation.moment is Moment.RESOLVED
    assert not in_control_group("acme", customer.customer_id, POLICY.control_percent)
    declined = history.declined_at.get(chosen.offer_id)
    assert declined is None or NOW - declined >= timedelta(days=30)
    assert chosen.daily_cap is None or history.suggested_today.get(chosen.offer_id, 0) < chosen.daily_cap
    assert chosen.product not in customer.products
    assert not chosen.eligibility.owns_any or set(chosen.eligibility.owns_any) & set(customer.products)
    assert not (chosen.eligibility.exclude_new_customers and customer.new_customer)
    assert not chosen.channels or situation.channel in chosen.channels
    assert 0 < decision.choice.choice_probability <= 1


# A population with known acceptance rates (one segment): the best offer by expected value is "c".
TRUE_RATES = {"a": 0.05, "b": 0.10, "c": 0.30, "d": 0.12, "e": 0.02}
VALUES = {"a": 40.0, "b": 30.0, "c": 20.0, "d": 25.0, "e": 100.0}


def _simulate(decisions: int, seed: int) -> tuple[float, float, list[Logged]]:
    """The learner's cumulative regret, a uniform-random policy's, and the learner's log."""
    rng, world = random.Random(seed), random.Random(seed + 1)
    catalog = [offer(name, f"product-{name}", value=value) for name, value in VALUES.items()]
    expected = {name: TRUE_RATES[name] * VALUES[name] for name in VALUES}
    best = max(expected.values())
    learner, log, regret = Propensities(), [], 0.0
    customer = CustomerSnapshot(customer_id="someone", marketing_consent=True)
    for n in range(decisions):
        situation = Situation(
            tenant="sim",
            contact_id=f"c-{n}",
            agent_id="ann",
            customer=customer,
            channel=Channel.CHAT,
            concern="sales_inquiry",
            language="en",
            angry=False,
            escalated=False,
            moment=Moment.ASSIGNED,
        )
        choice = decide(situation, catalog, History(), learner, UpsellPolicy(control_percent=0), rng, NOW).choice
        assert choice is not None
        name = choice.offer.offer_id
        accepted = world.random() < TRUE_RATES[name]
        learner.record(name, "standard", accepted=accepted)
        log.append(
            Logged(situation="one", offer_id=name, choice_probability=choice.choice_probability, accepted=accepted)
        )
        regret += best - expected[name]
    uniform = decisions * (best - sum(expected.values()) / len(expected))
    return regret, uniform, log


def test_the_learner_regrets_far_less_than_random_choice_and_offline_estimates_hit_the_truth() -> None:
    regret, uniform, log = _simulate(3000, seed=11)
    assert regret < 0.25 * uniform, f"learner regret {regret:.0f} vs uniform {uniform:.0f}"
    # "always suggest c" is a policy the log supports well; offers the learner rarely chose are not
    # (their Monte-Carlo choice probabilities are too coarse), see the issue notes
    always_c = estimate(log, lambda d: 1.0 if d.offer_id == "c" else 0.0)
    assert always_c.low <= TRUE_RATES["c"] <= always_c.high, always_c
