"""The demo tenant, and how its customers and agents behave — one model for both the live run
(`make run`, through the real services) and the simulator (virtual time, the routing core alone).

Everything here is plain data and pure functions of a seeded `random.Random`: no I/O.
Times are in simulated seconds; the live run divides them by its speed.
"""

from __future__ import annotations

import csv
import functools
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frontline.contracts.agents import AgentProfile, Resolution, SkillLevel, Tier
from frontline.contracts.contacts import Channel, SkillRequirement
from frontline.contracts.policies import QueuePolicy, RelaxationStep

# The labelled messages intake is evaluated on (7 languages, 9 concerns): what demo customers write.
MESSAGES = Path(__file__).resolve().parents[1] / "tests" / "data" / "intake_eval.tsv"

# --- the tenant --------------------------------------------------------------------------------

# id, name, team, skills (skill:proficiency), languages besides English; columns apart by 2+ spaces
_STAFF = """
bo-1  Bodil Ek         billing   billing:5 account:3 general:2        sv da
bo-2  Pieter Smit      billing   billing:4 account:2 general:2        nl de
bo-3  Hanna Keller     billing   billing:4 general:2                  de
bo-4  Lucie Moreau     billing   billing:3 account:2                  fr
bo-5  Sofía Ruiz       billing   billing:3 general:2                  es
bo-6  Mikko Laine      billing   billing:4 account:3                  fi sv
bo-7  Tom Hughes       billing   billing:2 general:3
te-1  Jan de Vries     support   tech_support:5 account:4             nl
te-2  Uwe Brandt       support   tech_support:4 account:3             de
te-3  Camille Roux     support   tech_support:4 account:3             fr es
te-4  Erik Lund        support   tech_support:3 account:3             sv
te-5  Aino Virtanen    support   tech_support:4 account:2             fi
te-6  Raj Patel        support   tech_support:5 account:4 general:2
te-7  Marta Gómez      support   tech_support:3 account:3             es
te-8  Emma Janssen     support   tech_support:3 account:2             nl de
or-1  Lars Olsen       orders    orders:4 returns:4 general:2         da sv
or-2  Inge Bakker      orders    orders:5 returns:3                   nl
or-3  Klaus Weber      orders    orders:4 returns:4                   de
or-4  Chloé Petit      orders    orders:3 returns:4 general:2         fr
or-5  Diego Torres     orders    orders:3 returns:3                   es
or-6  Sam Taylor       orders    orders:4 returns:3 general:3
sa-1  Nora Berg        sales     sales:5 retention:4 billing:2        sv fi
sa-2  Ruben Visser     sales     sales:4 retention:3                  nl
sa-3  Anna Schulz      sales     sales:4 retention:4                  de fr
sa-4  Olivia Brown     sales     sales:3 retention:3 billing:2
sa-5  Pablo Díaz       sales     sales:4 retention:2                  es
ca-1  Grace Miller     care      complaints:5 retention:3 billing:3 general:3   fr
ca-2  Henk Mulder      care      complaints:4 retention:3 general:3             nl de
ca-3  Saara Niemi      care      complaints:4 billing:3 general:3               fi sv
ca-4  Helen Clarke     care      complaints:5 retention:4 billing:3 tech_support:2
"""
SUPERVISORS = {"ca-1", "ca-4"}
CAPACITY = {Channel.VOICE: 1, Channel.WALK_IN: 1, Channel.CHAT: 2, Channel.MESSAGING: 2, Channel.SMS: 2}
ASYNC_CAPACITY = {Channel.EMAIL: 1, Channel.WEB_FORM: 1, Channel.POSTAL_MAIL: 1, Channel.FAX: 1}


def agents(staffing: float = 1.0, *, blended: bool = False) -> list[AgentProfile]:
    """The floor; with `staffing` < 1 each team keeps that share of its agents (at least one), the
    first ones listed; `blended` agents put written work aside for a call."""
    profiles = []
    for line in _STAFF.strip().splitlines():
        agent_id, name, team, levels, *others = re.split(r"\s{2,}", line.strip())
        skills = [SkillLevel(skill=s.split(":")[0], proficiency=int(s.split(":")[1])) for s in levels.split()]
        languages = ["en", *(others[0].split() if others else [])]
        profiles.append(
            AgentProfile(
                agent_id=agent_id,
                name=name,
                team=team,
                tier=Tier.SUPERVISOR if agent_id in SUPERVISORS else Tier.AGENT,
                skills=skills,
                languages=languages,
                capacity={**CAPACITY, **ASYNC_CAPACITY},
                interruptible_channels=[c for c in Channel if c.value not in LIVE] if blended else [],
            )
        )
    teams: dict[str | None, list[AgentProfile]] = {}
    for profile in profiles:
        teams.setdefault(profile.team, []).append(profile)
    kept = {p.agent_id for team in teams.values() for p in team[: max(1, round(len(team) * staffing))]}
    return [profile for profile in profiles if profile.agent_id in kept]


