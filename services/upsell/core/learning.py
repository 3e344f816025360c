"""Propensity learned online: a Beta-Bernoulli posterior per offer and customer segment, and
Thompson sampling over it. Randomness comes from the caller's seeded generator."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from frontline.contracts.contacts import CustomerSnapshot


def segment_of(customer: CustomerSnapshot) -> str:
    return f"{customer.tier}/new" if customer.new_customer else customer.tier


@dataclass
class Propensities:
    prior_accepts: float = 1.0
    prior_refusals: float = 9.0  # a prior mean of 10%: most suggestions are not taken
    counts: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (offer, segment) → (yes, no)

    def record(self, offer_id: str, segment: str, *, accepted: bool) -> None:
        yes, no = self.counts.get((offer_id, segment), (0, 0))
        self.counts[(offer_id, segment)] = (yes + 1, no) if accepted else (yes, no + 1)

    def posterior(self, offer_id: str, segment: str) -> tuple[float, float]:
        yes, no = self.counts.get((offer_id, segment), (0, 0))
        return self.prior_accepts + yes, self.prior_refusals + no

    def mean(self, offer_id: str, segment: str) -> float:
        alpha, beta = self.posterior(offer_id, segment)
        return alpha / (alpha + beta)

    def sample(self, offer_id: str, segment: str, rng: random.Random) -> float:
        return rng.betavariate(*self.posterior(offer_id, segment))
