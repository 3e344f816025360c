"""Which offer, if any, to suggest at this moment: gates first, then propensity x value x weight.

The offer is chosen by Thompson sampling; the probability that the policy would choose it in this
situation is estimated from further draws and logged with it, so that any other policy can be
evaluated offline on the same decisions (see evaluation.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from frontline.contracts.upsell import Offer
from services.upsell.core.gates import (
    INTEREST_CONCERNS,
    History,
    Situation,
    UpsellPolicy,
    closed_contact_gates,
    closed_offer_gate,
)
from services.upsell.core.learning import Propensities, segment_of

CHOICE_DRAWS = 64
AFTER_RESOLUTION_WEIGHT = 0.6  # a problem-solving contact is a weaker moment than an expressed interest


@dataclass(frozen=True)
class Choice:
    offer: Offer
    propensity: float
    choice_probability: float
    score: float
    reasons: list[str]


@dataclass(frozen=True)
class UpsellDecision:
    choice: Choice | None
    closed: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)


def decide(
    situation: Situation,
    offers: list[Offer],
    history: History,
    propensities: Propensities,
    policy: UpsellPolicy,
    rng: random.Random,
    now: datetime,
) -> UpsellDecision:
    closed = closed_contact_gates(situation, history, policy, now)
    if closed:
        return UpsellDecision(choice=None, closed=closed)
    candidates: list[Offer] = []
    excluded: dict[str, str] = {}
    for offer in offers:
        reason = closed_offer_gate(offer, situation, history, policy, now)
        if reason is None:
            candidates.append(offer)
        else:
            excluded[offer.offer_id] = reason
    if not candidates:
        return UpsellDecision(choice=None, closed=["no_eligible_offer"], excluded=excluded)
    segment = segment_of(situation.customer)

    def draw() -> int:
        scores = [propensities.sample(o.offer_id, segment, rng) * o.value * o.weight for o in candidates]
        return max(range(len(candidates)), key=scores.__getitem__)

    chosen = draw()
    wins = sum(1 for _ in range(CHOICE_DRAWS) if draw() == chosen)
    offer = candidates[chosen]
    interest = situation.interest_marked or situation.concern in INTEREST_CONCERNS
    context = 1.0 if interest else AFTER_RESOLUTION_WEIGHT
    propensity = propensities.mean(offer.offer_id, segment)
    reasons = [f"interest:{situation.concern}" if interest else "after_resolution", f"segment:{segment}"]
    reasons += [f"owns:{p}" for p in offer.eligibility.owns_any if p in situation.customer.products]
    return UpsellDecision(
        choice=Choice(
            offer=offer,
            propensity=propensity,
            # the share of draws that pick it, counting the draw that did: never 0, so weights stay finite
            choice_probability=(wins + 1) / (CHOICE_DRAWS + 1),
            score=propensity * offer.value * offer.weight * context,
            reasons=reasons,
        ),
        excluded=excluded,
    )