# Relaxation: after 30 s any proficiency two below the minimum will do, after a minute any language,
# after 3 minutes anyone at all — nobody waits for ever for a Finnish-speaking complaints expert.
STEPS = [
    RelaxationStep(after_seconds=0),
    RelaxationStep(after_seconds=30, proficiency_relaxed_by=2),
    RelaxationStep(after_seconds=60, proficiency_relaxed_by=4, require_language=False),
    RelaxationStep(after_seconds=180, require_language=False, require_skills=False),
]
WRAP_UP_SECONDS = 20.0
_QUEUES: dict[str, tuple[int, list[str]]] = {
    "billing": (10, ["billing"]),
    "support": (20, ["technical_support", "account_access"]),
    "orders": (30, ["orders_delivery", "returns_refunds"]),
    "sales": (40, ["sales_inquiry", "cancellation"]),
    "care": (50, ["complaint"]),
}
POLICIES = ("skills", "strict", "fifo", "split", "value")
BLENDED = frozenset({"value"})  # policies whose agents put written work aside for a call


def _relaxing(proficiency: float, language: float, anyone: float) -> list[RelaxationStep]:
    return [
        RelaxationStep(after_seconds=0),
        RelaxationStep(after_seconds=proficiency, proficiency_relaxed_by=2),
        RelaxationStep(after_seconds=language, proficiency_relaxed_by=4, require_language=False),
        RelaxationStep(after_seconds=anyone, require_language=False, require_skills=False),
    ]


# `split`: live contacts relax within seconds, written ones (nobody hangs up on an e-mail) wait half an
# hour for a fitting agent before relaxing — the timers tuned by hand on the simulator (docs/simulation.md).
LIVE_STEPS = _relaxing(7, 15, 45)
DEFERRABLE_STEPS = _relaxing(1800, 3600, 7200)


def _anyone_not_before(steps: list[RelaxationStep]) -> list[RelaxationStep]:
    """The steps with the widest one ("anyone") kept for contacts that have waited `ANYONE_AFTER`."""
    if len(steps) < 2:
        return steps
    return [*steps[:-1], steps[-1].model_copy(update={"not_before_seconds": ANYONE_AFTER})]


def queues(policy: str = "value") -> list[QueuePolicy]:
    """The demo's queues under a routing policy:
    - `skills`: a queue per kind of concern, skill- and language-based, relaxing in steps;
    - `strict`: the same queues, never relaxing (only an agent with the skill and language);
    - `fifo`: one queue, first come first served to any free agent (what a plain ACD does);
    - `split`: each `skills` queue twice, live channels relaxing in seconds, written ones in hours;
    - `value`: the `skills` queues with service goals per channel (`ANSWER_WITHIN`): a contact's steps
      start when waiting for an agent who qualifies is expected to miss the goal, not on timers, the
      widest ("anyone") not before `ANYONE_AFTER`; its agents are blended (`BLENDED`)."""
    common: dict[str, Any] = {"wrap_up_seconds": WRAP_UP_SECONDS}
    if policy == "fifo":
        anyone = [RelaxationStep(after_seconds=0, require_language=False, require_skills=False)]
        return [QueuePolicy(queue="general", steps=anyone, sticky_agent_seconds=0, **common)]
    if policy not in POLICIES:
        raise ValueError(f"policy: unknown {policy!r}; one of {', '.join(POLICIES)}")
    if policy == "value":
        return [
            queue.model_copy(update={"answer_within": ANSWER_WITHIN, "steps": _anyone_not_before(queue.steps)})
            for queue in queues("skills")
        ]
    kinds: dict[str, tuple[list[RelaxationStep], list[Channel]]] = {
        "": (STEPS if policy == "skills" else STEPS[:1], [])
    }
    if policy == "split":
        live = [channel for channel in Channel if channel.value in LIVE]
        kinds = {"": (LIVE_STEPS, live), "-written": (DEFERRABLE_STEPS, [c for c in Channel if c not in live])}
    return [
        QueuePolicy(
            queue=f"{name}{suffix}",
            order=order - len(kinds) + 1 + n,
            concerns=concerns,
            channels=channels,
            steps=steps,
            **common,
        )
        for name, (order, concerns) in [*_QUEUES.items(), ("general", (1_000_000, []))]
        for n, (suffix, (steps, channels)) in enumerate(kinds.items())
    ]


