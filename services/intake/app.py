"""The intake service's process: the REST and Kafka doors onto one `Intake`, its republisher, the
agents' corrections worker and the background trainer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from frontline.plumbing.batching import Coalescer
from frontline.plumbing.kernel import caused_by_infrastructure, reason_of
from frontline.plumbing.logging import get_logger
from frontline.plumbing.service import Runtime, create_service, stop_each
from frontline.plumbing.settings import Settings
from services.intake.api import router
from services.intake.core.language import detect, written_in
from services.intake.language_detector import LinguaDetector
from services.intake.service import Classifiers, Intake, Outcome, Submission
from services.intake.settings import IntakeSettings, get_intake_settings
from services.intake.store import ContactStore, ModelStore
from services.intake.training import Trainer, TrainingProcess
from services.intake.worker import CorrectionsWorker, InboundWorker

DEFAULT_PORT = 8001
log = get_logger(__name__)


class Components:
    """What the routes and the workers share; built when the service starts."""

    store: ContactStore
    models: ModelStore
    classifiers: Classifiers
    intake: Intake
    rest: Coalescer[Submission, Outcome]
    worker: InboundWorker
    corrections: CorrectionsWorker
    trainer: Trainer

    def __init__(self, settings: IntakeSettings) -> None:
        self.settings = settings
        self.admission = asyncio.Semaphore(settings.rest_max_in_flight)
        self._republisher: asyncio.Task[None] | None = None
        self._training: asyncio.Task[None] | None = None
        self._process = TrainingProcess(max_bytes=settings.training_max_memory_bytes)

    async def setup(self, runtime: Runtime) -> None:
        self.store, self.models = ContactStore(runtime.db), ModelStore(runtime.db)
        self.classifiers = Classifiers(
            self.store,
            self.models,
            cache_seconds=self.settings.taxonomy_cache_seconds,
            unsure_below=self.settings.unsure_below,
            in_memory=self.settings.models_in_memory,
        )
        detector = LinguaDetector()
        self.intake = Intake(
            store=self.store,
            classifiers=self.classifiers,
            detector=detector,
            publish=runtime.producer.publish,
            clock=lambda: datetime.now(UTC),
            region=self.settings.default_region,
            stale_after=timedelta(seconds=self.settings.republish_after_seconds),
        )
        self.rest = Coalescer(self.intake.accept_many, max_batch=self.settings.max_batch)
        self.worker = InboundWorker(
            runtime.settings, intake=self.intake, max_batch=self.settings.max_batch, door=runtime.door("intake")
        )
        self.corrections = CorrectionsWorker(
            runtime.settings,
            store=self.store,
            models=self.models,
            max_batch=self.settings.max_batch,
            door=runtime.door("intake-learning"),
        )
        self.trainer = Trainer(
            store=self.store,
            models=self.models,
            classifiers=self.classifiers,
            train=self._process,
            lease=timedelta(seconds=self.settings.training_lease_seconds),
            pause=timedelta(seconds=self.settings.training_pause_seconds),
            keep=self.settings.models_kept,
            clock=lambda: datetime.now(UTC),
            written_in=lambda text: written_in(detect(text, detector=detector), hint=None),
        )
        await self.worker.start()
        await self.corrections.start()
        self._republisher = asyncio.create_task(self._republish(), name="intake-republisher")
        self._training = asyncio.create_task(self._train(), name="intake-trainer")
        runtime.supervise(
            {"intake_worker": self.worker.ready, "intake_learning_worker": self.corrections.ready},
            self.worker.task,
            self.corrections.task,
            self._republisher,
            self._training,
        )

    async def teardown(self, runtime: Runtime) -> None:
        async def tasks() -> None:
            for task in (self._republisher, self._training):
                if task is not None:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            self._process.close()

        await stop_each(
            [("worker", self.worker.stop), ("corrections", self.corrections.stop), ("tasks", tasks)],
            seconds=runtime.settings.shutdown_grace_seconds,
        )

    async def _republish(self) -> None:
        """Finishes what a crash left in the outbox."""
        await _every(self.settings.republish_after_seconds, self.intake.republish_pending, "republishing")

    async def _train(self) -> None:
        """Trains the tenants whose examples changed (a training cut short by an outage is done
        again once its lease runs out)."""
        await _every(self.settings.training_poll_seconds, self.trainer.round, "training")


async def _every(seconds: float, run: Callable[[], Awaitable[object]], what: str) -> None:
    """Runs `run` every `seconds`; an outage is waited out until the next round, anything else stops
    the process (supervised)."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await run()
        except Exception as error:
            if not caused_by_infrastructure(error):
                raise
            log.warning(f"{what} waits for the store and broker", error=reason_of(error))


def create(settings: Settings) -> FastAPI:
    parts = Components(get_intake_settings())
    return create_service(
        service="intake",
        settings=settings,
        routers=[router(parts)],
        setup=parts.setup,
        teardown=parts.teardown,
        larger_bodies={"/v1/training-examples": parts.settings.training_max_body_bytes},
    )
