"""`make simulate POLICY="skills fifo"`: the demo tenant's day in virtual time under routing policies,
side by side — the real routing engine, the demo's agent and customer models, no broker.

Each policy meets the same customers (same seeds): differences are the policy's, not luck's.
Figures are means over independent days with a 95% interval (t over the days).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from frontline.contracts.agents import AgentProfile, Resolution
from frontline.contracts.contacts import ContactReceivedData
from simulation import tenant
from simulation.engine import Incoming, Outcome, run

ANGRY_COMPLAINTS = 0.3


@dataclass(frozen=True)
class DemoBehaviour:
    rng: random.Random

    def accepts(self, agent: AgentProfile, contact: Incoming) -> bool:
        return tenant.accepts(self.rng)

    def handle_seconds(self, agent: AgentProfile, contact: Incoming) -> float:
        return tenant.handle_seconds(self.rng, contact.data.channel, _fit(agent, contact))

    def completes(self, agent: AgentProfile, contact: Incoming) -> tuple[str, Resolution]:
        return tenant.completion(self.rng, contact.concern, _fit(agent, contact))

    def matched(self, agent: AgentProfile, contact: Incoming) -> bool:
        return _fit(agent, contact).matched

    def comes_back(self, contact: Incoming, resolution: Resolution, at: float) -> Incoming | None:
        later = tenant.comes_back(self.rng, contact.data.channel, resolution)
        if later is None:
            return None
        after, patience = later
        data = contact.data.model_copy(update={"repeat_contact": True})
        return Incoming(f"{contact.contact_id}r", at + after, data, patience, contact.concern)


def _fit(agent: AgentProfile, contact: Incoming) -> tenant.Fit:
    return tenant.Fit.of(agent, contact.data.required_skills[0], contact.data.language.code)


def day(rng: random.Random, *, start_hour: float, hours: float, scale: float) -> Iterator[Incoming]:
    for n, arrival in enumerate(tenant.arrivals(rng, start_hour=start_hour, hours=hours, scale=scale)):
        angry = arrival.concern == "complaint" and rng.random() < ANGRY_COMPLAINTS
        data = ContactReceivedData.model_validate(
            {
                "channel": arrival.channel,
                "customer": {"customer_id": f"cu{arrival.customer}"},
                "language": {"code": arrival.language, "confidence": 0.9, "method": "detected"},
                "concern": {"code": arrival.concern, "confidence": 0.8},
                "required_skills": [arrival.requirement],
                "priority": arrival.priority,
                "sentiment": {"score": -0.8 if angry else 0.0, "angry": angry},
            }
        )
        yield Incoming(f"c{n}", arrival.at, data, arrival.patience, arrival.concern)


@dataclass(frozen=True)
class Figures:
    """One simulated day's headline figures."""

    offered: int
    service_level: float  # live channels' contacts answered within T, of those offered
    asa: float
    abandonment: float
    occupancy: float
    aht: float
    matched: float  # answered by an agent with the skill, the level and the language
    resolved: float
    repeats: float  # of the contacts offered, customers back about a matter left unresolved
    occupancy_spread: float  # standard deviation of the agents' occupancies
    occupancy_range: float  # busiest minus idlest agent

    @classmethod
    def of(cls, outcome: Outcome, contacts: dict[str, Incoming]) -> Figures:
        def live(contact_id: str) -> bool:  # a repeat (id + "r") comes on its first contact's channel
            return contacts[contact_id.rstrip("r")].data.channel.value in tenant.LIVE

        answered = len(outcome.waits)
        offered = answered + len(outcome.abandoned)
        live_offered = sum(map(live, outcome.answered)) + sum(map(live, outcome.abandoned))
        in_time = sum(
            1
            for c, w in zip(outcome.answered, outcome.waits, strict=True)
            if live(c) and w <= tenant.SERVICE_LEVEL_SECONDS
        )
        shares = list(outcome.agent_occupancy().values())
        return cls(
            offered=offered,
            service_level=in_time / max(1, live_offered),
            asa=statistics.fmean(outcome.waits) if outcome.waits else 0.0,
            abandonment=len(outcome.abandoned) / max(1, offered),
            occupancy=outcome.occupancy,
            aht=statistics.fmean(outcome.handles) if outcome.handles else 0.0,
            matched=outcome.matched / max(1, answered),
            resolved=outcome.resolved / max(1, answered),
            repeats=outcome.repeats / max(1, offered),
            occupancy_spread=statistics.pstdev(shares),
            occupancy_range=max(shares) - min(shares),
        )


WARM_UP = 7_000_000  # seed offset of the unmeasured day before each measured one


def simulate_day(
    policy: str,
    *,
    seed: int,
    start_hour: float = tenant.OPENS,
    hours: float = len(tenant.CURVE),
    scale: float = 1.0,
    staffing: float = 1.0,
) -> Figures:
    """One measured day, after a day that is not measured (its own customers), from which routing has
    learned what the agents do — as a router in service would have."""
    floor = tenant.agents(staffing, blended=policy in tenant.BLENDED)
    queues = tenant.queues(policy)
    before = list(day(random.Random(seed + WARM_UP), start_hour=start_hour, hours=hours, scale=scale))
    learned = run(queues, floor, before, DemoBehaviour(random.Random(seed + WARM_UP + 1_000_003))).learned
    contacts = list(day(random.Random(seed), start_hour=start_hour, hours=hours, scale=scale))
    outcome = run(queues, floor, contacts, DemoBehaviour(random.Random(seed + 1_000_003)), learned=learned)
    return Figures.of(outcome, {c.contact_id: c for c in contacts})


