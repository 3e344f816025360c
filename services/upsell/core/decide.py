"""Which offer, if any, to suggest at this moment: gates first, then propensity x value x weight.

The policy, with its exact choice probabilities (logged, so any other policy can be evaluated
offline on the same decisions, see evaluation.py):

1. Of the open offers, the contenders are the `CONTENDERS` with the best optimistic score
   (posterior mean plus two standard deviations, times value x weight); the rest are reachable
   through exploration only.
2. `THOMPSON_DRAWS` rows of posterior samples are drawn; q(o) is the share of rows o wins.
3. The offer is drawn with probability p(o) = ε/n + (1 - ε)·q(o) over the n open offers.

Picking one row at random and taking its winner is Thompson sampling; here the rows are drawn
first, so p(o) is the policy's exact probability given them, never an estimate, and never below
ε/n: inverse-propensity weights stay bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from frontline.contracts.upsell import Moment, Offer
from services.upsell.core.catalog import Catalog
from services.upsell.core.gates import History, Situation, UpsellPolicy, closed_contact_gates
from services.upsell.core.learning import Propensities, segment_of

CONTENDERS = 8
THOMPSON_DRAWS = 32
AFTER_RESOLUTION_WEIGHT = 0.6  # a problem-solving contact is a weaker moment than an expressed interest


@dataclass(frozen=True)
class Choice:
    offer: Offer
    propensity: float
    choice_probability: float
    score: float
    reasons: list[str]
    segment: str
    candidates: list[str]


@dataclass(frozen=True)
class UpsellDecision:
    """A suggestion (`choice`, gates open), or none with the closed gates; `held_out` is the choice
    withheld from a control-group customer."""

    choice: Choice | None
    closed: list[str] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    held_out: Choice | None = None


def decide(
    situation: Situation,
    catalog: Catalog,
    history: History,
    propensities: Propensities,
    policy: UpsellPolicy,
    rng: np.random.Generator,
    now: datetime,
) -> UpsellDecision:
    closed = closed_contact_gates(situation, history, policy, now)
    if closed and closed != ["control_group"]:
        return UpsellDecision(choice=None, closed=closed)
    open_offers, excluded = catalog.open_offers(situation, history, policy, now)
    if open_offers.size == 0:
        return UpsellDecision(choice=None, closed=[*closed, "no_eligible_offer"], excluded=excluded)
    choice = _choose(situation, catalog, open_offers, propensities, policy, rng)
    if closed:
        return UpsellDecision(choice=None, closed=closed, excluded=excluded, held_out=choice)
    return UpsellDecision(choice=choice, excluded=excluded)


def _choose(
    situation: Situation,
    catalog: Catalog,
    open_offers: np.ndarray,
    propensities: Propensities,
    policy: UpsellPolicy,
    rng: np.random.Generator,
) -> Choice:
    segment = segment_of(situation.customer)
    all_alpha, all_beta = propensities.arrays(catalog, segment)
    alpha, beta = all_alpha[open_offers], all_beta[open_offers]
    value = catalog.value_weight[open_offers]
    n = open_offers.size
    if n > CONTENDERS:
        total = alpha + beta
        spread = np.sqrt(alpha * beta / (total * total * (total + 1)))
        contenders = np.argpartition(-(alpha / total + 2 * spread) * value, CONTENDERS)[:CONTENDERS]
    else:
        contenders = np.arange(n)
    rows = rng.beta(alpha[contenders], beta[contenders], size=(THOMPSON_DRAWS, contenders.size))
    wins = np.bincount((rows * value[contenders]).argmax(axis=1), minlength=contenders.size)
    probabilities = np.full(n, policy.exploration / n)
    probabilities[contenders] += (1 - policy.exploration) * wins / THOMPSON_DRAWS
    cumulative = np.cumsum(probabilities)
    picked = min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")), n - 1)
    offer = catalog.offers[int(open_offers[picked])]
    propensity = float(alpha[picked] / (alpha[picked] + beta[picked]))
    if situation.interest_marked or situation.moment is Moment.INTEREST:
        why = "interest_marked"
    elif situation.interest:
        why = f"interest:{situation.concern}"
    else:
        why = "after_resolution"
    reasons = [why, f"segment:{segment}"]
    reasons += [f"owns:{p}" for p in offer.eligibility.owns_any if p in situation.customer.products]
    return Choice(
        offer=offer,
        propensity=propensity,
        choice_probability=float(probabilities[picked]),
        score=propensity * float(value[picked]) * (1.0 if situation.interest else AFTER_RESOLUTION_WEIGHT),
        reasons=reasons,
        segment=segment,
        candidates=catalog.ids[open_offers].tolist(),
    )
