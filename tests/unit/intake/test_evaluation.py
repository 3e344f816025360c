"""The labelled evaluation set keeps intake honest: these floors sit just under the measured figures
(`make eval-intake`), so a change that makes understanding worse fails here."""

from pathlib import Path

import pytest

from services.intake.core.taxonomy import Classifier, Taxonomy
from services.intake.evaluation import Example, evaluate, load
from services.intake.language_detector import LinguaDetector
from services.intake.taxonomy import default_taxonomy

DATA = Path(__file__).resolve().parents[2] / "data" / "intake_eval.tsv"
LANGUAGES = {"en", "nl", "de", "fi", "sv", "fr", "es"}


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return load(DATA)


def test_the_set_has_at_least_40_messages_per_concern_across_seven_languages(examples):
    concerns = {e.concern for e in examples}
    assert concerns == {c.code for c in default_taxonomy().concerns}
    for concern in concerns:
        mine = [e for e in examples if e.concern == concern]
        assert len(mine) >= 40
        assert {e.language for e in mine} == LANGUAGES


def test_understanding_stays_above_its_measured_floor(examples):
    report = evaluate(examples, classifier=Classifier(default_taxonomy()), detector=LinguaDetector())
    assert report.language_accuracy >= 0.98
    assert report.macro_f1 >= 0.80
    assert min(report.concern_accuracy_by_language.values()) >= 0.75


def test_macro_f1_weighs_every_concern_equally():
    examples = [Example("a", "en", "x"), Example("a", "en", "y"), Example("b", "en", "z")]
    only_a = Taxonomy.model_validate(
        {"fallback": "a", "concerns": [{"code": "a", "label": "A", "skills": [{"skill": "a"}]}]}
    )
    report = evaluate(examples, classifier=Classifier(only_a), detector=English())
    assert report.concern_accuracy == pytest.approx(2 / 3)
    assert report.f1_by_concern == {"a": pytest.approx(0.8), "b": 0.0}
    assert report.macro_f1 == pytest.approx(0.4)
    assert report.confusions == [("b", "a", 1)]


class English:
    def detect(self, text: str) -> tuple[str, float]:
        return "en", 1.0
