"""Offline evaluation of a policy on logged decisions: inverse-propensity (IPS) and self-normalised
(SNIPS) estimates of its acceptance rate, with a normal-approximation 95% interval for IPS."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Logged:
    """One logged suggestion: the situation's key, the offer chosen, its choice probability, the outcome."""

    situation: str
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


def estimate(logged: list[Logged], target: Callable[[Logged], float]) -> Estimate:
    """`target(decision)` is the probability the candidate policy would have chosen the logged offer."""
    weights = [target(d) / d.choice_probability for d in logged]
    rewards = [w * (1.0 if d.accepted else 0.0) for w, d in zip(weights, logged, strict=True)]
    n = len(logged)
    ips = sum(rewards) / n
    variance = sum((r - ips) ** 2 for r in rewards) / max(1, n - 1)
    half = 1.96 * math.sqrt(variance / n)
    total = sum(weights)
    snips = sum(rewards) / total if total else 0.0
    return Estimate(ips=ips, snips=snips, low=ips - half, high=ips + half, decisions=n)
