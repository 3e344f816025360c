"""The trainer's use case against in-memory repositories with the stores' contracts (the real ones
run in tests/integration/test_intake_learning.py): a tenant waiting is trained, stored and promoted
only when the new version beats what runs; one tenant's failure is recorded and the others go on."""

from __future__ import annotations

import asyncio
import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake.core.examples import ExampleIn
from services.intake.core.learned import MAX_TRAINING_EXAMPLES, LearnedClassifier
from services.intake.core.taxonomy import Classifier
from services.intake.service import Classifiers
from services.intake.store import ExampleSet
from services.intake.taxonomy import default_taxonomy
from services.intake.training import Trainer, TrainingProcess, train_from
from tests.unit.intake.test_learning import CARDS, PASSCODES, REFUNDS

NOW = datetime(2026, 12, 6, 9, tzinfo=UTC)


def history(*labels: tuple[list[str], str]) -> list[ExampleIn]:
    return [
        ExampleIn(text=f"{text} {suffix}", concern=concern)
        for texts, concern in labels
        for text in texts
        for suffix in ("", "please", "today", "now", "thanks")
    ]


class Examples:
    """The ContactStore's example-set contract."""

    def __init__(self, sets: dict[str, list[list[ExampleIn]]]) -> None:
        self.sets = sets

    async def example_sets(self, tenant: str) -> list[ExampleSet]:
        return [
            ExampleSet(version=i + 1, examples=len(s), intents=0, concerns=0, by="x", stored_at=NOW, documents=1)
            for i, s in enumerate(self.sets.get(tenant, []))
        ]

    async def examples(self, tenant: str, kept: ExampleSet):
        yield self.sets[tenant][kept.version - 1]


class Models:
    """The ModelStore contract, in dicts."""

    def __init__(self, waiting: list[str]) -> None:
        self.waiting = set(waiting)
        self.live_versions: dict[str, int] = {}
        self.saved: dict[str, list[tuple[bytes, dict[str, Any]]]] = {}
        self.outcomes: dict[str, dict[str, Any]] = {}
        self.corrected: dict[str, list[ExampleIn]] = {}

    async def claim(self, *, now: datetime, lease: timedelta) -> list[str]:
        claimed, self.waiting = sorted(self.waiting), set()
        return claimed

    async def trained(self, tenant: str, outcome: dict[str, Any], *, next_after: datetime) -> None:
        self.outcomes[tenant] = outcome
        self.next_after = next_after

    async def live(self, tenant: str) -> int | None:
        return self.live_versions.get(tenant)

    async def corrections(self, tenant: str, *, limit: int) -> list[ExampleIn]:
        return list(reversed(self.corrected.get(tenant, [])))[:limit]

    async def model(self, tenant: str, version: int) -> tuple[bytes, dict[str, Any]] | None:
        return self.saved[tenant][version - 1]

    async def save(self, tenant: str, model: bytes, summary: dict[str, Any], *, live: bool, now: datetime) -> int:
        self.saved.setdefault(tenant, []).append((model, summary))
        version = len(self.saved[tenant])
        if live:
            self.live_versions[tenant] = version
        return version

    async def prune(self, tenant: str, *, keep: int) -> list[int]:
        self.kept = keep
        return []

    async def prune_corrections(self, tenant: str, *, keep: int) -> int:
        self.corrections_kept = keep
        return 0


async def train_here(examples, taxonomy, live):
    return train_from(examples, taxonomy, live)


class NoTaxonomy:
    async def taxonomy(self, tenant: str) -> None:
        return None


def classifiers_of(models: Models) -> Classifiers:
    return Classifiers(
        NoTaxonomy(),  # type: ignore[arg-type]
        models,  # type: ignore[arg-type]
        cache_seconds=3600,
        unsure_below=0.5,
        in_memory=2,
    )


def trainer(examples: Examples, models: Models, classifiers: Classifiers | None = None) -> Trainer:
    return Trainer(
        store=examples,  # type: ignore[arg-type]
        models=models,  # type: ignore[arg-type]
        classifiers=classifiers or classifiers_of(models),
        train=train_here,
        lease=timedelta(minutes=30),
        pause=timedelta(hours=1),
        keep=3,
        clock=lambda: NOW,
        written_in=lambda text: "en",
    )


