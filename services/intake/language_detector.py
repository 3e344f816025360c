"""The lingua detector (models ship inside the package; nothing is fetched at run time)."""

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

SUPPORTED = (
    Language.ENGLISH,
    Language.DUTCH,
    Language.GERMAN,
    Language.FINNISH,
    Language.SWEDISH,
    Language.FRENCH,
    Language.SPANISH,
    Language.ITALIAN,
    Language.PORTUGUESE,
    Language.DANISH,
    Language.BOKMAL,
    Language.POLISH,
)


class LinguaDetector:
    def __init__(self) -> None:
        self._detector: LanguageDetector = (
            LanguageDetectorBuilder.from_languages(*SUPPORTED).with_preloaded_language_models().build()
        )

    def detect(self, text: str) -> tuple[str, float] | None:
        confidences = self._detector.compute_language_confidence_values(text)
        if not confidences:
            return None
        best = confidences[0]
        return best.language.iso_code_639_1.name.lower(), best.value
