"""Upsell's stream worker: contacts, routing's facts and agents' interest marks in; decisions out.

- One consumer group; inputs are keyed by tenant, and the range assignor gives one worker the same
  partition number of every input topic, so a tenant's contacts, customers and learning live with
  one worker.
- A decision's id is derived from the contact and the moment, and the ledger knows every decision
  made: a record read again after a crash or a rebalance decides nothing twice. Before it decides
  on newly assigned partitions, the worker waits until the ledger has read everything written
  before (the previous owner's decisions included).
- Offsets are committed after the batch's decisions are acknowledged by the broker and its
  contacts are stored: a crash loses nothing, it only repeats.
- What cannot be used goes to the input topic's DLQ with the reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from uuid import UUID, uuid5

import numpy as np
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord, RecordMetadata
from pymongo.errors import PyMongoError

from frontline.contracts import Event, Topic
from frontline.contracts.contacts import ContactReceived
from frontline.contracts.routing import ContactEscalated
from frontline.contracts.upsell import (
    HeldOut,
    NoOfferSuggested,
    NoSuggestionData,
    OfferSuggested,
    SuggestionAnswered,
    SuggestionData,
)
from frontline.plumbing.kafka import EventProducer
from frontline.plumbing.kernel import Door, KeyedWorker, Received
from frontline.plumbing.logging import get_logger
from frontline.plumbing.settings import Settings
from services.upsell.catalogs import Catalogs
from services.upsell.core.decide import UpsellDecision, decide
from services.upsell.core.gates import Situation, UpsellPolicy
from services.upsell.core.ledger import Ledger
from services.upsell.core.moments import ContactFile, Moments
from services.upsell.reader import LedgerReader
from services.upsell.settings import UpsellSettings
from services.upsell.store import UpsellStore

log = get_logger(__name__)
RECEIVED = Topic.CONTACTS_RECEIVED.value
INPUTS = (RECEIVED, Topic.ROUTING_EVENTS.value, Topic.UPSELL_OUTCOMES.value)
DECISIONS = UUID("8f0d2b4e-6c1a-4e57-9a3b-2d1f0c9e7a65")  # namespace of decision ids
Clock = Callable[[], datetime]
LOOK_UP_AFTER = 5.0


def decision_id(tenant: str, contact_id: str, moment: str) -> str:
    """One decision per contact and moment, whichever worker makes it, however often."""
    return str(uuid5(DECISIONS, f"{tenant}|{contact_id}|{moment}"))


class UpsellWorker(KeyedWorker):
    def __init__(
        self,
        settings: Settings,
        upsell: UpsellSettings,
        *,
        reader: LedgerReader,
        store: UpsellStore,
        catalogs: Catalogs,
        producer: EventProducer,
        door: Door,
        clock: Clock,
    ) -> None:
        super().__init__(settings, name="upsell", topics=list(INPUTS), max_batch=upsell.max_batch, door=door)
        self._upsell = upsell
        self._policy: UpsellPolicy = upsell.policy()
        self._reader = reader
        self._ledger: Ledger = reader.ledger
        self._store = store
        self._catalogs = catalogs
        self._producer = producer
        self._clock = clock
        self._rng = np.random.default_rng()
        self.moments = Moments(capacity=upsell.contacts_in_memory)
        self._new_files: list[ContactFile] = []
        # contacts that moments wait for, with the partition and time of the moment: in the store?
        self._look_up: dict[tuple[str, str], tuple[int, int]] = {}
        self._received_upto: dict[int, int] = {}  # partition → latest contact time read
        self._sends: list[asyncio.Future[RecordMetadata]] = []

    async def handle(self, received: list[Received], *, reassigned: bool) -> None:
        if reassigned:
            await self._reader.read_up_to_now()
        # contacts first: an assignment fetched in the same batch as its contact finds it known
        for item in sorted(received, key=lambda item: item.record.topic != RECEIVED):
            assert item.event is not None, "upsell decodes every topic it reads"
            await self._handle(item.record, item.event)
        await self._store.keep_contacts(self._new_files)
        self._new_files = []
        await self._reload_awaited()
        await asyncio.gather(*self._sends)
        self._sends = []

    def forget(self) -> None:
        """A failed batch's contacts are kept again when its messages are handled again; its decisions
        in flight were made once (the ledger knows them) and need not be awaited twice."""
        self._new_files = []
        self._sends = []

    async def _handle(self, record: ConsumerRecord, event: Event) -> None:
        if isinstance(event, SuggestionAnswered):
            problem = self._ledger.problem_with(event)
            if problem is not None and not self._ledger.decided(event.tenant, event.data.suggestion_id):
                await self._reader.read_up_to_now()  # the suggestion may be just written, not yet read
                problem = self._ledger.problem_with(event)
            if problem is not None:
                await self.dead_letter(record, problem)
                return
        elif isinstance(event, ContactReceived):
            self._received_upto[record.partition] = max(record.timestamp, self._received_upto.get(record.partition, 0))
            file = ContactFile.of(event)
            self._new_files.append(file)
            for situation, cause in self.moments.open(file):
                await self._decide(situation, cause)
        else:
            await self._follow(event, record)

    async def _follow(self, event: Event, record: ConsumerRecord) -> None:
        contact_id = event.contact_id
        waiting = self.moments.moment_of(event)
        if waiting is not None and contact_id is not None:
            file = self.moments.known(event.tenant, contact_id)
            if file is None:
                self.moments.wait(event.tenant, contact_id, waiting)  # until read, or found in the store
                self._look_up.setdefault((event.tenant, contact_id), (record.partition, record.timestamp))
            else:
                await self._decide(file.at(waiting.moment, waiting.agent_id, resolved=waiting.resolved), event)
        if isinstance(event, ContactEscalated) and contact_id is not None:
            await self._store.keep_contacts(self._new_files)
            self._new_files = []
            await self._store.escalated(event.tenant, contact_id)
        self.moments.follow(event)

    async def _reload_awaited(self) -> None:
        """A moment whose contact was read before a restart (or left memory) finds it in the store.

        The contact is looked for only once this worker has read the contacts' partition past the
        moment's time (a contact is published before routing assigns it), or to its end with the
        moment waiting for LOOK_UP_AFTER seconds: had the contact been read since the last commit,
        it would be known, so it is stored — and stores answer fast for documents they hold, slowly
        for ones they do not (FerretDB scans)."""
        consumer = self.consumer
        for key, (partition, timestamp) in list(self._look_up.items()):
            if not self.moments.waiting.get(key):
                del self._look_up[key]
                continue
            received = TopicPartition(RECEIVED, partition)
            read_past = self._received_upto.get(partition, -1) >= timestamp
            if not read_past and time.time() * 1000 - timestamp < LOOK_UP_AFTER * 1000:
                continue
            if not read_past and await consumer.position(received) < (consumer.highwater(received) or 0):
                continue
            del self._look_up[key]
            try:
                files = await self._store.contacts([key])
            except PyMongoError as error:  # a scan for a contact the store lacks can outlast the timeout
                log.warning(
                    "contact lookup failed; the moment waits for its contact", contact=key[1], error=repr(error)
                )
                continue
            for file in files:
                for situation, cause in self.moments.open(file):
                    await self._decide(situation, cause)

    async def _decide(self, situation: Situation, cause: Event) -> None:
        tenant = situation.tenant
        made = decision_id(tenant, situation.contact_id, situation.moment)
        if self._ledger.decided(tenant, made):
            return
        catalog = await self._catalogs.of(tenant)
        if catalog.size == 0:
            return  # a tenant without offers does not use upsell
        now = self._clock()
        book = self._ledger.book(tenant)
        history = self._ledger.history(tenant, situation.customer.customer_id, situation.contact_id, now.date())
        decision = decide(situation, catalog, history, book.propensities, self._policy, self._rng, now)
        event = _decision_event(made, situation, decision, cause, now)
        self._ledger.apply(event)
        self._sends.append(await self._producer.enqueue(event))


def _decision_event(
    made: str, situation: Situation, decision: UpsellDecision, cause: Event, now: datetime
) -> OfferSuggested | NoOfferSuggested:
    event: OfferSuggested | NoOfferSuggested
    if decision.choice is not None:
        choice = decision.choice
        script, language = choice.offer.script_in(situation.language)
        assert situation.agent_id is not None
        event = cause.caused(
            OfferSuggested,
            data=SuggestionData(
                suggestion_id=made,
                contact_id=situation.contact_id,
                agent_id=situation.agent_id,
                customer_id=situation.customer.customer_id,
                offer_id=choice.offer.offer_id,
                offer_version=choice.offer.version,
                moment=situation.moment,
                script=script,
                language=language,
                reasons=choice.reasons,
                propensity=choice.propensity,
                choice_probability=choice.choice_probability,
                score=choice.score,
                segment=choice.segment,
                candidates=choice.candidates,
            ),
            source="upsell",
            occurred_at=now,
            contact_id=situation.contact_id,
        )
    else:
        held = decision.held_out
        withheld = (
            HeldOut(offer_id=held.offer.offer_id, offer_version=held.offer.version, propensity=held.propensity)
            if held is not None
            else None
        )
        event = cause.caused(
            NoOfferSuggested,
            data=NoSuggestionData(
                suggestion_id=made,
                contact_id=situation.contact_id,
                agent_id=situation.agent_id,
                customer_id=situation.customer.customer_id,
                moment=situation.moment,
                reasons=decision.closed,
                excluded=decision.excluded,
                held_out=withheld,
            ),
            source="upsell",
            occurred_at=now,
            contact_id=situation.contact_id,
        )
    return event.model_copy(update={"id": UUID(made)})
