"""Erlang C and Erlang A against worked values, an independent textbook formula, and the limits where
Erlang A has a closed form: patience without end (Erlang C) and patience equal to the handle time
(the count in the system is Poisson, as with infinitely many agents)."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simulation.erlang import erlang_a_prediction, erlang_b, erlang_c, erlang_c_prediction


def textbook_erlang_c(agents: int, load: float) -> float:
    """C(n, a) = (aⁿ/n! · n/(n-a)) / (Σ_{k<n} aᵏ/k! + aⁿ/n! · n/(n-a))."""
    top = load**agents / math.factorial(agents) * agents / (agents - load)
    return top / (sum(load**k / math.factorial(k) for k in range(agents)) + top)


def test_worked_values() -> None:
    assert erlang_b(5, 3) == pytest.approx(0.11005, abs=5e-5)  # 5 lines offered 3 Erlangs block 11.0 %
    assert erlang_c(2, 1) == pytest.approx(1 / 3)  # two agents at half load: one caller in three waits
    assert erlang_c(3, 2) == pytest.approx(4 / 9)
    # 10 Erlangs (100 calls per 30 minutes, 180 s handle time) on 11 agents: 68.2 % wait, ASA 122.8 s,
    # 39.0 % answered within 20 s
    eleven = erlang_c_prediction(rate=100 / 1800, handle=180, agents=11, threshold=20)
    assert eleven.waits == pytest.approx(0.6821, abs=5e-4)
    assert eleven.asa == pytest.approx(0.6821 * 180, rel=1e-3)
    assert eleven.service_level == pytest.approx(1 - 0.6821 * math.exp(-20 / 180), abs=5e-4)


@settings(max_examples=200, deadline=None)
@given(agents=st.integers(1, 60), utilisation=st.floats(0.01, 0.99))
def test_erlang_c_is_the_textbook_formula(agents: int, utilisation: float) -> None:
    load = agents * utilisation
    assert erlang_c(agents, load) == pytest.approx(textbook_erlang_c(agents, load), rel=1e-9)


def test_a_pool_that_cannot_keep_up_is_refused() -> None:
    assert erlang_c(5, 5) == 1.0
    with pytest.raises(ValueError, match="needs more than 5 agents"):
        erlang_c_prediction(rate=1, handle=5, agents=5, threshold=20)


@settings(max_examples=40, deadline=None)
@given(agents=st.integers(1, 40), utilisation=st.floats(0.1, 0.95), threshold=st.sampled_from([10, 20, 60]))
@example(agents=39, utilisation=0.296875, threshold=10)  # waiting so rare that only absolute error is meaningful
def test_erlang_a_without_abandonment_is_erlang_c(agents: int, utilisation: float, threshold: int) -> None:
    handle = 200.0
    rate = agents * utilisation / handle
    c = erlang_c_prediction(rate=rate, handle=handle, agents=agents, threshold=threshold)
    a = erlang_a_prediction(rate=rate, handle=handle, agents=agents, patience=1e9, threshold=threshold)
    assert a.waits == pytest.approx(c.waits, rel=1e-4, abs=1e-10)  # the chain is exact up to TAIL of mass
    assert a.asa == pytest.approx(c.asa, rel=1e-3, abs=1e-6)  # seconds
    assert a.service_level == pytest.approx(c.service_level, abs=1e-4)
    assert a.abandons == pytest.approx(0, abs=1e-4)


@settings(max_examples=40, deadline=None)
@given(agents=st.integers(1, 30), load=st.floats(0.2, 40))
def test_erlang_a_with_patience_equal_to_handle_time_is_poisson(agents: int, load: float) -> None:
    handle = 120.0
    a = erlang_a_prediction(rate=load / handle, handle=handle, agents=agents, patience=handle, threshold=30)
    poisson = [math.exp(-load + k * math.log(load) - math.lgamma(k + 1)) for k in range(int(load * 4 + 60))]
    assert a.waits == pytest.approx(sum(poisson[agents:]), abs=1e-9)
    queue = sum((k - agents) * p for k, p in enumerate(poisson) if k > agents)
    assert a.abandons == pytest.approx(queue / load, abs=1e-9)  # θ·E[queue] ÷ λ with θ = μ
    assert a.occupancy == pytest.approx(sum(min(k, agents) * p for k, p in enumerate(poisson)) / agents, abs=1e-9)


def test_erlang_a_service_level_grows_with_t_up_to_all_who_are_answered() -> None:
    levels = [
        erlang_a_prediction(rate=0.1, handle=180, agents=17, patience=90, threshold=t).service_level
        for t in (0, 10, 20, 60, 300, 3600)
    ]
    assert levels == sorted(levels)
    last = erlang_a_prediction(rate=0.1, handle=180, agents=17, patience=90, threshold=36_000)
    assert last.service_level == pytest.approx(1 - last.abandons, abs=1e-6)
    assert levels[0] == pytest.approx(1 - last.waits, abs=1e-9)
