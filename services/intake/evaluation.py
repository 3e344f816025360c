"""Measure intake's understanding on a labelled set: language accuracy and concern macro-F1."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from services.intake.core.language import LanguageDetector, detect, guess_language
from services.intake.core.taxonomy import Classifier


@dataclass(frozen=True)
class Example:
    concern: str
    language: str
    text: str


@dataclass(frozen=True)
class Report:
    examples: int
    language_accuracy: float
    concern_accuracy: float
    macro_f1: float
    f1_by_concern: dict[str, float]
    concern_accuracy_by_language: dict[str, float]
    confusions: list[tuple[str, str, int]]  # (labelled, predicted, count), most frequent first


def load(path: Path) -> list[Example]:
    with path.open(newline="") as rows:
        return [Example(row["concern"], row["language"], row["text"]) for row in csv.DictReader(rows, delimiter="\t")]


def evaluate(examples: list[Example], *, classifier: Classifier, detector: LanguageDetector) -> Report:
    languages = [guess_language(detect(e.text, detector=detector), hint=None, preferred=None).code for e in examples]
    concerns = [classifier.classify(subject=None, text=e.text).guess.code for e in examples]
    labels = sorted({e.concern for e in examples})
    f1 = {label: _f1(label, [e.concern for e in examples], concerns) for label in labels}
    by_language: dict[str, list[bool]] = {}
    for example, predicted in zip(examples, concerns, strict=True):
        by_language.setdefault(example.language, []).append(example.concern == predicted)
    confusions = Counter((e.concern, p) for e, p in zip(examples, concerns, strict=True) if e.concern != p)
    return Report(
        examples=len(examples),
        language_accuracy=_share([e.language == got for e, got in zip(examples, languages, strict=True)]),
        concern_accuracy=_share([e.concern == got for e, got in zip(examples, concerns, strict=True)]),
        macro_f1=sum(f1.values()) / len(f1),
        f1_by_concern=f1,
        concern_accuracy_by_language={lang: _share(hits) for lang, hits in sorted(by_language.items())},
        confusions=[(truth, got, n) for (truth, got), n in confusions.most_common()],
    )


def _f1(label: str, truth: list[str], predicted: list[str]) -> float:
    true_positive = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
    precision = true_positive / max(1, predicted.count(label))
    recall = true_positive / max(1, truth.count(label))
    return 0.0 if true_positive == 0 else 2 * precision * recall / (precision + recall)


def _share(hits: list[bool]) -> float:
    return sum(hits) / len(hits)
