"""The concern taxonomy (data, per tenant) and the transparent classifier that uses it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from frontline.contracts.contacts import ConcernGuess, IntentGuess, Label, SkillRequirement
from services.intake.core.learning import MAX_LABELS
from services.intake.core.text import Keywords, fold, searchable

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
SUBJECT_WEIGHT = 2.0


class Concern(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code
    label: str = Field(min_length=1, max_length=100)
    skills: list[SkillRequirement] = Field(min_length=1)
    keywords: dict[str, list[Annotated[str, StringConstraints(min_length=2, max_length=60)]]] = Field(
        default_factory=dict, description="Per language code; `*` in front matches inside compound words."
    )
    weight: float = Field(default=1.0, gt=0, le=10)


class Taxonomy(BaseModel):
    """What customers contact the company about, and which skills each concern needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(default=1, ge=1)
    fallback: Code = Field(default="general", description="The concern of a contact nothing recognises, or unsure.")
    concerns: list[Concern] = Field(min_length=1)
    intents: dict[Label, Code] = Field(
        default_factory=dict,
        max_length=MAX_LABELS,
        description="Finer intents a concern model may learn (e.g. card_arrival), each mapped to its concern.",
    )

    @model_validator(mode="after")
    def _codes_unique_and_fallback_known(self) -> Self:
        codes = [concern.code for concern in self.concerns]
        if duplicates := sorted({code for code in codes if codes.count(code) > 1}):
            raise ValueError(f"concern codes must be unique; repeated: {', '.join(duplicates)}")
        if self.fallback not in codes:
            raise ValueError(f"fallback {self.fallback!r} is not one of the concerns")
        if unknown := sorted({code for code in self.intents.values() if code not in codes}):
            raise ValueError(f"intents map to concerns that are not defined: {', '.join(unknown)}")
        return self

    def concern(self, code: str) -> Concern:
        return next(concern for concern in self.concerns if concern.code == code)


@dataclass(frozen=True)
class Classification:
    guess: ConcernGuess
    skills: list[SkillRequirement]
    scores: dict[str, float]
    intent: IntentGuess | None = None
    unsure: bool = False  # below the confidence threshold: `guess` is the fallback concern
    model_version: int | None = None  # None: the keywords classified it


class Classifier:
    """Scores every concern by the keywords found in subject (counted double) and text."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._concerns_of: dict[str, list[str]] = {}  # folded keyword → the concerns it names
        for concern in taxonomy.concerns:
            for keyword in {fold(word) for words in concern.keywords.values() for word in words}:
                self._concerns_of.setdefault(keyword, []).append(concern.code)
        self._keywords = Keywords(self._concerns_of)

    def classify(self, *, subject: str | None, text: str, language: str | None = None) -> Classification:
        """The best-scoring concern; keywords of every language are looked for, whatever `language`."""
        hits = dict.fromkeys((concern.code for concern in self.taxonomy.concerns), 0.0)
        for weight, words in ((SUBJECT_WEIGHT, subject or ""), (1.0, text)):
            for keyword in self._keywords.found(searchable(words)):
                for code in self._concerns_of[keyword]:
                    hits[code] += weight
        scores = {concern.code: round(hits[concern.code] * concern.weight, 3) for concern in self.taxonomy.concerns}
        best = max(scores, key=lambda code: scores[code])
        total = sum(scores.values())
        if total == 0:
            best, confidence = self.taxonomy.fallback, 0.0
        else:
            # share of the evidence, damped when there is little of it
            confidence = scores[best] / total * min(1.0, scores[best] / 3)
        concern = self.taxonomy.concern(best)
        return Classification(ConcernGuess(code=best, confidence=round(confidence, 3)), list(concern.skills), scores)