OFFERS: dict[str, dict[str, Any]] = {
    "fibre-upgrade": {
        "product": "fibre-1000",
        "concerns": ["technical_support", "sales_inquiry"],
        "eligibility": {"owns_none": ["fibre-1000"]},
        "value": 120,
        "scripts": {
            "en": "Your line qualifies for Fibre 1000 — ten times faster for 10 a month more.",
            "nl": "Uw lijn komt in aanmerking voor Glasvezel 1000 — tien keer sneller voor 10 per maand extra.",
            "de": "Ihr Anschluss kann Glasfaser 1000 — zehnmal schneller für 10 mehr im Monat.",
        },
    },
    "paperless": {
        "product": "e-billing",
        "concerns": ["billing"],
        "eligibility": {"owns_none": ["e-billing"]},
        "value": 5,
        "scripts": {
            "en": "Switch to paperless billing and get 2 off every month.",
            "fr": "Passez à la facture en ligne.",
        },
    },
    "care-plus": {
        "product": "care-plus",
        "concerns": ["orders_delivery", "returns_refunds"],
        "value": 60,
        "scripts": {"en": "Care Plus covers accidental damage and free returns for a year."},
    },
    "loyalty-bundle": {
        "product": "tv-bundle",
        "concerns": ["cancellation", "sales_inquiry"],
        "eligibility": {"tiers": ["gold", "platinum"]},
        "value": 200,
        "scripts": {"en": "As a valued customer you can add the TV bundle at half price for a year."},
    },
    "mobile-addon": {
        "product": "mobile-sim",
        "concerns": ["sales_inquiry", "account_access", "billing"],
        "eligibility": {"owns_none": ["mobile-sim"]},
        "value": 80,
        "scripts": {"en": "Add a mobile SIM to your account: first three months free."},
    },
}
# How likely a customer who hears the offer buys it (the model's truth; upsell has to learn it).
ACCEPTANCE = {"fibre-upgrade": 0.22, "paperless": 0.35, "care-plus": 0.12, "loyalty-bundle": 0.18, "mobile-addon": 0.09}
CONTROL_PURCHASE = 0.03  # a control-group customer buys the withheld offer's product anyway

# --- demand ------------------------------------------------------------------------------------

CHANNELS = {
    Channel.VOICE: 0.42,
    Channel.CHAT: 0.24,
    Channel.EMAIL: 0.16,
    Channel.MESSAGING: 0.08,
    Channel.WEB_FORM: 0.07,
    Channel.SMS: 0.02,
    Channel.WALK_IN: 0.01,
}
LANGUAGES = {"en": 0.42, "nl": 0.15, "de": 0.15, "fr": 0.1, "es": 0.08, "sv": 0.06, "fi": 0.04}
CONCERNS = {
    "billing": 0.2,
    "technical_support": 0.2,
    "orders_delivery": 0.14,
    "returns_refunds": 0.09,
    "account_access": 0.08,
    "sales_inquiry": 0.1,
    "complaint": 0.06,
    "cancellation": 0.06,
    "general": 0.07,
}
# What intake requires for each concern (its default taxonomy) and how urgent it makes it.
REQUIRED: dict[str, tuple[str, int]] = {
    "billing": ("billing", 2),
    "technical_support": ("tech_support", 2),
    "orders_delivery": ("orders", 1),
    "returns_refunds": ("returns", 1),
    "account_access": ("account", 1),
    "sales_inquiry": ("sales", 1),
    "complaint": ("complaints", 3),
    "cancellation": ("retention", 2),
    "general": ("general", 1),
}
PRIORITY = {"complaint": 60, "cancellation": 55, "account_access": 50}
# Contacts per hour at 08:00, 09:00, …, 19:00, at the peak: a morning peak, lunch dip, afternoon bump.
PEAK_PER_HOUR = 240.0
CURVE = (0.55, 0.85, 1.0, 0.95, 0.8, 0.72, 0.88, 0.95, 0.8, 0.62, 0.48, 0.38)
OPENS = 8  # o'clock

