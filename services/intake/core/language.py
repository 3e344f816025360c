"""Which language the customer writes in, with a confidence, and what to do when text is short."""

from __future__ import annotations

from typing import Protocol

from frontline.contracts.contacts import LanguageGuess

MIN_LETTERS_TO_DETECT = 12
MIN_CONFIDENCE = 0.5
DEFAULT_LANGUAGE = "en"


class LanguageDetector(Protocol):
    def detect(self, text: str) -> tuple[str, float] | None:
        """The most likely ISO 639-1 code and its confidence, or None if no language fits."""


Detected = tuple[str, float] | None  # the detector's likeliest language and its confidence


def detect(text: str, *, detector: LanguageDetector) -> Detected:
    """The detector's answer, if the text has enough letters to ask it."""
    letters = sum(char.isalpha() for char in text)
    return detector.detect(text) if letters >= MIN_LETTERS_TO_DETECT else None


def guess_language(detected: Detected, *, hint: str | None, preferred: str | None) -> LanguageGuess:
    """A confident detection from the text; else the source's hint, then the customer's preferred
    language, then an unconfident detection, then the default."""
    if detected and detected[1] >= MIN_CONFIDENCE:
        return LanguageGuess(code=detected[0], confidence=round(detected[1], 3), method="detected")
    if hint:
        return LanguageGuess(code=hint.lower(), confidence=0.9, method="hint")
    if preferred:
        return LanguageGuess(code=preferred, confidence=0.7, method="customer_profile")
    if detected:
        return LanguageGuess(code=detected[0], confidence=round(detected[1], 3), method="detected")
    return LanguageGuess(code=DEFAULT_LANGUAGE, confidence=0.0, method="default")


def written_in(detected: Detected, *, hint: str | None) -> str | None:
    """The language the text itself is known to be in (a confident detection, else the source's
    hint), or None: what a concern model's languages are checked against."""
    guess = guess_language(detected, hint=hint, preferred=None)
    return guess.code if guess.method == "hint" or guess.confidence >= MIN_CONFIDENCE else None
