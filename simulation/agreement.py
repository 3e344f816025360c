"""`python -m simulation.agreement`: the simulator (real routing engine, virtual time) against Erlang C
and Erlang A over a range of loads and staffing — a markdown table of theory vs. simulation with
95% batch-means confidence intervals, and the simulation's speed."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

from simulation.engine import Outcome, Pool, confidence_interval, simulate
from simulation.erlang import Prediction, erlang_a_prediction, erlang_c_prediction

THRESHOLD = 20  # s: the service level's T
Z95, Z99 = 2.093, 2.861  # t(0.975, 19), t(0.995, 19): 20 batch means
SCENARIOS = {
    "erlang-c-5": Pool(rate=4 / 180, handle=180, agents=5),
    "erlang-c-10": Pool(rate=8 / 180, handle=180, agents=10),
    "erlang-c-20": Pool(rate=18 / 240, handle=240, agents=20),
    "erlang-a-10": Pool(rate=9 / 180, handle=180, agents=10, patience=120),
    "erlang-a-overloaded": Pool(rate=12 / 180, handle=180, agents=10, patience=300),
}
Metric = Callable[[list[float], int], float]


def asa(waits: list[float], offered: int) -> float:
    return sum(waits) / len(waits)


def service_level(waits: list[float], offered: int) -> float:
    return sum(1 for w in waits if w <= THRESHOLD) / offered


def abandonment(waits: list[float], offered: int) -> float:
    return (offered - len(waits)) / offered


@dataclass(frozen=True)
class Comparison:
    name: str
    theory: float
    low: float
    high: float

    @property
    def agrees(self) -> bool:
        return self.low <= self.theory <= self.high


def theory(pool: Pool) -> Prediction:
    if pool.patience is None:
        return erlang_c_prediction(rate=pool.rate, handle=pool.handle, agents=pool.agents, threshold=THRESHOLD)
    return erlang_a_prediction(
        rate=pool.rate, handle=pool.handle, agents=pool.agents, patience=pool.patience, threshold=THRESHOLD
    )


def compare(pool: Pool, outcome: Outcome, *, z: float) -> list[Comparison]:
    expected = theory(pool)
    metrics: list[tuple[str, Metric, float]] = [
        ("ASA (s)", asa, expected.asa),
        (f"service level ({THRESHOLD} s)", service_level, expected.service_level),
    ]
    if pool.patience is not None:
        metrics.append(("abandonment", abandonment, expected.abandons))
    return [
        Comparison(name, value, *confidence_interval(outcome.batches(metric), z=z)) for name, metric, value in metrics
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000, help="simulated contacts per scenario")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print("| scenario | load (Erlangs) | agents | patience | measure | theory | simulation 95% CI | agrees |")
    print("|---|---|---|---|---|---|---|---|")
    contacts, seconds, hours = 0, 0.0, 0.0
    for label, pool in SCENARIOS.items():
        started = time.perf_counter()
        outcome = simulate(pool, contacts=args.contacts, seed=args.seed)
        seconds += time.perf_counter() - started
        contacts += args.contacts
        hours += outcome.seconds / 3600
        patience = "—" if pool.patience is None else f"{pool.patience:g} s"
        for row in compare(pool, outcome, z=Z95):
            print(
                f"| {label} | {pool.rate * pool.handle:g} | {pool.agents} | {patience} | {row.name} | "
                f"{row.theory:.4g} | [{row.low:.4g}, {row.high:.4g}] | {'yes' if row.agrees else 'no'} |"
            )
    print(
        f"\n{contacts:,} simulated contacts in {seconds:.1f} s: {contacts / seconds:,.0f} contacts/s, "
        f"{hours / seconds * 60:,.0f} simulated hours per minute of wall time"
    )


if __name__ == "__main__":
    main()
