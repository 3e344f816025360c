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


def guess_language(text: str, *, detector: LanguageDetector, hint: str | None, preferred: str | None) -> LanguageGuess:
    """Detect from the text when there is enough of it; else trust the source's hint, then the
    customer's preferred language, then the default."""
    letters = sum(char.isalpha() for char in text)
    detected = detector.detect(text) if letters >= MIN_LETTERS_TO_DETECT else None
    if detected and detected[1] >= MIN_CONFIDENCE:
        return LanguageGuess(code=detected[0], confidence=round(detected[1], 3), method="detected")
    if hint:
        return LanguageGuess(code=hint.lower(), confidence=0.9, method="hint")
    if preferred:
        return LanguageGuess(code=preferred, confidence=0.7, method="customer_profile")
    if detected:
        return LanguageGuess(code=detected[0], confidence=round(detected[1], 3), method="detected")
    return LanguageGuess(code=DEFAULT_LANGUAGE, confidence=0.0, method="default")
