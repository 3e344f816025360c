"""Propensity learned online: a Beta-Bernoulli posterior per offer and customer segment.

Counts are kept by offer id, so they outlive catalog edits; the posterior's parameters are also
kept as arrays in the catalog's order, per segment, so a decision reads them without a loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from frontline.contracts.contacts import CustomerSnapshot
from services.upsell.core.catalog import Catalog

Floats = npt.NDArray[np.float64]


def segment_of(customer: CustomerSnapshot) -> str:
    return f"{customer.tier}/new" if customer.new_customer else customer.tier


@dataclass
class Propensities:
    prior_accepts: float = 1.0
    prior_refusals: float = 9.0
    counts: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (offer, segment) → (yes, no)
    _catalog: Catalog | None = None
    _arrays: dict[str, tuple[Floats, Floats]] = field(default_factory=dict)  # segment → (alpha, beta)

    def record(self, offer_id: str, segment: str, *, accepted: bool) -> None:
        yes, no = self.counts.get((offer_id, segment), (0, 0))
        self.counts[(offer_id, segment)] = (yes + 1, no) if accepted else (yes, no + 1)
        arrays = self._arrays.get(segment)
        position = self._catalog.position.get(offer_id) if self._catalog else None
        if arrays is not None and position is not None:
            arrays[0 if accepted else 1][position] += 1

    def posterior(self, offer_id: str, segment: str) -> tuple[float, float]:
        yes, no = self.counts.get((offer_id, segment), (0, 0))
        return self.prior_accepts + yes, self.prior_refusals + no

    def mean(self, offer_id: str, segment: str) -> float:
        alpha, beta = self.posterior(offer_id, segment)
        return alpha / (alpha + beta)

    def arrays(self, catalog: Catalog, segment: str) -> tuple[Floats, Floats]:
        """(alpha, beta) of every offer of `catalog`, in its order; kept current by `record`."""
        if catalog is not self._catalog:
            self._catalog, self._arrays = catalog, {}
        found = self._arrays.get(segment)
        if found is None:
            pairs = [self.posterior(offer.offer_id, segment) for offer in catalog.offers]
            found = (np.array([a for a, _ in pairs], dtype=float), np.array([b for _, b in pairs], dtype=float))
            self._arrays[segment] = found
        return found