# name, label, how to show it
COLUMNS: list[tuple[str, str, Callable[[float], str]]] = [
    ("service_level", f"service level ({tenant.SERVICE_LEVEL_SECONDS:.0f} s, live channels)", lambda v: f"{v:.1%}"),
    ("asa", "ASA", lambda v: f"{v:.1f} s"),
    ("abandonment", "abandoned", lambda v: f"{v:.2%}"),
    ("occupancy", "occupancy", lambda v: f"{v:.1%}"),
    ("aht", "AHT", lambda v: f"{v:.0f} s"),
    ("matched", "handled by a fitting agent", lambda v: f"{v:.1%}"),
    ("resolved", "resolved first time", lambda v: f"{v:.1%}"),
    ("repeats", "repeat contacts (came back unresolved)", lambda v: f"{v:.1%}"),
    ("occupancy_spread", "fairness: occupancy std dev", lambda v: f"{v:.3f}"),
    ("occupancy_range", "fairness: busiest minus idlest", lambda v: f"{v:.3f}"),
]


@dataclass(frozen=True)
class Comparison:
    policies: list[str]
    days: dict[str, list[Figures]]
    contacts: int
    seconds: float

    def interval(self, policy: str, name: str) -> tuple[float, float]:
        values = [getattr(f, name) for f in self.days[policy]]
        mean = statistics.fmean(values)
        if len(values) < 2:
            return mean, 0.0
        return mean, 1.96 * statistics.stdev(values) / math.sqrt(len(values))

    def cell(self, policy: str, name: str, show: Callable[[float], str]) -> str:
        mean, half = self.interval(policy, name)
        return f"{show(mean)} ± {show(half).split()[0]}" if half else show(mean)

    def markdown(self) -> str:
        lines = ["| measure | " + " | ".join(self.policies) + " |", "|---|" + "---|" * len(self.policies)]
        for name, label, show in COLUMNS:
            cells = [self.cell(policy, name, show) for policy in self.policies]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def compare(
    policies: list[str],
    *,
    days: int,
    seed: int,
    scale: float = 1.0,
    staffing: float = 1.0,
    workers: int = 1,
    progress: Callable[[], None] = lambda: None,
) -> Comparison:
    """Every policy on the same `days` (seeds `seed`, `seed + 1`, …), the days spread over `workers` processes."""
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        runs = {
            (policy, d): pool.submit(simulate_day, policy, seed=seed + d, scale=scale, staffing=staffing)
            for d in range(days)
            for policy in policies
        }
        for _ in as_completed(runs.values()):
            progress()
    figures = {p: [runs[(p, d)].result() for d in range(days)] for p in policies}
    contacts = sum(f.offered for per_policy in figures.values() for f in per_policy)
    return Comparison(policies, figures, contacts, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "policies", nargs="*", default=["value", "skills", "fifo"], help=f"of {', '.join(tenant.POLICIES)}"
    )
    parser.add_argument("--days", type=int, default=10, help="independent simulated days per policy")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--load", type=float, default=1.0, help="scale the demo's arrival rate")
    parser.add_argument("--staffing", type=float, default=1.0, help="share of each team on duty, e.g. 0.8")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: one per core)")
    args = parser.parse_args()
    for policy in args.policies:
        if policy not in tenant.POLICIES:
            parser.error(f"unknown policy {policy!r}; choose from {', '.join(tenant.POLICIES)}")
    console = Console()
    with console.status("simulating …") as status:
        done = [0]

        def tick() -> None:
            done[0] += 1
            status.update(f"simulated {done[0]} of {args.days * len(args.policies)} days")

        result = compare(
            args.policies,
            days=args.days,
            seed=args.seed,
            scale=args.load,
            staffing=args.staffing,
            workers=args.workers,
            progress=tick,
        )
    table = Table(
        title=f"The demo tenant, {args.days} days of 08:00-20:00 per policy, load x{args.load}, "
        f"staffing x{args.staffing}"
    )
    table.add_column("measure")
    for policy in args.policies:
        table.add_column(policy, justify="right")
    for name, label, show in COLUMNS:
        table.add_row(label, *(result.cell(p, name, show) for p in args.policies))
    console.print(table)
    hours = args.days * len(args.policies) * len(tenant.CURVE)
    console.print(
        f"{result.contacts:,} contacts in {result.seconds:.1f} s of wall time: "
        f"{result.contacts / result.seconds:,.0f} simulated contacts/s, "
        f"{hours / (result.seconds / 60):,.0f} simulated hours/min ({args.workers} processes)"
    )
    console.print(result.markdown(), markup=False, highlight=False)


if __name__ == "__main__":
    main()
