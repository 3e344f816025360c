"""Upsell's engine: no suggestion through a closed gate, learning that beats random, honest offline estimates."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from frontline.contracts.contacts import Channel, CustomerSnapshot
from frontline.contracts.upsell import Moment, Offer
from services.upsell.core.catalog import Catalog
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
    resolved=st.booleans(),
)
days_ago = st.one_of(st.none(), st.floats(0, 60).map(lambda d: NOW - timedelta(days=d)))
histories = st.builds(
    History,
    last_suggested_at=days_ago,
    declined_at=st.dictionaries(st.sampled_from(["o-tv", "o-mobile", "o-ins"]), days_ago.filter(bool), max_size=2),
    suggestions_in_contact=st.integers(0, 2),
    suggested_today=st.dictionaries(st.sampled_from(["o-tv", "o-mobile", "o-ins"]), st.integers(0, 5), max_size=3),
)
OFFERS = [
    offer("o-tv", "tv", eligibility={"owns_any": ["broadband"]}, daily_cap=3),
    offer("o-mobile", "mobile", channels=["voice", "chat"], concerns=["sales_inquiry", "billing"]),
    offer("o-ins", "insurance", eligibility={"exclude_new_customers": True, "tiers": ["gold"]}),
]
CATALOG = Catalog(OFFERS)


def reference_gate(offer: Offer, situation: Situation, history: History, policy: UpsellPolicy) -> str | None:
    """The offer gates as docs/DESIGN.md states them, one offer at a time: the oracle for the compiled catalog."""
    customer, owned = situation.customer, set(situation.customer.products)
    rules = offer.eligibility
    declined = history.declined_at.get(offer.offer_id)
    checks = [
        (
            "offer_inactive",
            not offer.active
            or (offer.valid_from is not None and offer.valid_from > NOW)
            or (offer.valid_until is not None and offer.valid_until <= NOW),
        ),
        ("concern_not_applicable", bool(offer.concerns) and situation.concern not in offer.concerns),
        ("channel_not_applicable", bool(offer.channels) and situation.channel not in offer.channels),
        ("already_owned", offer.product in owned),
        (
            "not_eligible_products",
            (bool(rules.owns_any) and not owned & set(rules.owns_any)) or bool(owned & set(rules.owns_none)),
        ),
        ("not_eligible_tier", bool(rules.tiers) and customer.tier not in rules.tiers),
        ("not_eligible_new_customer", rules.exclude_new_customers and customer.new_customer),
        ("cool_down", declined is not None and NOW - declined < timedelta(days=policy.cool_down_days)),
        (
            "daily_cap",
            offer.daily_cap is not None and history.suggested_today.get(offer.offer_id, 0) >= offer.daily_cap,
        ),
    ]
    return next((reason for reason, closed in checks if closed), None)


random_offers = st.builds(
    lambda n, product, concerns, channels, owns_any, owns_none, tiers, not_new, cap, active, window: offer(
        f"o-{n}",
        product,
        concerns=concerns,
        channels=channels,
        eligibility={"owns_any": owns_any, "owns_none": owns_none, "tiers": tiers, "exclude_new_customers": not_new},
        daily_cap=cap,
        active=active,
        **window,
    ),
    n=st.integers(0, 10**6),
    product=st.sampled_from(PRODUCTS),
    concerns=st.lists(st.sampled_from(["sales_inquiry", "complaint", "billing", "product_question"]), unique=True),
    channels=st.lists(st.sampled_from(["voice", "chat", "email"]), unique=True),
    owns_any=st.lists(st.sampled_from(PRODUCTS), unique=True, max_size=2),
    owns_none=st.lists(st.sampled_from(PRODUCTS), unique=True, max_size=1),
    tiers=st.lists(st.sampled_from(["standard", "gold"]), unique=True, max_size=1),
    not_new=st.booleans(),
    cap=st.one_of(st.none(), st.integers(1, 4)),
    active=st.booleans(),
    window=st.sampled_from(
        [
            {},
            {"valid_until": NOW - timedelta(days=1)},
            {"valid_from": NOW + timedelta(hours=1)},
            {"valid_from": NOW - timedelta(days=1), "valid_until": NOW + timedelta(days=1)},
        ]
    ),
)
catalogs = st.lists(random_offers, min_size=1, max_size=12, unique_by=lambda o: o.offer_id)


@settings(max_examples=300, deadline=None)
@given(offers=catalogs, situation=situations, history=histories)
def test_the_compiled_catalog_opens_exactly_the_offers_the_stated_gates_open(
    offers: list[Offer], situation: Situation, history: History
) -> None:
    history.declined_at = {o.offer_id: NOW - timedelta(days=3) for o in offers[::3]}
    history.suggested_today = {o.offer_id: 2 for o in offers[::2]}
    reasons = [reference_gate(o, situation, history, POLICY) for o in offers]
    open_offers, excluded = Catalog(offers).open_offers(situation, history, POLICY, NOW)
    expected = [o.offer_id for o, reason in zip(offers, reasons, strict=True) if reason is None]
    assert [offers[i].offer_id for i in open_offers] == expected
    assert excluded == Counter(r for r in reasons if r is not None)


@settings(max_examples=400, deadline=None)
@given(situation=situations, history=histories, offers=catalogs, seed=st.integers(0, 2**16))
def test_no_suggestion_ever_passes_a_closed_gate(
    situation: Situation, history: History, offers: list[Offer], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    decision = decide(situation, Catalog(OFFERS + offers), history, Propensities(), POLICY, rng, NOW)
    if decision.choice is None:
        assert decision.closed, "a decision without a suggestion says why"
        return
    customer, chosen = situation.customer, decision.choice.offer
    assert situation.agent_id is not None
    assert not situation.angry
    assert not situation.escalated
    assert situation.concern != "complaint" or situation.resolved
    assert customer.marketing_consent
    assert situation.channel not in customer.opted_out_channels
    assert history.suggestions_in_contact < POLICY.per_contact
    assert history.last_suggested_at is None or NOW - history.last_suggested_at >= timedelta(days=7)
    interest = situation.interest_marked or situation.concern in ("sales_inquiry", "product_question")
    assert interest or situation.moment is Moment.INTEREST or situation.resolved
    assert not in_control_group("acme", customer.customer_id, POLICY.control_percent)
    assert reference_gate(chosen, situation, history, POLICY) is None
    assert 0 < decision.choice.choice_probability <= 1
    assert decision.held_out is None


# A population with known acceptance rates (one segment): the best offer by expected value is "c".
TRUE_RATES = {"a": 0.05, "b": 0.10, "c": 0.30, "d": 0.12, "e": 0.02}
VALUES = {"a": 40.0, "b": 30.0, "c": 20.0, "d": 25.0, "e": 100.0}


def _simulate(decisions: int, seed: int) -> tuple[float, float, list[Logged]]:
    """The learner's cumulative regret, a uniform-random policy's, and the learner's log."""
    rng, world = np.random.default_rng(seed), random.Random(seed + 1)
    catalog = Catalog([offer(name, f"product-{name}", value=value) for name, value in VALUES.items()])
    expected = {name: TRUE_RATES[name] * VALUES[name] for name in VALUES}
    best = max(expected.values())
    learner, log, regret = Propensities(), [], 0.0
    customer = CustomerSnapshot(customer_id="someone", marketing_consent=True)
    policy = UpsellPolicy(control_percent=0)
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
        choice = decide(situation, catalog, History(), learner, policy, rng, NOW).choice
        assert choice is not None
        name = choice.offer.offer_id
        accepted = world.random() < TRUE_RATES[name]
        learner.record(name, "standard", accepted=accepted)
        log.append(
            Logged(
                candidates=tuple(choice.candidates),
                offer_id=name,
                choice_probability=choice.choice_probability,
                accepted=accepted,
            )
        )
        regret += best - expected[name]
    uniform = decisions * (best - sum(expected.values()) / len(expected))
    return regret, uniform, log


def test_the_learner_regrets_far_less_than_random_choice_and_offline_estimates_hit_the_truth() -> None:
    regret, uniform, log = _simulate(3000, seed=11)
    assert regret < 0.25 * uniform, f"learner regret {regret:.0f} vs uniform {uniform:.0f}"
    # the logged probabilities are exact, so the estimates are unbiased; policies the log supports
    # well land within their 95% interval (one the learner seldom tried, "always a", is unbiased
    # too but rests on a handful of explored decisions: its normal interval is not to be trusted)
    always_c = estimate(log, lambda d: 1.0 if d.offer_id == "c" else 0.0)
    assert always_c.low <= TRUE_RATES["c"] <= always_c.high, always_c
