"""The demo tenant's day through the real services: contacts go in by Kafka, agents and customers
answer by Kafka, the driver learns what happened only from the services' own events.

Doors used (the ones other systems use):
- in: `contact.submitted` on frontline.contacts.inbound; `offer.answered`, `contact.handled` on
  frontline.agents.events; `customer.left` on frontline.routing.requests; `upsell.outcome` on
  frontline.upsell.outcomes; queues, agents, offers and customer consent through REST, as an admin.
- out: `contact.received`, routing's facts and upsell's suggestions, read from their topics.

Simulated time runs `speed` times faster than the wall clock: every simulated duration (handle
times, patience, wrap-up, relaxation steps) is divided by `speed` before it meets the services,
and every duration the services report is multiplied back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from frontline.contracts import Event
from frontline.contracts.agents import ContactHandled, Handled, OfferAnswer, OfferAnswered
from frontline.contracts.contacts import ContactReceived, ContactSubmitted, ContactSubmittedData, SkillRequirement
from frontline.contracts.policies import CustomerLeaving, CustomerLeft, QueuePolicy
from frontline.contracts.registry import parse_event
from frontline.contracts.routing import (
    AgentStateChanged,
    ContactAbandoned,
    ContactAssigned,
    ContactCompleted,
    ContactQueued,
    OfferCreated,
)
from frontline.contracts.topics import Topic
from frontline.contracts.upsell import NoOfferSuggested, OfferSuggested, OutcomeData, OutcomeKind, SuggestionAnswered
from frontline.plumbing.kafka import EventProducer
from frontline.plumbing.settings import Settings
from simulation import tenant

SOURCE = "demo-channels"
THINK_SECONDS = 4.0  # an agent reads the offer before answering
HEARD_SECONDS = 60.0  # a customer answers a suggestion this long after it is made
WORKING = {"busy", "wrap_up"}
STAFFED = {"available", "busy", "wrap_up"}


def scaled(policy: QueuePolicy, speed: float) -> dict[str, Any]:
    """A queue policy whose durations run `speed` times faster (offers still wait for a real answer)."""
    settings = policy.model_dump(mode="json", exclude={"queue"})
    settings["wrap_up_seconds"] = policy.wrap_up_seconds / speed
    settings["sticky_agent_seconds"] = policy.sticky_agent_seconds / speed
    for step in settings["steps"]:
        step["after_seconds"] /= speed
        step["not_before_seconds"] /= speed
    for service_class in settings["service_classes"]:
        service_class["max_wait_seconds"] /= speed
    if settings.get("escalation") and settings["escalation"].get("after_seconds"):
        settings["escalation"]["after_seconds"] /= speed
    if settings.get("overflow"):
        settings["overflow"]["after_seconds"] /= speed
    settings["answer_within"] = {channel: goal / speed for channel, goal in settings["answer_within"].items()}
    return settings


@dataclass
class Tally:
    """What the services said happened, in simulated seconds. Pure: fed events, asked figures."""

    speed: float
    submitted: int = 0
    repeats: int = 0  # of the submitted, customers back about a matter left unresolved
    received: int = 0
    assigned: int = 0
    abandoned: int = 0
    completed: int = 0
    resolved: int = 0
    waits: list[float] = field(default_factory=list)
    live_offered: int = 0
    live_in_time: int = 0
    with_goal: int = 0  # contacts offered whose queue has a goal for their channel
    goal_met: int = 0  # of those, answered within it
    goal_of: dict[str, float] = field(default_factory=dict)  # contact → its first queue's goal, wall seconds
    handles: list[float] = field(default_factory=list)
    suggested: int = 0
    bought: int = 0
    declined: int = 0
    revenue: float = 0.0
    channel_of: dict[str, str] = field(default_factory=dict)
    waiting: dict[str, tuple[str, float]] = field(default_factory=dict)  # contact → (queue, since, wall)
    agent_state: dict[str, tuple[str, float]] = field(default_factory=dict)  # agent → (state, since, wall)
    agent_seconds: dict[str, float] = field(default_factory=dict)  # state → wall seconds lived

    def see(self, event: Event, wall: float) -> None:
        data: Any = event.data
        if isinstance(event, ContactReceived):
            self.received += 1
            self.channel_of[event.contact_id or ""] = data.channel.value
        elif isinstance(event, ContactQueued):
            self.waiting[data.contact_id] = (data.queue, wall)
            if data.because == "arrived" and data.answer_within is not None:
                self.goal_of.setdefault(data.contact_id, data.answer_within)
        elif isinstance(event, ContactAssigned):
            self.waiting.pop(data.contact_id, None)
            self.assigned += 1
            waited = data.waited_seconds * self.speed
            self.waits.append(waited)
            if self.channel_of.get(data.contact_id) in tenant.LIVE:
                self.live_offered += 1
                self.live_in_time += waited <= tenant.SERVICE_LEVEL_SECONDS
            if (goal := self.goal_of.pop(data.contact_id, None)) is not None:
                self.with_goal += 1
                self.goal_met += data.waited_seconds <= goal
        elif isinstance(event, ContactAbandoned):
            self.waiting.pop(data.contact_id, None)
            self.abandoned += 1
            self.live_offered += self.channel_of.get(data.contact_id) in tenant.LIVE
            self.with_goal += self.goal_of.pop(data.contact_id, None) is not None
        elif isinstance(event, ContactCompleted):
            self.completed += 1
            self.resolved += data.resolution == "resolved"
            self.handles.append(data.handle_seconds * self.speed)
        elif isinstance(event, AgentStateChanged):
            state, since = self.agent_state.get(data.agent_id, ("offline", wall))
            self.agent_seconds[state] = self.agent_seconds.get(state, 0.0) + wall - since
            self.agent_state[data.agent_id] = (data.state.value, wall)
        elif isinstance(event, OfferSuggested):
            self.suggested += 1

    def answered(self, bought: bool, revenue: float) -> None:
        self.bought += bought
        self.declined += not bought
        self.revenue += revenue

    @property
    def open(self) -> int:
        """Contacts submitted and not yet completed or abandoned (on their way through intake too)."""
        return self.submitted - self.completed - self.abandoned

    def occupancy(self, wall: float) -> float:
        seconds = dict(self.agent_seconds)
        for state, since in self.agent_state.values():
            seconds[state] = seconds.get(state, 0.0) + wall - since
        staffed = sum(seconds.get(s, 0.0) for s in STAFFED)
        return sum(seconds.get(s, 0.0) for s in WORKING) / staffed if staffed else 0.0

    def figures(self, wall: float) -> dict[str, float]:
        offered = self.assigned + self.abandoned
        return {
            "service_level": self.live_in_time / self.live_offered if self.live_offered else 0.0,
            "within_goal": self.goal_met / self.with_goal if self.with_goal else 0.0,
            "asa": statistics.fmean(self.waits) if self.waits else 0.0,
            "abandonment": self.abandoned / offered if offered else 0.0,
            "occupancy": self.occupancy(wall),
            "aht": statistics.fmean(self.handles) if self.handles else 0.0,
            "fcr": self.resolved / self.completed if self.completed else 0.0,
            "upsell_acceptance": self.bought / (self.bought + self.declined) if self.bought + self.declined else 0.0,
        }

    def queues(self, wall: float) -> dict[str, tuple[int, float]]:
        """Queue → (waiting now, oldest wait in simulated seconds)."""
        out: dict[str, tuple[int, float]] = {}
        for queue, since in self.waiting.values():
            count, oldest = out.get(queue, (0, 0.0))
            out[queue] = (count + 1, max(oldest, (wall - since) * self.speed))
        return out

    def agents_by_state(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for state, _ in self.agent_state.values():
            out[state] = out.get(state, 0) + 1
        return out


@dataclass(frozen=True)
class Plan:
    tenant: str
    speed: float = 60.0
    start_hour: float = 9.0
    hours: float = 3.0
    seed: int = 1
    load: float = 1.0
    policy: str = "value"


@dataclass
class _Contact:
    key: str  # the arrival's number in the day, "r" appended for each time the customer came back
    arrival: tenant.Arrival
    contact_id: str | None = None
    requirement: SkillRequirement | None = None
    language: str = "en"
    customer_id: str | None = None
    assigned: bool = False


class LiveDay:
    """Drives one demo day through the running services; `tally` is what they reported."""

    def __init__(self, plan: Plan, settings: Settings, urls: dict[str, str], api_key: str) -> None:
        self.plan = plan
        self.settings = settings
        self.urls = urls
        self.http = httpx.AsyncClient(headers={"X-API-Key": api_key}, timeout=15)
        # the demo's systems write as the tenant's own systems do, with its key
        signer = settings.signing_keys().for_tenant(plan.tenant)
        self.producer = EventProducer(settings, client_id=f"frontline-demo-{plan.tenant}", signer=signer)
        self.consumer = AIOKafkaConsumer(**settings.kafka_connection(), client_id=f"frontline-demo-{plan.tenant}")
        self.tally = Tally(speed=plan.speed)
        self.rng = random.Random(plan.seed + 7)
        self.agents = {a.agent_id: a for a in tenant.agents(blended=plan.policy in tenant.BLENDED)}
        self.done_at: dict[str, tuple[str, float]] = {}  # contact in hand → (agent, simulated s its handling ends)
        self.customers = tenant.customers()
        self.texts = tenant.messages()
        self.contacts: dict[str, _Contact] = {}  # external id → contact
        self.by_id: dict[str, _Contact] = {}
        self.known_customers: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.started = time.monotonic()
        self.arrivals_done = False
        self.arrivals_ended: float | None = None  # wall seconds the arrivals took
        self.ended: float | None = None  # wall seconds the day took, open contacts finished
        self.errors: list[str] = []

    # --- the clock ---------------------------------------------------------------------------

    def wall(self) -> float:
        return time.monotonic() - self.started

    def clock(self) -> float:
        """Simulated hour of the day now."""
        return self.plan.start_hour + self.wall() * self.plan.speed / 3600

    async def _finish(self, contact_id: str, done: Handled) -> None:
        """Hand the contact in — or, if it was put aside for a call meanwhile, when its work is done."""
        left = self.done_at[contact_id][1] - self.wall() * self.plan.speed
        if left > 0.5:
            self.later(left, functools.partial(self._finish, contact_id, done))
            return
        del self.done_at[contact_id]
        await self._publish(ContactHandled, done, contact_id)

    def later(self, simulated_seconds: float, action: Callable[[], Awaitable[None]]) -> None:
        async def run() -> None:
            await asyncio.sleep(simulated_seconds / self.plan.speed)
            try:
                await action()
            except (httpx.HTTPError, OSError) as error:
                self.errors.append(f"{type(error).__name__}: {error}")

        task = asyncio.create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        """A REST call, tried again after a transport error (a kept-alive connection the server had
        just closed, say); at most three tries."""
        for attempt in range(2):
            try:
                return await self.http.request(method, url, **options)
            except httpx.TransportError:
                await asyncio.sleep(0.5 * (attempt + 1))
        return await self.http.request(method, url, **options)

    # --- setting the tenant up ---------------------------------------------------------------

    async def setup(self, *, within: float = 90) -> None:
        """Queues, agents (available) and offers, through REST, saved again until routing shows them all
        (a worker that joined its group after a request was published would not have seen it)."""
        routing, upsell = self.urls["routing"], self.urls["upsell"]
        for offer_id, offer in tenant.OFFERS.items():
            (await self.request("PUT", f"{upsell}/v1/offers/{offer_id}", json=offer)).raise_for_status()
        policies = {p.queue: scaled(p, self.plan.speed) for p in tenant.queues(self.plan.policy)}
        deadline = time.monotonic() + within
        while True:
            queues = {
                q["policy"]["queue"]: q["policy"] for q in (await self.request("GET", f"{routing}/v1/queues")).json()
            }
            listed = {a["profile"]["agent_id"]: a for a in (await self.request("GET", f"{routing}/v1/agents")).json()}
            missing_queues = [  # `general` exists from the start, as the default policy
                q for q, p in policies.items() if queues.get(q, {}).get("wrap_up_seconds") != p["wrap_up_seconds"]
            ]
            missing = [a for a in self.agents if listed.get(a, {}).get("presence") != "available"]
            if not missing_queues and not missing:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"routing did not show queues {missing_queues}, agents {missing} within {within:.0f} s"
                )
            for queue in missing_queues:
                (await self.request("PUT", f"{routing}/v1/queues/{queue}", json=policies[queue])).raise_for_status()
            for agent_id in missing:
                if agent_id not in listed:
                    profile = self.agents[agent_id].model_dump(mode="json", exclude={"agent_id"})
                    (await self.request("PUT", f"{routing}/v1/agents/{agent_id}", json=profile)).raise_for_status()
                else:
                    state = await self.request(
                        "POST", f"{routing}/v1/agents/{agent_id}/state", json={"state": "available"}
                    )
                    state.raise_for_status()
            await asyncio.sleep(1)

    # --- running the day ---------------------------------------------------------------------

    async def start(self) -> None:
        await self.producer.start()
        await self.consumer.start()
        topics = [Topic.CONTACTS_RECEIVED, Topic.ROUTING_EVENTS, Topic.UPSELL_SUGGESTIONS]
        partitions = [
            TopicPartition(topic.value, p)
            for topic in topics
            for p in sorted(self.consumer.partitions_for_topic(topic.value) or await self._partitions(topic.value))
        ]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for partition in partitions:
            await self.consumer.position(partition)

    async def _partitions(self, topic: str) -> set[int]:
        await self.consumer._client.force_metadata_update()
        return self.consumer.partitions_for_topic(topic) or {0}

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.consumer.stop()
        await self.producer.stop()
        await self.http.aclose()

    async def run(self, stopping: asyncio.Event, *, drain_seconds: float = 60) -> None:
        """Submit the day's contacts on time, react to what the services say, then let the open
        contacts finish (at most `drain_seconds` of wall time)."""
        self.started = time.monotonic()
        for agent_id in self.agents:  # setup() saw them all available
            self.tally.agent_state[agent_id] = ("available", 0.0)
        listening = asyncio.create_task(self._listen())
        try:
            await self._submit_all(stopping)
            self.arrivals_done = True
            self.arrivals_ended = self.wall()
            deadline = time.monotonic() + drain_seconds
            while self.tally.open > 0 and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=0.2)
                if stopping.is_set():
                    break
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)
            self.ended = self.wall()

    async def _submit_all(self, stopping: asyncio.Event) -> None:
        arrivals = tenant.arrivals(
            random.Random(self.plan.seed), start_hour=self.plan.start_hour, hours=self.plan.hours, scale=self.plan.load
        )
        for n, arrival in enumerate(arrivals):
            delay = arrival.at / self.plan.speed - self.wall()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=delay)
            if stopping.is_set():
                return
            await self._submit(str(n), arrival)

    async def _submit(self, key: str, arrival: tenant.Arrival) -> None:
        customer = self.customers[arrival.customer]
        external_id = f"{self.plan.tenant}-{key}"
        texts = self.texts.get((arrival.concern, arrival.language)) or self.texts[(arrival.concern, "en")]
        data = ContactSubmittedData(
            channel=arrival.channel,
            external_id=external_id,
            customer={"reference": customer.reference, "email": customer.email, "name": customer.name},
            text=self.rng.choice(texts),
        )
        self.contacts[external_id] = _Contact(key, arrival)
        event = ContactSubmitted.new(data=data, tenant=self.plan.tenant, source=SOURCE, occurred_at=datetime.now(UTC))
        await self.producer.enqueue(event)
        self.tally.submitted += 1

    async def _listen(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=500)
            for records in batches.values():
                for record in records:
                    if record.value is None or self.plan.tenant.encode() not in record.value:
                        continue
                    try:
                        event = parse_event(record.value)
                    except ValueError:
                        continue
                    if event.tenant == self.plan.tenant:
                        await self._react(event)

    async def _react(self, event: Event) -> None:
        self.tally.see(event, self.wall())
        data: Any = event.data
        if isinstance(event, ContactReceived):
            contact = self.contacts.get(data.external_id or "")
            if contact is None or event.contact_id is None:
                return
            contact.contact_id, contact.customer_id = event.contact_id, data.customer.customer_id
            contact.requirement = data.required_skills[0] if data.required_skills else None
            contact.language = data.language.code
            self.by_id[event.contact_id] = contact
            if data.customer.customer_id not in self.known_customers:
                self.known_customers.add(data.customer.customer_id)
                self.later(0.0, functools.partial(self._profile, contact))
            if contact.arrival.patience is not None:
                left = contact.arrival.at + contact.arrival.patience - self.wall() * self.plan.speed
                self.later(max(0.0, left), functools.partial(self._leave, contact))
        elif isinstance(event, OfferCreated) and data.contact_id in self.by_id:
            accept = tenant.accepts(self.rng)
            answer = OfferAnswer(offer_id=data.offer_id, agent_id=data.agent_id, accepted=accept)
            self.later(THINK_SECONDS, lambda: self._publish(OfferAnswered, answer))
        elif isinstance(event, ContactAssigned) and data.contact_id in self.by_id:
            contact = self.by_id[data.contact_id]
            contact.assigned = True
            agent = self.agents.get(data.agent_id)
            if agent is None:
                return
            requirement = contact.requirement or SkillRequirement(skill="general")
            fit = tenant.Fit.of(agent, requirement, contact.language)
            handle = tenant.handle_seconds(self.rng, contact.arrival.channel, fit)
            disposition, resolution = tenant.completion(self.rng, contact.arrival.concern, fit)
            done = Handled(agent_id=data.agent_id, disposition=disposition, resolution=resolution)
            now = self.wall() * self.plan.speed
            if contact.arrival.channel in agent.exclusive_channels:  # put-aside work resumes after the call
                for held, (holder, ends) in list(self.done_at.items()):
                    if holder == data.agent_id:
                        self.done_at[held] = (holder, ends + handle)
            self.done_at[data.contact_id] = (data.agent_id, now + handle)
            self.later(handle, functools.partial(self._finish, data.contact_id, done))
            again = tenant.comes_back(self.rng, contact.arrival.channel, resolution)
            if again is not None and self.wall() * self.plan.speed + handle + again[0] < self.plan.hours * 3600:
                at = self.wall() * self.plan.speed + handle + again[0]
                repeat = dataclasses.replace(contact.arrival, at=at, patience=again[1])
                self.later(handle + again[0], functools.partial(self._repeat, f"{contact.key}r", repeat))
        elif isinstance(event, OfferSuggested):
            bought = tenant.buys(self.rng, data.offer_id)
            revenue = float(tenant.OFFERS.get(data.offer_id, {}).get("value", 0)) if bought else 0.0
            outcome = OutcomeData(
                suggestion_id=data.suggestion_id,
                offer_id=data.offer_id,
                customer_id=data.customer_id,
                outcome=OutcomeKind.ACCEPTED if bought else OutcomeKind.DECLINED,
                revenue=revenue,
            )
            self.later(HEARD_SECONDS, lambda: self._answer(outcome, data.contact_id))
        elif isinstance(event, NoOfferSuggested) and data.held_out and self.rng.random() < tenant.CONTROL_PURCHASE:
            outcome = OutcomeData(
                suggestion_id=data.suggestion_id,
                offer_id=data.held_out.offer_id,
                customer_id=data.customer_id,
                outcome=OutcomeKind.ACCEPTED,
            )
            self.later(HEARD_SECONDS, lambda: self._publish(SuggestionAnswered, outcome, data.contact_id))

    async def _repeat(self, key: str, arrival: tenant.Arrival) -> None:
        """The customer comes back about the matter the last contact left unresolved."""
        await self._submit(key, arrival)
        self.tally.repeats += 1

    async def _profile(self, contact: _Contact) -> None:
        """A customer's first contact: the CRM fills in what the demo knows of them."""
        customer = self.customers[contact.arrival.customer]
        update = {
            "tier": customer.tier,
            "products": list(customer.products),
            "marketing_consent": customer.marketing_consent,
        }
        answer = await self.request("PATCH", f"{self.urls['intake']}/v1/customers/{contact.customer_id}", json=update)
        if answer.status_code != 200:
            self.errors.append(f"customer profile: {answer.status_code} {answer.text[:200]}")

    async def _leave(self, contact: _Contact) -> None:
        if not contact.assigned and contact.contact_id is not None:
            await self._publish(CustomerLeft, CustomerLeaving(reason="hung up"), contact.contact_id)

    async def _answer(self, outcome: OutcomeData, contact_id: str) -> None:
        await self._publish(SuggestionAnswered, outcome, contact_id)
        self.tally.answered(outcome.outcome is OutcomeKind.ACCEPTED, outcome.revenue)

    async def _publish(self, kind: type[Event], data: Any, contact_id: str | None = None) -> None:
        event = kind.new(
            data=data, tenant=self.plan.tenant, source=SOURCE, occurred_at=datetime.now(UTC), contact_id=contact_id
        )
        await self.producer.enqueue(event)

    # --- the end -----------------------------------------------------------------------------

    def _caught_up(self, kpis: list[dict[str, Any]]) -> bool:
        settled = sum(int(k["answered"]) + int(k["abandoned"]) for k in kpis)
        accepted = sum(int(k["accepted"]) for k in kpis)
        handled = sum(int(k["handled"]) for k in kpis)
        return (
            settled >= self.tally.assigned + self.tally.abandoned
            and handled >= self.tally.completed
            and accepted >= self.tally.bought
        )

    async def records_check(self, since: datetime, *, within: float) -> dict[str, Any]:
        """What the records service says once it has caught up (waiting at most `within` seconds):
        the run's KPIs, and the whole log verified."""
        records = self.urls["records"]
        deadline = time.monotonic() + within
        while True:
            end = datetime.now(UTC) + timedelta(minutes=1)
            midnight = since.replace(hour=0, minute=0, second=0, microsecond=0)  # day buckets start there
            window = {"start": midnight.isoformat(), "end": end.isoformat(), "bucket": "day"}
            answer = await self.request("GET", f"{records}/v1/kpis", params=window)
            kpis: Any = answer.json() if answer.status_code == 200 else {"error": answer.text[:300]}
            if (isinstance(kpis, list) and self._caught_up(kpis)) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        return {"kpis": kpis, "verify": await self._verify_contacts()}

    async def _verify_contacts(self, concurrently: int = 8) -> dict[str, Any]:
        """Every contact of the run proved intact against the signed tree head (its records, their
        leaves, inclusion in the signed tree): work in proportion to the run, not to the store."""
        gate = asyncio.Semaphore(concurrently)
        contact_ids = sorted(c.contact_id for c in self.by_id.values() if c.contact_id is not None)

        async def verify(contact_id: str) -> dict[str, Any]:
            async with gate:
                answer = await self.request("GET", f"{self.urls['records']}/v1/verify/contacts/{contact_id}")
            if answer.status_code != 200:
                return {
                    "intact": False,
                    "findings": [{"problem": f"HTTP {answer.status_code}", "detail": answer.text[:200]}],
                }
            return dict(answer.json())

        results = await asyncio.gather(*(verify(c) for c in contact_ids))
        failed = {c: r.get("findings") for c, r in zip(contact_ids, results, strict=True) if not r.get("intact")}
        last: dict[str, Any] = next((r for r in reversed(results) if r.get("tree_size")), {})
        return {
            "intact": bool(results) and not failed,
            "contacts": len(results),
            "records_checked": sum(int(r.get("records_checked", 0)) for r in results),
            "tree_size": last.get("tree_size"),
            "signed_at": last.get("signed_at"),
            "failed": dict(list(failed.items())[:5]),
        }
