"""Training in the background: a tenant whose examples changed gets a new model version, trained in a
process of its own (the event loop keeps classifying), stored with its evaluation, and made live only
when it beats what classifies now.

One process trains a tenant at a time: it takes a lease on the tenant, so a second intake replica
leaves it alone, and a process killed mid-training leaves a lease that runs out, after which the
training is done again (examples are never lost: they are stored before anyone is told of them).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from frontline.plumbing.kernel import caused_by_infrastructure, reason_of
from frontline.plumbing.logging import get_logger
from services.intake.core.examples import ExampleIn
from services.intake.core.learned import (
    MAX_TRAINING_EXAMPLES,
    Candidate,
    ConcernModel,
    model_languages,
    train_candidate,
    training_set,
)
from services.intake.core.learning import Evaluation, IntentModel, TooFewExamples
from services.intake.core.taxonomy import Taxonomy
from services.intake.service import Classifiers
from services.intake.store import CONFUSIONS_KEPT, ContactStore, ModelStore

log = get_logger(__name__)
Live = tuple[bytes, dict[str, str]]  # a live model's bytes and its label → concern map
Train = Callable[[list[ExampleIn], Taxonomy, Live | None], Awaitable[Candidate]]


def train_from(examples: list[ExampleIn], taxonomy: Taxonomy, live: Live | None) -> Candidate:
    """`train_candidate` from what crosses a process boundary cheaply: the live model as stored."""
    model = ConcernModel(IntentModel.from_bytes(live[0]), live[1], version=0) if live else None
    return train_candidate(examples, taxonomy, model)


def _limit_memory(max_bytes: int) -> None:
    """In the training process: allocations beyond `max_bytes` raise MemoryError there, so a tenant's
    too-large training fails with a reason instead of the pod's whole memory going."""
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))


class TrainingProcess:
    """Runs trainings one at a time in a child process held to `max_bytes` of memory; a child that
    dies (killed) is replaced, and that training reported as failed."""

    def __init__(self, *, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_limit_memory,
            initargs=(self._max_bytes,),
        )

    async def __call__(self, examples: list[ExampleIn], taxonomy: Taxonomy, live: Live | None) -> Candidate:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, train_from, examples, taxonomy, live)
        except BrokenProcessPool:
            self._pool = self._new_pool()
            raise RuntimeError("the training process died") from None
        except MemoryError:
            limit = f"{self._max_bytes / 2**30:.2f} GiB"
            raise MemoryError(
                f"the training needs more than {limit} (FRONTLINE_INTAKE_TRAINING_MAX_MEMORY_BYTES)"
            ) from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class Trained:
    tenant: str
    outcome: dict[str, Any]


class Trainer:
    """Trains the tenants whose examples changed: at once after an upload, else at most once per
    `pause` (agents' corrections arrive all day); keeps the bytes of the newest `keep` versions and
    the live one."""

    def __init__(
        self,
        *,
        store: ContactStore,
        models: ModelStore,
        classifiers: Classifiers,
        train: Train,
        lease: timedelta,
        pause: timedelta,
        keep: int,
        clock: Callable[[], datetime],
        written_in: Callable[[str], str | None],
    ) -> None:
        self._store, self._models, self._classifiers = store, models, classifiers
        self._written_in = written_in
        self._train, self._lease, self._pause, self._keep, self._clock = train, lease, pause, keep, clock

    async def round(self) -> list[Trained]:
        """Trains every tenant waiting whose lease this process takes; what came of each."""
        done = []
        for tenant in await self._models.claim(now=self._clock(), lease=self._lease):
            started = self._clock()
            try:
                outcome = await self._trained(tenant, started)
            except Exception as error:  # one tenant's failure is its own: recorded, the others go on
                if caused_by_infrastructure(error):
                    raise
                log.error("training failed", tenant=tenant, error=reason_of(error))
                outcome = {"at": started, "outcome": "failed", "reason": reason_of(error)}
            await self._models.trained(tenant, outcome, next_after=self._clock() + self._pause)
            self._classifiers.forget(tenant)
            log.info("concern model trained", tenant=tenant, **{k: v for k, v in outcome.items() if k != "at"})
            done.append(Trained(tenant, outcome))
        return done

    async def _trained(self, tenant: str, started: datetime) -> dict[str, Any]:
        # CPU work on up to 200,000 examples and a live model's arrays: away from the event loop
        examples = await asyncio.to_thread(training_set, await self._newest_first(tenant))
        base = {"at": started, "examples": len(examples)}
        live = await self._classifiers.live(tenant)  # None too when the live version cannot be read
        live_bytes = await asyncio.to_thread(live.model.to_bytes) if live else None
        try:
            candidate = await self._train(
                examples,
                await self._classifiers.taxonomy(tenant),
                (live_bytes, live.concerns) if live and live_bytes else None,
            )
        except TooFewExamples as few:
            return base | {"outcome": "not trained", "reason": str(few)}
        languages = await asyncio.to_thread(model_languages, examples, written_in=self._written_in)
        promote = candidate.verdict.promote
        version = await self._models.save(
            tenant, candidate.model, summary(candidate, started, languages), live=promote, now=self._clock()
        )
        await self._models.prune(tenant, keep=self._keep)
        await self._models.prune_corrections(tenant, keep=MAX_TRAINING_EXAMPLES)
        return base | {
            "outcome": "promoted" if promote else "kept",
            "version": version,
            "reason": candidate.verdict.reason,
        }

    async def _newest_first(self, tenant: str) -> list[ExampleIn]:
        """Agents' corrections, then the uploads, newest first, as many as a training takes."""
        examples = await self._models.corrections(tenant, limit=MAX_TRAINING_EXAMPLES)
        for kept in reversed(await self._store.example_sets(tenant)):
            if len(examples) >= MAX_TRAINING_EXAMPLES:
                break
            chunks = [chunk async for chunk in self._store.examples(tenant, kept)]
            examples += [example for chunk in reversed(chunks) for example in reversed(chunk)]
        return examples


def summary(candidate: Candidate, trained_at: datetime, languages: list[str]) -> dict[str, Any]:
    """What is kept of a version beside its bytes, and shown by `GET /v1/models`."""
    return {
        "trained_at": trained_at,
        "trained_on": candidate.trained_on,
        "held_back": candidate.labels.examples,
        "labels": len(candidate.concerns),
        "bytes": len(candidate.model),
        "seconds": candidate.seconds,
        "promoted": candidate.verdict.promote,
        "reason": candidate.verdict.reason,
        "evaluation": _evaluation(candidate.labels),
        "concern_evaluation": _evaluation(candidate.concern),
        "live_concern_macro_f1": round(candidate.live.macro_f1, 4) if candidate.live else None,
        "keywords_concern_macro_f1": round(candidate.keywords.macro_f1, 4),
        "concerns": candidate.concerns,
        "languages": languages,
    }


def _evaluation(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "examples": evaluation.examples,
        "accuracy": round(evaluation.accuracy, 4),
        "macro_f1": round(evaluation.macro_f1, 4),
        "log_loss": evaluation.log_loss,
        "f1_by_label": [{"label": label, "f1": f1} for label, f1 in evaluation.f1_by_label.items()],
        "confusions": [
            {"labelled": labelled, "predicted": predicted, "count": count}
            for labelled, predicted, count in evaluation.confusions[:CONFUSIONS_KEPT]
        ],
    }
