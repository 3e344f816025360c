"""A tenant's intent model, learned from labelled examples; no I/O.

Features are TF-IDF weights of words (one and two in a row) and of character runs of two to five
inside words, so no language needs its own tokeniser: a language written without spaces still has
its character runs, and a misspelt or inflected word still shares most of them with the right one.
A linear model (multinomial logistic regression, scikit-learn) scores every intent; its probability
is the confidence a contact is routed on. The design and the measured alternatives are in
docs/design/classifier.md.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_union

WORDS = r"(?u)\b\w+\b"
STRENGTH = 20.0  # inverse regularisation: chosen by cross-validation (docs/design/classifier.md)
ALTERNATIVES = 3


@dataclass(frozen=True)
class Labelled:
    text: str
    label: str


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]  # the next most likely labels, best first


@dataclass(frozen=True)
class Evaluation:
    """How a model did on examples it was not trained on."""

    examples: int
    accuracy: float
    macro_f1: float
    f1_by_label: dict[str, float]
    confusions: tuple[tuple[str, str, int], ...]  # (labelled, predicted, count), most frequent first


class TooFewExamples(ValueError):
    """Training needs at least two labels, each with an example."""


class IntentModel:
    """Scores the labels it was trained on; built by `train`, safe to share between tasks.

    A text is scored by the fitted pipeline's own analysers, vocabularies, IDF weights and
    coefficients, without scikit-learn's per-call checks, which cost ten times the arithmetic for
    one text (tests hold it equal to the pipeline's `predict_proba`)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.labels: tuple[str, ...] = tuple(str(label) for label in pipeline.classes_)
        self._parts = []
        offset = 0
        for _, vectorizer in pipeline.named_steps["features"].transformer_list:
            self._parts.append((vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_, offset))
            offset += len(vectorizer.vocabulary_)
        model = pipeline.named_steps["model"]
        weights, intercept = model.coef_.T, model.intercept_
        if len(self.labels) == 2:  # one score z for the second label: softmax of (0, z) is its sigmoid
            weights = np.hstack([np.zeros_like(weights), weights])
            intercept = np.concatenate([[0.0], intercept])
        self._weights = np.ascontiguousarray(weights)
        self._intercept = intercept

    def probabilities(self, text: str) -> np.ndarray:
        """The probability of each of `labels` for `text`."""
        scores = self._intercept.copy()
        for analyse, vocabulary, idf, offset in self._parts:
            counts = Counter(i for term in analyse(text) if (i := vocabulary.get(term)) is not None)
            if not counts:
                continue
            index = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))) * idf[index]
            scores += (values / np.linalg.norm(values)) @ self._weights[index + offset]
        exp = np.exp(scores - scores.max())
        probabilities: np.ndarray = exp / exp.sum()
        return probabilities

    def predict(self, text: str) -> Prediction:
        row = self.probabilities(text)
        order = np.argsort(row)[::-1][: ALTERNATIVES + 1]
        ranked = [(self.labels[i], round(float(row[i]), 4)) for i in order]
        return Prediction(ranked[0][0], ranked[0][1], tuple(ranked[1:]))

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        return [self.predict(text) for text in texts]


def train(examples: Sequence[Labelled]) -> IntentModel:
    """A model of `examples`; deterministic for the same examples in the same order."""
    labels = {example.label for example in examples}
    if len(labels) < 2:
        raise TooFewExamples(f"training needs examples of at least two labels, got {len(labels)}")
    features = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=WORDS, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )
    pipeline = Pipeline([("features", features), ("model", LogisticRegression(C=STRENGTH, max_iter=1000))])
    pipeline.fit([example.text for example in examples], [example.label for example in examples])
    return IntentModel(pipeline)


def evaluate(model: IntentModel, held_back: Sequence[Labelled]) -> Evaluation:
    truth = [example.label for example in held_back]
    predicted = [prediction.label for prediction in model.predict_many([example.text for example in held_back])]
    return score(truth, predicted)


def score(truth: Sequence[str], predicted: Sequence[str]) -> Evaluation:
    """Accuracy, macro-F1 over the labels in `truth`, F1 per label and the confusions."""
    labels = sorted(set(truth))
    per_label = f1_score(truth, predicted, labels=labels, average=None, zero_division=0.0)
    confusions = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    return Evaluation(
        examples=len(truth),
        accuracy=sum(t == p for t, p in zip(truth, predicted, strict=True)) / max(1, len(truth)),
        macro_f1=float(np.mean(per_label)) if labels else 0.0,
        f1_by_label={label: round(float(f1), 4) for label, f1 in zip(labels, per_label, strict=True)},
        confusions=tuple((t, p, n) for (t, p), n in confusions.most_common()),
    )


def held_back(text: str, share: float) -> bool:
    """Whether an example belongs to the held-back slice. Decided by its text alone, so every model
    version of a tenant is checked on the same examples, none is trained on them, and a text given
    twice stays on one side."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") < share * 2**64


def hold_back(examples: Sequence[Labelled], *, share: float = 0.2) -> tuple[list[Labelled], list[Labelled]]:
    """Training and held-back examples; a label none of whose examples would be trained on is
    trained on all of them and not checked (it cannot be both learned and checked)."""
    training = [example for example in examples if not held_back(example.text, share)]
    learned = {example.label for example in training}
    held = [example for example in examples if held_back(example.text, share)]
    return (
        [*training, *(example for example in held if example.label not in learned)],
        [example for example in held if example.label in learned],
    )


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reason: str


def verdict(candidate: Evaluation, live: Evaluation | None, keywords: Evaluation) -> Verdict:
    """Whether a new model version replaces what classifies now. All three are scored on the same
    held-back examples by concern macro-F1, what routing acts on; the candidate must beat the
    better of the live model and the keyword taxonomy (a tie keeps what runs)."""
    if candidate.examples == 0:
        return Verdict(False, "no held-back examples to check it on")
    rivals = [(keywords, "the keyword taxonomy"), *([(live, "the live model")] if live is not None else [])]
    rival, name = max(rivals, key=lambda pair: pair[0].macro_f1)
    if candidate.macro_f1 > rival.macro_f1:
        return Verdict(True, f"macro-F1 {candidate.macro_f1:.3f} beats {name}'s {rival.macro_f1:.3f}")
    return Verdict(False, f"macro-F1 {candidate.macro_f1:.3f} does not beat {name}'s {rival.macro_f1:.3f}")


def cross_predict(
    examples: Sequence[Labelled], *, folds: int = 5, seed: int = 0, limit: int | None = None
) -> list[tuple[int, str]]:
    """Stratified k-fold: each example's fold and the label a model trained on the other folds
    gives it; with `limit`, each model learns from at most that many examples per label."""
    texts = [example.text for example in examples]
    labels = [example.label for example in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted: list[tuple[int, str]] = [(0, "")] * len(examples)
    for fold, (training, held) in enumerate(splitter.split(texts, labels)):
        learn = [examples[i] for i in training]
        model = train(learn if limit is None else per_label(learn, limit, seed=seed + fold))
        for i, prediction in zip(held, model.predict_many([texts[i] for i in held]), strict=True):
            predicted[i] = (fold, prediction.label)
    return predicted


def per_label(examples: Sequence[Labelled], count: int, *, seed: int = 0) -> list[Labelled]:
    """At most `count` examples of each label, drawn at random (a learning curve's step)."""
    order = np.random.default_rng(seed).permutation(len(examples))
    taken: Counter[str] = Counter()
    chosen = []
    for i in order:
        example = examples[int(i)]
        if taken[example.label] < count:
            taken[example.label] += 1
            chosen.append(example)
    return chosen