async def test_a_waiting_tenant_is_trained_promoted_and_its_classifier_reloaded() -> None:
    uploads = Examples({"acme": [history((CARDS, "orders_delivery"), (REFUNDS, "returns_refunds"))]})
    models = Models(["acme"])
    classifiers = classifiers_of(models)
    assert isinstance(await classifiers.classifier("acme"), Classifier)  # cached for an hour
    [done] = await trainer(uploads, models, classifiers).round()
    assert (done.tenant, done.outcome["outcome"], done.outcome["version"]) == ("acme", "promoted", 1)
    assert done.outcome["examples"] == 60
    assert models.live_versions == {"acme": 1}
    assert not models.waiting
    assert isinstance(await classifiers.classifier("acme"), LearnedClassifier)  # the cache was told
    assert (models.next_after, models.kept) == (NOW + timedelta(hours=1), 3)
    assert models.corrections_kept == MAX_TRAINING_EXAMPLES  # what a training reads; older ones go
    summary = models.saved["acme"][0][1]
    assert summary["trained_on"] + summary["held_back"] == 60
    assert summary["concerns"] == {"orders_delivery": "orders_delivery", "returns_refunds": "returns_refunds"}
    assert summary["languages"] == ["en"]


async def test_the_same_examples_again_do_not_replace_the_live_version() -> None:
    uploads = Examples({"acme": [history((CARDS, "orders_delivery"), (REFUNDS, "returns_refunds"))]})
    models = Models(["acme"])
    await trainer(uploads, models).round()
    models.waiting = {"acme"}
    [again] = await trainer(uploads, models).round()
    assert again.outcome["outcome"] == "kept"
    assert models.live_versions == {"acme": 1}
    assert len(models.saved["acme"]) == 2


async def test_an_agents_correction_overrides_the_history_for_the_same_text() -> None:
    uploads = Examples({"acme": [history((CARDS, "orders_delivery"), (PASSCODES, "account_access"))]})
    models = Models(["acme"])
    corrected = f"{CARDS[0]} please"
    models.corrected["acme"] = [ExampleIn(text=corrected, concern="account_access")]
    [done] = await trainer(uploads, models).round()
    assert done.outcome["examples"] == 60  # the corrected text counted once, with the agent's label


async def test_too_few_labels_and_a_failure_are_recorded_and_the_next_tenant_is_still_trained() -> None:
    broken = ExampleIn.model_construct(text=None, intent=None, concern=None)  # what a damaged store might hold
    uploads = Examples(
        {
            "one": [history((CARDS, "orders_delivery"))],
            "bad": [[broken]],
            "acme": [history((CARDS, "orders_delivery"), (REFUNDS, "returns_refunds"))],
        }
    )
    models = Models(["one", "bad", "acme"])
    outcomes = {done.tenant: done.outcome for done in await trainer(uploads, models).round()}
    assert outcomes["one"]["outcome"] == "not trained"
    assert "at least two labels" in outcomes["one"]["reason"]
    assert outcomes["bad"]["outcome"] == "failed"
    assert outcomes["acme"]["outcome"] == "promoted"
    assert not models.waiting


def test_a_training_beyond_the_memory_limit_fails_with_the_reason_and_the_next_one_trains() -> None:
    draw = random.Random(1)
    words = ["".join(draw.choices(string.ascii_lowercase, k=8)) for _ in range(50_000)]
    huge = [
        ExampleIn(text=" ".join(draw.choices(words, k=60)), concern=draw.choice(["billing", "orders_delivery"]))
        for _ in range(60_000)
    ]
    small = history((CARDS, "orders_delivery"), (REFUNDS, "returns_refunds"))
    process = TrainingProcess(max_bytes=1024**3)

    async def both() -> None:
        with pytest.raises(MemoryError, match="TRAINING_MAX_MEMORY_BYTES"):
            await process(huge, default_taxonomy(), None)
        assert (await process(small, default_taxonomy(), None)).verdict.promote

    try:
        asyncio.run(both())
    finally:
        process.close()


async def test_a_live_model_that_cannot_be_read_leaves_the_tenant_on_its_keywords() -> None:
    models = Models([])
    models.live_versions["acme"] = 1
    models.saved["acme"] = [(b"not a model", {"concerns": {}})]
    classifiers = classifiers_of(models)
    assert isinstance(await classifiers.classifier("acme"), Classifier)

    uploads = Examples({"acme": [history((CARDS, "orders_delivery"), (REFUNDS, "returns_refunds"))]})
    models.waiting = {"acme"}
    [done] = await trainer(uploads, models, classifiers).round()
    assert "beats the keyword taxonomy's" in done.outcome["reason"]  # the unreadable live model is no rival
    learned = await classifiers.classifier("acme")
    assert isinstance(learned, LearnedClassifier)
    assert learned.classify(subject=None, text="my card never came").guess.code == "orders_delivery"
