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
import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_union

WORDS = r"(?u)\b\w+\b"
STRENGTH = 20.0  # inverse regularisation: chosen by cross-validation (docs/design/classifier.md)
ALTERNATIVES = 3
TIE = 1e-9  # macro-F1 scores closer than this are equal
MAX_FEATURES = 50_000  # per kind of feature: bounds a model's memory (BANKING77 needs 36,384 in all)
MAX_LABELS = 1_000
FORMAT = 1  # of a stored model: raise it when the features change


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
    log_loss: float | None = None  # mean -ln(probability given to the truth), where there are probabilities


class TooFewExamples(ValueError):
    """Training needs at least two labels, each with an example."""


class UnknownModelFormat(ValueError):
    """A stored model written by another version of this module's features."""


class IntentModel:
    """Scores the labels it was trained on; built by `train` or read back by `from_bytes`, safe to
    share between tasks.

    A text is scored with the fitted features' analysers, vocabularies and IDF weights and the
    learner's coefficients, without scikit-learn's per-call checks, which cost ten times the
    arithmetic for one text (tests hold it equal to the pipeline's `predict_proba`)."""

    def __init__(
        self,
        labels: Sequence[str],
        vocabularies: Sequence[dict[str, int]],
        idf: Sequence[np.ndarray],
        weights: np.ndarray,
        intercept: np.ndarray,
    ) -> None:
        self.labels: tuple[str, ...] = tuple(labels)
        self._vocabularies, self._idf = list(vocabularies), [np.asarray(part, dtype=float) for part in idf]
        self._parts = []
        offset = 0
        for analyse, vocabulary, weight in zip(_analysers(), self._vocabularies, self._idf, strict=True):
            self._parts.append((analyse, vocabulary, weight, offset))
            offset += len(vocabulary)
        if weights.shape != (offset, len(self.labels)) or intercept.shape != (len(self.labels),):
            raise UnknownModelFormat(f"weights {weights.shape} do not fit {offset} features x {len(self.labels)}")
        self._weights = np.ascontiguousarray(weights)
        self._intercept = np.asarray(intercept, dtype=float)

    @classmethod
    def of(cls, pipeline: Pipeline) -> IntentModel:
        """The fitted pipeline's model."""
        vectorizers = [vectorizer for _, vectorizer in pipeline.named_steps["features"].transformer_list]
        model = pipeline.named_steps["model"]
        weights, intercept = model.coef_.T, model.intercept_
        if len(model.classes_) == 2:  # one score z for the second label: softmax of (0, z) is its sigmoid
            weights = np.hstack([np.zeros_like(weights), weights])
            intercept = np.concatenate([[0.0], intercept])
        return cls(
            [str(label) for label in model.classes_],
            [{str(term): int(i) for term, i in v.vocabulary_.items()} for v in vectorizers],
            [v.idf_ for v in vectorizers],
            weights,
            intercept,
        )

    @property
    def features(self) -> int:
        return int(self._weights.shape[0])

    def to_bytes(self) -> bytes:
        """The model as stored: arrays only (coefficients as float32), never a pickle, so reading
        one back runs no code."""
        meta = {
            "format": FORMAT,
            "labels": list(self.labels),
            "vocabularies": [sorted(v, key=v.__getitem__) for v in self._vocabularies],
        }
        arrays: dict[str, Any] = {
            "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8),
            "weights": self._weights.astype(np.float32),
            "intercept": self._intercept,
        } | {f"idf{i}": part for i, part in enumerate(self._idf)}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> IntentModel:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                meta = json.loads(arrays["meta"].tobytes())
                if meta.get("format") != FORMAT:
                    raise UnknownModelFormat(f"model format {meta.get('format')!r}; this version reads {FORMAT}")
                vocabularies = [{term: i for i, term in enumerate(terms)} for terms in meta["vocabularies"]]
                idf = [arrays[f"idf{i}"] for i in range(len(vocabularies))]
                return cls(meta["labels"], vocabularies, idf, arrays["weights"], arrays["intercept"])
        except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
            if isinstance(error, UnknownModelFormat):
                raise
            raise UnknownModelFormat(f"not a stored model: {error}") from None

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


def _vectorizers() -> list[TfidfVectorizer]:
    """The features, in order: words one and two in a row, and character runs inside words."""
    return [
        TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), token_pattern=WORDS, sublinear_tf=True, max_features=MAX_FEATURES
        ),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, max_features=MAX_FEATURES),
    ]


@cache
def _analysers() -> list[Callable[[str], list[str]]]:
    return [vectorizer.build_analyzer() for vectorizer in _vectorizers()]


def fit(examples: Sequence[Labelled]) -> Pipeline:
    """The fitted scikit-learn pipeline of `examples`; deterministic for the same examples in the same order."""
    labels = {example.label for example in examples}
    if len(labels) < 2:
        raise TooFewExamples(f"training needs examples of at least two labels, got {len(labels)}")
    if len(labels) > MAX_LABELS:
        raise TooFewExamples(f"{len(labels):,} labels; a model learns at most {MAX_LABELS:,}")
    pipeline = Pipeline(
        [("features", make_union(*_vectorizers())), ("model", LogisticRegression(C=STRENGTH, max_iter=1000))]
    )
    pipeline.fit([example.text for example in examples], [example.label for example in examples])
    return pipeline


def train(examples: Sequence[Labelled]) -> IntentModel:
    """A model of `examples`; deterministic for the same examples in the same order."""
    return IntentModel.of(fit(examples))


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
    better of the live model and the keyword taxonomy. On a tie with the live model the one that
    gives the true concerns more probability (the lower log-loss) wins; otherwise a tie keeps what runs."""
    if candidate.examples == 0:
        return Verdict(False, "no held-back examples to check it on")
    rivals = [*([(live, "the live model")] if live is not None else []), (keywords, "the keyword taxonomy")]
    rival, name = max(rivals, key=lambda pair: pair[0].macro_f1)  # the live model first: it wins a tie
    if candidate.macro_f1 > rival.macro_f1 + TIE:
        return Verdict(True, f"macro-F1 {candidate.macro_f1:.3f} beats {name}'s {rival.macro_f1:.3f}")
    tied = abs(candidate.macro_f1 - rival.macro_f1) <= TIE
    if tied and candidate.log_loss is not None and rival.log_loss is not None and candidate.log_loss < rival.log_loss:
        return Verdict(
            True,
            f"macro-F1 {candidate.macro_f1:.3f} ties {name}'s, and its log-loss {candidate.log_loss:.4f} "
            f"beats {rival.log_loss:.4f}",
        )
    return Verdict(False, f"macro-F1 {candidate.macro_f1:.3f} does not beat {name}'s {rival.macro_f1:.3f}")


def log_loss(probabilities_of_truth: Sequence[float]) -> float:
    """Mean -ln p of the true labels (p floored at 1e-12): lower is better, 0 is certain and right."""
    return float(np.mean(-np.log(np.maximum(np.asarray(probabilities_of_truth, dtype=float), 1e-12))))


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