# Mean handle time by channel, s; lognormal with this coefficient of variation.
HANDLE = {
    Channel.VOICE: 320.0,
    Channel.CHAT: 420.0,
    Channel.MESSAGING: 360.0,
    Channel.SMS: 240.0,
    Channel.EMAIL: 300.0,
    Channel.WEB_FORM: 260.0,
    Channel.WALK_IN: 480.0,
}
HANDLE_CV = 0.6
# Mean patience, s (exponential); asynchronous channels do not hang up.
PATIENCE = {Channel.VOICE: 150.0, Channel.CHAT: 240.0, Channel.MESSAGING: 900.0, Channel.WALK_IN: 1200.0}
# The service level counts the live channels' contacts answered within T (e-mail and forms wait by nature).
SERVICE_LEVEL_SECONDS = 20.0
LIVE = frozenset({"voice", "chat", "messaging", "sms", "walk_in"})
# The `value` policy's service goals: live contacts answered within the service level's T, written ones
# within the hour.
ANSWER_WITHIN = {channel: SERVICE_LEVEL_SECONDS if channel.value in LIVE else 3600.0 for channel in Channel}
# An agent without the skill resolves far less (below), so "anyone" waits until a contact has waited a
# minute, past the live goal: tried at 40, 60 and 90 s on the simulator (docs/simulation.md).
ANYONE_AFTER = 60.0
REJECT = 0.04  # an agent turns an offer down
# An agent without the customer's language needs longer (translation), one without the skill longer still,
# and resolves less often.
NO_LANGUAGE_FACTOR, NO_SKILL_FACTOR, PER_LEVEL_SHORT = 1.5, 1.6, 0.12
RESOLVED = 0.88
RESOLVED_UNSKILLED = 0.62
COME_BACK, COME_BACK_AFTER = 0.7, 5400.0  # of the unresolved, come back after 1.5 h on average
DISPOSITIONS = {
    "billing": ("explained_bill", "refund_issued", "payment_plan"),
    "technical_support": ("fixed_remotely", "technician_booked", "reset_device"),
    "orders_delivery": ("tracking_shared", "redelivery_booked"),
    "returns_refunds": ("return_label_sent", "refund_issued"),
    "account_access": ("password_reset", "account_unlocked"),
    "sales_inquiry": ("quoted", "order_placed"),
    "complaint": ("apology_credit", "escalated_to_manager"),
    "cancellation": ("retained", "cancelled"),
    "general": ("information_given",),
}
TIERS = {"standard": 0.75, "gold": 0.2, "platinum": 0.05}
PRODUCTS = ("broadband", "fibre-1000", "e-billing", "mobile-sim", "tv-bundle")
CONSENT = 0.6
CUSTOMERS = 400


@dataclass(frozen=True)
class Customer:
    reference: str
    email: str
    name: str
    tier: str
    products: tuple[str, ...]
    marketing_consent: bool


def customers(seed: int = 2026, count: int = CUSTOMERS) -> list[Customer]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        products = tuple(sorted({"broadband", *rng.sample(PRODUCTS[1:], rng.randint(0, 2))}))
        out.append(
            Customer(
                reference=f"C{100000 + n}",
                email=f"customer{n}@demo.example",
                name=f"Demo Customer {n}",
                tier=_choice(rng, TIERS),
                products=products,
                marketing_consent=rng.random() < CONSENT,
            )
        )
    return out


def messages() -> dict[tuple[str, str], list[str]]:
    """(concern, language) → what customers write."""
    out: dict[tuple[str, str], list[str]] = {}
    with MESSAGES.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            out.setdefault((row["concern"], row["language"]), []).append(row["text"])
    return out


@dataclass(frozen=True)
class Arrival:
    at: float  # s since the start
    channel: Channel
    language: str
    concern: str
    customer: int  # index into customers()
    patience: float | None  # s, None: waits for ever

    @property
    def requirement(self) -> SkillRequirement:
        skill, level = REQUIRED[self.concern]
        return SkillRequirement(skill=skill, min_proficiency=level)

    @property
    def priority(self) -> int:
        return PRIORITY.get(self.concern, 40)


def rate_at(hour: float, scale: float = 1.0) -> float:
    """Arrivals per second at this hour of the day (0 outside opening hours)."""
    index = math.floor(hour) - OPENS
    return PEAK_PER_HOUR * scale * CURVE[index] / 3600 if 0 <= index < len(CURVE) else 0.0


