"""The routing engine alone, no I/O: decisions/s and decision latency in a large, busy pool.

A pool of A agents (S skills, 3-5 each, proficiency 1-5) all on voice calls, Q contacts queued
behind them. Then, in a steady loop, an agent completes a call (with no wrap-up, so they take the
most deserving queued contact at once), a new contact arrives (and, with every agent busy, is
explained and queued), and the agent accepts the offer. Every `routing.decision` counts as a
decision; latency is the time of the apply call that made it. The same loop on a pool a tenth the
size is the baseline (same process), which shows how the engine scales.

    python scripts/bench_routing_core.py --agents 10000 --skills 50 --queued 2000
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from frontline.contracts import agents as requests
from frontline.contracts.contacts import ContactReceived, ContactReceivedData
from frontline.contracts.envelope import Event, EventData
from frontline.contracts.policies import QueuePolicy, QueuePolicySaved
from frontline.contracts.routing import OfferCreated, RoutingDecision
from frontline.plumbing.service import tune_collector
from services.routing import core
from services.routing.core.router import Router
from services.routing.core.state import Fact

T0 = datetime(2026, 11, 22, 9, tzinfo=UTC)


@dataclass
class Result:
    agents: int
    skills: int
    queued: int
    decisions: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.decisions / self.seconds

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.latencies_ms, n=100)[q - 1]


def _event(model: type[Event], data: EventData, contact_id: str | None = None) -> Event:
    return model.new(data=data, tenant="bench", source="bench", occurred_at=T0, contact_id=contact_id)


def _contact(rng: random.Random, n: int, skills: int) -> Event:
    data = ContactReceivedData.model_validate(
        {
            "channel": "voice",
            "customer": {"customer_id": f"cust-{n}"},
            "language": {"code": "en", "confidence": 0.9, "method": "detected"},
            "concern": {"code": "general", "confidence": 0.9},
            "required_skills": [{"skill": f"skill-{rng.randrange(skills)}", "min_proficiency": rng.randint(1, 3)}],
            "priority": rng.randint(0, 100),
            "sentiment": {"score": 0.0, "angry": False},
        }
    )
    return _event(ContactReceived, data, contact_id=f"c-{n}")


def _staff(router: Router, rng: random.Random, agents: int, skills: int, now: datetime) -> None:
    policy = QueuePolicy(queue="general", wrap_up_seconds=0, sticky_agent_seconds=0, escalation=None)
    router.apply(_event(QueuePolicySaved, policy), now)
    for a in range(agents):
        levels = [
            {"skill": f"skill-{s}", "proficiency": rng.randint(1, 5)}
            for s in rng.sample(range(skills), rng.randint(3, 5))
        ]
        profile = requests.AgentProfile.model_validate({"agent_id": f"a-{a}", "skills": levels, "languages": ["en"]})
        router.apply(_event(requests.AgentProfileSaved, profile), now)


def _accept_offers(router: Router, facts: list[Fact], now: datetime) -> list[str]:
    """Accept every offer made; the contacts' agents."""
    accepted = []
    for fact in facts:
        if fact.kind is OfferCreated:
            answer = requests.OfferAnswer(offer_id=fact.data.offer_id, agent_id=fact.data.agent_id, accepted=True)
            router.apply(_event(requests.OfferAnswered, answer), now)
            accepted.append(fact.data.agent_id)
    return accepted


def run(*, agents: int, skills: int, queued: int, operations: int, seed: int = 7) -> Result:
    rng = random.Random(seed)
    router = Router("bench")
    now = T0
    _staff(router, rng, agents, skills, now)
    for a in range(agents):
        facts = router.apply(
            _event(requests.AgentStateRequested, requests.StateRequest(agent_id=f"a-{a}", state="available")), now
        )
        _accept_offers(router, facts, now)
    arrived = waiting = 0
    while waiting < queued:
        facts = router.apply(_contact(rng, arrived, skills), now)
        if not _accept_offers(router, facts, now):
            waiting += 1
        arrived += 1
    busy = [agent_id for agent_id, agent in router.agents.items() if agent.work]
    latencies: list[float] = []
    decisions = 0
    spent = 0.0
    for _ in range(operations):
        now += timedelta(milliseconds=50)
        agent_id = busy.pop(rng.randrange(len(busy))) if busy else None
        commands: list[Event] = []
        if agent_id is not None:
            contact_id = next(iter(router.agents[agent_id].work))
            handled = requests.Handled(agent_id=agent_id, disposition="done")
            commands.append(_event(requests.ContactHandled, handled, contact_id=contact_id))
        commands.append(_contact(rng, arrived, skills))
        arrived += 1
        for command in commands:
            started = time.perf_counter()
            facts = router.apply(command, now)
            elapsed = time.perf_counter() - started
            made = sum(1 for fact in facts if fact.kind is RoutingDecision)
            if made:
                decisions += made
                spent += elapsed
                latencies.extend([elapsed * 1000 / made] * made)
            busy.extend(_accept_offers(router, facts, now))
    return Result(agents, skills, queued, decisions, spent, latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--skills", type=int, default=50)
    parser.add_argument("--queued", type=int, default=2_000)
    parser.add_argument("--operations", type=int, default=20_000)
    args = parser.parse_args()
    tune_collector()  # as the routing service runs its engine
    print(f"engine: {'compiled (mypyc)' if core.COMPILED else 'interpreted'}")
    for agents, queued in ((args.agents // 10, args.queued // 10), (args.agents, args.queued)):
        result = run(agents=agents, skills=args.skills, queued=queued, operations=args.operations)
        print(
            f"{agents} agents, {queued} queued: {result.decisions} decisions, {result.per_second:,.0f}/s, "
            f"p50 {result.percentile(50):.3f} ms, p99 {result.percentile(99):.3f} ms"
        )


if __name__ == "__main__":
    main()
