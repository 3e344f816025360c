"""A tenant's concern model: training a version from its labelled examples, measuring it against
what classifies now, and classifying with it once it is live; no I/O.

A model learns labels — a tenant's intents where its examples name them, else its concerns — and
each label maps to a concern of the tenant's taxonomy, whose skills routing asks for. Examples
name the concern beside the intent, or the taxonomy's `intents` map it; a label that is itself a
concern maps to that concern; anything else to the fallback.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from frontline.contracts.contacts import ConcernGuess, IntentGuess
from services.intake.core.examples import ExampleIn
from services.intake.core.learning import (
    Evaluation,
    IntentModel,
    Labelled,
    Verdict,
    evaluate,
    hold_back,
    log_loss,
    score,
    train,
    verdict,
)
from services.intake.core.taxonomy import Classification, Classifier, Taxonomy

MAX_TRAINING_EXAMPLES = 200_000  # the newest are kept: bounds a training run's memory and time
LANGUAGE_SAMPLE = 2_000  # examples whose language is read to know a model's languages
LANGUAGE_SHARE = 0.02  # a language is learned when at least this share of the sample is in it


def model_text(subject: str | None, text: str) -> str:
    """What a model reads of a contact: its subject, if any, and its text."""
    return f"{subject}\n{text}" if subject else text


def label_of(example: ExampleIn) -> str:
    label = example.intent or example.concern
    assert label is not None  # ExampleIn requires one
    return label


def training_set(newest_first: Iterable[ExampleIn], *, limit: int = MAX_TRAINING_EXAMPLES) -> list[ExampleIn]:
    """The examples a version learns from: for a text given more than once, the newest label (an
    agent's correction overrides an older upload); at most `limit`, the newest."""
    chosen: dict[str, ExampleIn] = {}
    for example in newest_first:
        key = " ".join(example.text.split()).casefold()
        if key not in chosen:
            chosen[key] = example
            if len(chosen) >= limit:
                break
    return list(reversed(chosen.values()))


def concern_map(examples: Iterable[ExampleIn], taxonomy: Taxonomy) -> dict[str, str]:
    """Each label's concern: the one its examples name most often, else the taxonomy's."""
    named: defaultdict[str, Counter[str]] = defaultdict(Counter)
    labels = set()
    for example in examples:
        label = label_of(example)
        labels.add(label)
        if example.concern is not None:
            named[label][example.concern] += 1
    return {
        label: named[label].most_common(1)[0][0] if named[label] else concern_of(label, taxonomy) for label in labels
    }


def concern_of(label: str, taxonomy: Taxonomy) -> str:
    codes = {concern.code for concern in taxonomy.concerns}
    return taxonomy.intents.get(label) or (label if label in codes else taxonomy.fallback)


def model_languages(examples: list[ExampleIn], *, written_in: Callable[[str], str | None]) -> list[str]:
    """The languages a model learns from these examples: each named by at least LANGUAGE_SHARE of
    an even sample of them (an example's own language, else the one its text is written in; texts
    too short to tell are left out)."""
    step = max(1, len(examples) // LANGUAGE_SAMPLE)
    found = Counter(example.language or written_in(example.text) for example in examples[::step])
    found.pop(None, None)
    total = sum(found.values())
    return sorted(language for language, n in found.items() if language and n >= LANGUAGE_SHARE * total)


class ConcernModel:
    """A live model version: the intent it reads and the concern that follows, with confidences;
    `languages` are those it learned (None: not known, as for versions stored before they were)."""

    def __init__(
        self, model: IntentModel, concerns: dict[str, str], *, version: int, languages: list[str] | None = None
    ) -> None:
        self.model, self.concerns, self.version = model, concerns, version
        self.languages = None if languages is None else frozenset(languages)
        self._concern_of = [concerns.get(label, "") for label in model.labels]
        self._codes = sorted(set(self._concern_of))
        index = {code: i for i, code in enumerate(self._codes)}
        self._to_concern = np.zeros((len(model.labels), len(self._codes)))
        for row, code in enumerate(self._concern_of):
            self._to_concern[row, index[code]] = 1.0

    def concern(self, text: str) -> tuple[IntentGuess, ConcernGuess]:
        """The likeliest intent, and the likeliest concern with the summed probability of its intents."""
        intent, guess, _ = self.judged(text, None)
        return intent, guess

    def judged(self, text: str, truth: str | None) -> tuple[IntentGuess, ConcernGuess, float]:
        """`concern(text)`, and the summed probability it gives the concern `truth` (0 for a concern
        it never learned), from one scoring of the text."""
        probabilities = self.model.probabilities(text)
        best = int(np.argmax(probabilities))
        by_concern = probabilities @ self._to_concern
        top = int(np.argmax(by_concern))
        given = float(by_concern[self._codes.index(truth)]) if truth in self._codes else 0.0
        return (
            IntentGuess(code=self.model.labels[best], confidence=round(float(probabilities[best]), 4)),
            ConcernGuess(code=self._codes[top], confidence=round(min(1.0, float(by_concern[top])), 4)),
            given,
        )


class LearnedClassifier:
    """Classifies with a tenant's live model; below `unsure_below` the contact goes to the
    taxonomy's fallback concern, flagged unsure, its intent still named. A contact written in a
    language the model did not learn is classified by the taxonomy's keywords instead."""

    def __init__(self, model: ConcernModel, taxonomy: Taxonomy, *, unsure_below: float) -> None:
        self.model, self.taxonomy, self.unsure_below = model, taxonomy, unsure_below
        self._codes = {concern.code for concern in taxonomy.concerns}
        self._keywords = Classifier(taxonomy)

    def classify(self, *, subject: str | None, text: str, language: str | None = None) -> Classification:
        learned = self.model.languages
        if language is not None and learned is not None and language not in learned:
            return self._keywords.classify(subject=subject, text=text, language=language)
        intent, guess = self.model.concern(model_text(subject, text))
        unsure = guess.confidence < self.unsure_below or guess.code not in self._codes
        code = self.taxonomy.fallback if unsure else guess.code
        return Classification(
            ConcernGuess(code=code, confidence=guess.confidence),
            list(self.taxonomy.concern(code).skills),
            {guess.code: guess.confidence},
            intent=intent,
            unsure=unsure,
            model_version=self.model.version,
        )


@dataclass(frozen=True)
class Candidate:
    """A trained version and how it did on the held-back examples, beside its rivals there."""

    model: bytes
    concerns: dict[str, str]  # label → concern
    trained_on: int
    labels: Evaluation  # intents (or whatever the examples name), as learned
    concern: Evaluation  # the concerns that follow, what routing acts on
    live: Evaluation | None  # the live model's concerns on the same examples
    keywords: Evaluation  # the keyword taxonomy's concerns on the same examples
    verdict: Verdict
    seconds: float


def train_candidate(examples: list[ExampleIn], taxonomy: Taxonomy, live: ConcernModel | None) -> Candidate:
    """Trains on all but the held-back examples and measures the result, the live model and the
    keywords on those (CPU-bound: run it away from the event loop). Raises TooFewExamples."""
    started = time.perf_counter()
    concerns = concern_map(examples, taxonomy)
    training, held = hold_back([Labelled(example.text, label_of(example)) for example in examples])
    model = train(training)
    texts = [example.text for example in held]
    truth = [concerns[example.label] for example in held]

    def concerns_by(model: ConcernModel) -> Evaluation:
        judged = [model.judged(text, true) for text, true in zip(texts, truth, strict=True)]
        evaluation = score(truth, [guess.code for _, guess, _ in judged])
        return replace(evaluation, log_loss=round(log_loss([given for _, _, given in judged]), 6))

    keywords = Classifier(taxonomy)
    concern = concerns_by(ConcernModel(model, concerns, version=0))
    live_score = concerns_by(live) if live is not None else None
    keyword_score = score(truth, [keywords.classify(subject=None, text=text).guess.code for text in texts])
    return Candidate(
        model=model.to_bytes(),
        concerns=concerns,
        trained_on=len(training),
        labels=evaluate(model, held),
        concern=concern,
        live=live_score,
        keywords=keyword_score,
        verdict=verdict(concern, live_score, keyword_score),
        seconds=round(time.perf_counter() - started, 3),
    )