def arrivals(rng: random.Random, *, start_hour: float, hours: float, scale: float = 1.0) -> Iterator[Arrival]:
    """A non-homogeneous Poisson stream over the intraday curve (by thinning)."""
    top = PEAK_PER_HOUR * scale / 3600
    t = 0.0
    while True:
        t += rng.expovariate(top)
        if t >= hours * 3600:
            return
        if rng.random() * top > rate_at(start_hour + t / 3600, scale):
            continue
        channel = Channel(_choice(rng, CHANNELS))
        mean_patience = PATIENCE.get(channel)
        yield Arrival(
            at=t,
            channel=channel,
            language=_choice(rng, LANGUAGES),
            concern=_choice(rng, CONCERNS),
            customer=rng.randrange(CUSTOMERS),
            patience=None if mean_patience is None else rng.expovariate(1 / mean_patience),
        )


# --- agents at work ----------------------------------------------------------------------------


# Agents differ beyond what their profiles say (Gans, Liu, Mandelbaum, Shen & Ye 2010 found handle
# times of agents on the same work differing by a factor of two and more): each has a pace (a factor
# on handle time) and a touch (a factor on the chance of leaving a contact unresolved), lognormal,
# fixed per agent for every day and run. Routing sees neither; it can only learn them. The pace has
# E[1/pace] = 1, so the floor's capacity (the sum of the agents' rates) is what it was without it;
# the touch has mean 1.
PACE_SPREAD, TOUCH_SPREAD = 0.25, 0.5


@functools.cache
def knack(agent_id: str) -> tuple[float, float]:
    """An agent's (pace, touch)."""
    rng = random.Random(f"knack|{agent_id}")
    pace = rng.lognormvariate(PACE_SPREAD**2 / 2, PACE_SPREAD)
    touch = rng.lognormvariate(-(TOUCH_SPREAD**2) / 2, TOUCH_SPREAD)
    return pace, touch


@dataclass(frozen=True)
class Fit:
    """How well an agent fits a contact: the skill's level short of the minimum, the language, and
    the agent's own pace and touch (`knack`)."""

    has_skill: bool
    levels_short: int
    speaks: bool
    pace: float = 1.0
    touch: float = 1.0

    @classmethod
    def of(cls, agent: AgentProfile, requirement: SkillRequirement, language: str) -> Fit:
        level = next((s.proficiency for s in agent.skills if s.skill == requirement.skill), 0)
        pace, touch = knack(agent.agent_id)
        return cls(level > 0, max(0, requirement.min_proficiency - level), language in agent.languages, pace, touch)

    @property
    def matched(self) -> bool:
        return self.has_skill and self.levels_short == 0 and self.speaks


def accepts(rng: random.Random) -> bool:
    return rng.random() >= REJECT


def handle_seconds(rng: random.Random, channel: Channel, fit: Fit) -> float:
    mean = HANDLE[channel]
    if not fit.speaks:
        mean *= NO_LANGUAGE_FACTOR
    mean *= NO_SKILL_FACTOR if not fit.has_skill else 1 + PER_LEVEL_SHORT * fit.levels_short
    mean *= fit.pace
    sigma = math.sqrt(math.log(1 + HANDLE_CV**2))
    return rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)


def completion(rng: random.Random, concern: str, fit: Fit) -> tuple[str, Resolution]:
    unresolved = (1 - (RESOLVED if fit.matched else RESOLVED_UNSKILLED)) * fit.touch
    resolved = rng.random() >= unresolved
    disposition = rng.choice(DISPOSITIONS.get(concern, DISPOSITIONS["general"]))
    return disposition, Resolution.RESOLVED if resolved else Resolution.UNRESOLVED


def comes_back(rng: random.Random, channel: Channel, resolution: Resolution) -> tuple[float, float | None] | None:
    """After an unresolved contact most customers try again: (how much later, s; their patience)."""
    if resolution is Resolution.RESOLVED or rng.random() >= COME_BACK:
        return None
    mean_patience = PATIENCE.get(channel)
    return rng.expovariate(1 / COME_BACK_AFTER), None if mean_patience is None else rng.expovariate(1 / mean_patience)


def buys(rng: random.Random, offer_id: str) -> bool:
    return rng.random() < ACCEPTANCE.get(offer_id, 0.1)


def _choice(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]
