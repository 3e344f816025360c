"""Queueing theory for one pool of identical agents with Poisson arrivals and exponential handle times:
Erlang C (M/M/n, callers wait for ever) and Erlang A (M/M/n+M, callers abandon after an exponential
patience) — the yardsticks the simulator is checked against.

Notation: `rate` arrivals per second, `handle` the mean handle time (s), `agents` n, `patience` the
mean patience (s). Offered load a = rate * handle (Erlangs). "Service level" follows records'
definition: answered within T seconds ÷ offered (abandoned contacts count as offered, not answered).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TAIL = 1e-13  # probability mass left out of a truncated distribution


@dataclass(frozen=True)
class Prediction:
    waits: float  # P(an arriving contact waits at all)
    asa: float  # mean wait of the answered contacts, s
    service_level: float  # P(answered within T)
    abandons: float  # P(abandoned)
    occupancy: float  # busy agents ÷ agents


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of n servers offered `load` Erlangs (the stable recursion)."""
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


def erlang_c(agents: int, load: float) -> float:
    """P(wait) in M/M/n: 1 when the load reaches the agents (the queue grows without bound)."""
    if load >= agents:
        return 1.0
    blocking = erlang_b(agents, load)
    return agents * blocking / (agents - load * (1 - blocking))


def erlang_c_prediction(*, rate: float, handle: float, agents: int, threshold: float) -> Prediction:
    load = rate * handle
    if load >= agents:
        raise ValueError(f"a load of {load:.2f} Erlangs needs more than {agents} agents without abandonment")
    waits = erlang_c(agents, load)
    drain = (agents - load) / handle  # rate at which the queue of an all-busy pool empties
    return Prediction(
        waits=waits,
        asa=waits / drain,
        service_level=1 - waits * math.exp(-drain * threshold),
        abandons=0.0,
        occupancy=load / agents,
    )


def erlang_a_prediction(*, rate: float, handle: float, agents: int, patience: float, threshold: float) -> Prediction:
    """M/M/n+M as a birth-death chain (exact up to TAIL): the number of contacts in the system goes up
    at `rate` and down at min(k, n)/handle + max(k - n, 0)/patience. An arriving contact sees the
    stationary distribution (PASTA); from its place in the queue it moves up when a contact ahead is
    answered or abandons and leaves when its own patience ends — a chain whose transient solution
    (uniformization) gives the chance to be answered within T."""
    mu, theta = 1 / handle, 1 / patience
    weights = [1.0]
    k = 0
    while True:
        k += 1
        death = min(k, agents) * mu + max(k - agents, 0) * theta
        weights.append(weights[-1] * rate / death)
        if k > agents and weights[-1] < TAIL * sum(weights):
            break
    pi = np.array(weights) / sum(weights)
    n = agents
    queue_states = pi[n:]  # an arrival finding k ≥ n waits at place k - n + 1
    waits = float(queue_states.sum())
    places = np.arange(1, len(queue_states) + 1)
    rates_out = (
        n * mu + places * theta
    )  # leaving place p: answered or moved up (n*mu + (p-1)*theta) or abandoning (theta)
    moves_up = (n * mu + (places - 1) * theta) / rates_out
    answered_from = np.cumprod(moves_up)  # P(answered | starts at place p)
    time_if_answered = np.cumsum(1 / rates_out)  # E[wait | answered, starts at p]
    answered_after_wait = float(queue_states @ answered_from)
    waited_answered = float(queue_states @ (answered_from * time_if_answered))
    busy = float(pi @ np.minimum(np.arange(len(pi)), n))
    answered = (1 - waits) + answered_after_wait
    return Prediction(
        waits=waits,
        asa=waited_answered / answered,
        service_level=(1 - waits) + float(queue_states @ _answered_within(n * mu, theta, len(places), threshold)),
        abandons=waits - answered_after_wait,
        occupancy=busy / n,
    )


def _answered_within(service: float, theta: float, places: int, threshold: float) -> np.ndarray:
    """P(answered within `threshold` | starts waiting at place p), for p = 1..places, by uniformization
    of the chain place p → p - 1 (rate service + (p - 1)θ; from place 1: answered) or → abandoned (θ)."""
    uniform = service + places * theta
    # states 0..places-1 are places 1..places; the chance to be answered is propagated backwards:
    # h_k(p) = P(answered within k uniformized steps | at place p)
    up = (service + np.arange(places) * theta) / uniform
    stay = 1 - up - theta / uniform
    h = np.zeros(places)
    total = np.zeros(places)
    mean = uniform * threshold
    steps = int(mean + 12 * math.sqrt(mean) + 12)
    for step in range(steps + 1):
        # Poisson(step; mean), in logarithms: exp(-mean) alone underflows past mean ≈ 745
        weight = math.exp(step * math.log(mean) - mean - math.lgamma(step + 1)) if mean > 0 else float(step == 0)
        total += weight * h
        answered_next = np.concatenate(([1.0], h[:-1]))  # moving up from place 1 means answered
        h = up * answered_next + stay * h
    return total
