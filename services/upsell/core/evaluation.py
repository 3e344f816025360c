"""Offline evaluation of a candidate policy on logged decisions: inverse-propensity (IPS) and
self-normalised (SNIPS) estimates of its acceptance rate, IPS with a normal-approximation 95% interval.

Every logged suggestion carries the logging policy's exact probability of the offer it chose and
the offers that were open; a candidate policy says how likely it was to choose the logged offer
among them. Unbiased as long as the logging policy could choose every offer the candidate would
(upsell's exploration floor guarantees it for every open offer).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Logged:
    """One logged suggestion: the offers that were open, the one chosen, its probability, the outcome."""

    candidates: tuple[str, ...]
    offer_id: str
    choice_probability: float
    accepted: bool


@dataclass(frozen=True)
class Estimate:
    ips: float
    snips: float
    low: float
    high: float
    decisions: int


Policy = Callable[[Logged], float]


def estimate(logged: list[Logged], target: Policy) -> Estimate:
    """`target(decision)` is the probability the candidate policy would have chosen the logged offer."""
    n = len(logged)
    if n == 0:
        return Estimate(ips=0.0, snips=0.0, low=0.0, high=0.0, decisions=0)
    weights = [target(d) / d.choice_probability for d in logged]
    rewards = [w * (1.0 if d.accepted else 0.0) for w, d in zip(weights, logged, strict=True)]
    ips = sum(rewards) / n
    variance = sum((r - ips) ** 2 for r in rewards) / max(1, n - 1)
    half = 1.96 * math.sqrt(variance / n)
    total = sum(weights)
    snips = sum(rewards) / total if total else 0.0
    return Estimate(ips=ips, snips=snips, low=ips - half, high=ips + half, decisions=n)
