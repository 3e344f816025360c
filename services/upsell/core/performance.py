"""What an offer earned, with the uncertainty stated (published definitions, also in the README):

- acceptance rate = accepted ÷ answered (accepted + declined + ignored); suggestions not yet
  answered are left out. Its 95% credible interval is that of the Beta(1 + accepted,
  1 + answered - accepted) posterior (a uniform prior), computed exactly.
- conversion = accepted ÷ suggestions shown; control conversion = bought anyway ÷ held out (a
  control-group customer who bought the withheld offer's product, as reported by an outcome).
- uplift = conversion - control conversion, with the 95% credible interval of the difference of the
  two Beta posteriors, computed from posterior draws with a fixed seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from services.upsell.core.ledger import Tally

DRAWS = 10_000


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class OfferPerformance:
    offer_id: str
    impressions: int
    accepted: int
    declined: int
    ignored: int
    pending: int
    acceptance_rate: float | None
    acceptance_interval: Interval
    revenue: float
    held_out: int
    bought_anyway: int
    conversion: float | None
    control_conversion: float | None
    uplift: float | None
    uplift_interval: Interval | None


def performance_of(offer_id: str, tally: Tally) -> OfferPerformance:
    rng = np.random.default_rng(0)
    answered = tally.accepted + tally.declined + tally.ignored
    uplift: float | None = None
    uplift_interval: Interval | None = None
    conversion = tally.accepted / tally.impressions if tally.impressions else None
    control = tally.bought_anyway / tally.held_out if tally.held_out else None
    if conversion is not None and control is not None:
        treated = rng.beta(1 + tally.accepted, 1 + tally.impressions - tally.accepted, DRAWS)
        held = rng.beta(1 + tally.bought_anyway, 1 + tally.held_out - tally.bought_anyway, DRAWS)
        uplift, uplift_interval = conversion - control, _interval(treated - held)
    return OfferPerformance(
        offer_id=offer_id,
        impressions=tally.impressions,
        accepted=tally.accepted,
        declined=tally.declined,
        ignored=tally.ignored,
        pending=tally.impressions - answered,
        acceptance_rate=tally.accepted / answered if answered else None,
        acceptance_interval=Interval(
            low=round(beta_quantile(1 + tally.accepted, 1 + answered - tally.accepted, 0.025), 4),
            high=round(beta_quantile(1 + tally.accepted, 1 + answered - tally.accepted, 0.975), 4),
        ),
        revenue=round(tally.revenue, 2),
        held_out=tally.held_out,
        bought_anyway=tally.bought_anyway,
        conversion=conversion,
        control_conversion=control,
        uplift=uplift,
        uplift_interval=uplift_interval,
    )


def _interval(draws: np.ndarray) -> Interval:
    low, high = np.quantile(draws, [0.025, 0.975])
    return Interval(low=round(float(low), 4), high=round(float(high), 4))


def beta_quantile(a: float, b: float, q: float) -> float:
    """The q-quantile of Beta(a, b): bisection on the regularised incomplete beta function."""
    low, high = 0.0, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        if _incomplete_beta(a, b, middle) < q:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), by its continued fraction (modified Lentz; Numerical Recipes §6.4)."""
    if x <= 0 or x >= 1:
        return 0.0 if x <= 0 else 1.0
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _incomplete_beta(b, a, 1.0 - x)
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1.0) < 1e-12:
            break
    return math.exp(log_front) * fraction / a
