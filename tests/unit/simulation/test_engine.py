"""The simulator, driving the real routing engine in virtual time, agrees with queueing theory: for one
pool with Poisson arrivals and exponential handle times, ASA, service level and abandonment fall
within the simulation's 99% batch-means confidence intervals of Erlang C (no abandonment) and
Erlang A (exponential patience), over a range of loads and staffing. Seeds are fixed: the run is
deterministic."""

from __future__ import annotations

import pytest

from simulation.agreement import SCENARIOS, Z99, compare, theory
from simulation.engine import simulate


@pytest.mark.parametrize("label", list(SCENARIOS))
def test_the_simulator_agrees_with_erlang(label: str) -> None:
    pool = SCENARIOS[label]
    outcome = simulate(pool, contacts=20_000, seed=7)
    for row in compare(pool, outcome, z=Z99):
        assert row.agrees, f"{row.name}: theory {row.theory:.4f}, simulation [{row.low:.4f}, {row.high:.4f}]"
    assert outcome.occupancy == pytest.approx(theory(pool).occupancy, abs=0.02)
