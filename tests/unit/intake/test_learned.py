"""A tenant's concern model: intents map to concerns, low confidence routes as unsure, a version is
promoted only when it beats what classifies now, and the newest label of a text wins."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.core.examples import ExampleIn
from services.intake.core.learned import (
    ConcernModel,
    LearnedClassifier,
    concern_map,
    model_languages,
    train_candidate,
    training_set,
)
from services.intake.core.learning import IntentModel, TooFewExamples, train
from services.intake.taxonomy import default_taxonomy
from tests.unit.intake.test_learning import CARDS, PASSCODES, REFUNDS, examples

TAXONOMY = default_taxonomy().model_copy(
    update={"intents": {"card_arrival": "orders_delivery", "passcode_forgotten": "account_access"}}
)


def example(text: str, intent: str | None = None, concern: str | None = None) -> ExampleIn:
    return ExampleIn(text=text, intent=intent, concern=concern)


def test_a_label_maps_to_the_concern_its_examples_name_else_the_taxonomys_else_the_fallback() -> None:
    given_examples = [
        example("where is my card", intent="card_arrival"),
        example("refund please", intent="refund", concern="returns_refunds"),
        example("refund now", intent="refund", concern="returns_refunds"),
        example("refund?", intent="refund", concern="billing"),
        example("I was charged twice", concern="billing"),
        example("what is this", intent="mystery"),
    ]
    assert concern_map(given_examples, TAXONOMY) == {
        "card_arrival": "orders_delivery",
        "refund": "returns_refunds",
        "billing": "billing",
        "mystery": "general",
    }


def test_the_newest_label_of_a_text_wins_and_the_newest_are_kept() -> None:
    newest_first = [
        example("My card  has not arrived", concern="orders_delivery"),  # an agent's correction
        example("my card has not arrived", concern="billing"),  # the older upload
        example("refund please", concern="returns_refunds"),
        example("charged twice", concern="billing"),
    ]
    chosen = training_set(newest_first)
    assert [(e.text, e.concern) for e in chosen] == [
        ("charged twice", "billing"),
        ("refund please", "returns_refunds"),
        ("My card  has not arrived", "orders_delivery"),
    ]
    assert [e.text for e in training_set(newest_first, limit=2)] == ["refund please", "My card  has not arrived"]


MODEL = ConcernModel(
    train(examples()),
    {"card_arrival": "orders_delivery", "refund": "returns_refunds", "passcode_forgotten": "account_access"},
    version=3,
)


def test_a_confident_model_names_intent_concern_and_the_concerns_skills() -> None:
    result = LearnedClassifier(MODEL, TAXONOMY, unsure_below=0.4).classify(subject="Card", text="my card never came")
    assert (result.guess.code, result.intent and result.intent.code) == ("orders_delivery", "card_arrival")
    assert result.skills == TAXONOMY.concern("orders_delivery").skills
    assert (result.unsure, result.model_version) == (False, 3)


def test_below_the_threshold_the_contact_goes_to_the_fallback_flagged_unsure_with_its_intent_named() -> None:
    result = LearnedClassifier(MODEL, TAXONOMY, unsure_below=0.99).classify(subject=None, text="hello there")
    assert (result.guess.code, result.unsure) == ("general", True)
    assert result.skills == TAXONOMY.concern("general").skills
    assert result.intent is not None
    assert result.intent.code in MODEL.model.labels


def test_a_contact_in_a_language_the_model_did_not_learn_is_classified_by_the_keywords() -> None:
    english = ConcernModel(MODEL.model, MODEL.concerns, version=3, languages=["en"])
    classifier = LearnedClassifier(english, TAXONOMY, unsure_below=0.4)
    dutch = classifier.classify(subject=None, text="Mijn factuur klopt niet, dubbel afgeschreven", language="nl")
    assert (dutch.guess.code, dutch.model_version, dutch.intent, dutch.unsure) == ("billing", None, None, False)
    learned = classifier.classify(subject="Card", text="my card never came", language="en")
    assert (learned.guess.code, learned.model_version) == ("orders_delivery", 3)
    untold = classifier.classify(subject="Card", text="my card never came", language=None)
    assert untold.model_version == 3  # too short to tell: the model reads it
    unrecorded = LearnedClassifier(MODEL, TAXONOMY, unsure_below=0.4)  # a version stored before languages were
    assert unrecorded.classify(subject=None, text="mijn kaart is niet gekomen", language="nl").model_version == 3


def test_a_models_languages_are_those_of_at_least_two_percent_of_its_examples() -> None:
    given_examples = (
        [ExampleIn(text=f"card {i}", concern="billing", language="en") for i in range(95)]
        + [ExampleIn(text=f"kaart {i}", concern="billing") for i in range(3)]  # told by their text
        + [ExampleIn(text=f"kortti {i}", concern="billing", language="fi") for i in range(1)]
        + [ExampleIn(text=f"? {i}", concern="billing") for i in range(10)]  # too short to tell: not counted
    )

    def written_in(text: str) -> str | None:
        return "nl" if text.startswith("kaart") else None

    assert model_languages(given_examples, written_in=written_in) == ["en", "nl"]
    assert model_languages([], written_in=written_in) == []


def test_a_concern_the_taxonomy_no_longer_has_routes_as_unsure() -> None:
    gone = ConcernModel(
        train(examples()), {"card_arrival": "cards", "refund": "cards", "passcode_forgotten": "cards"}, version=1
    )
    result = LearnedClassifier(gone, TAXONOMY, unsure_below=0.0).classify(subject=None, text="my card never came")
    assert (result.guess.code, result.unsure) == ("general", True)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200), threshold=st.floats(0, 1))
def test_unsure_exactly_when_the_best_concern_is_below_the_threshold(text: str, threshold: float) -> None:
    result = LearnedClassifier(MODEL, TAXONOMY, unsure_below=threshold).classify(subject=None, text=text)
    intent, best = MODEL.concern(text)
    assert 0 <= best.confidence <= 1
    assert intent.confidence <= best.confidence + 1e-4
    assert result.unsure == (best.confidence < threshold)
    assert result.guess.code == ("general" if result.unsure else best.code)


def many(texts: list[str], **labels: str) -> list[ExampleIn]:
    return [example(f"{text} {suffix}", **labels) for text in texts for suffix in ("", "please", "today", "now")]


def test_a_first_version_that_beats_the_keywords_is_promoted_and_its_evaluation_is_complete() -> None:
    uploaded = [
        *many(CARDS, intent="card_arrival"),
        *many(REFUNDS, intent="refund", concern="returns_refunds"),
        *many(PASSCODES, intent="passcode_forgotten"),
    ]
    candidate = train_candidate(uploaded, TAXONOMY, live=None)
    assert candidate.verdict.promote, candidate.verdict.reason
    assert candidate.concern.macro_f1 > candidate.keywords.macro_f1
    assert candidate.trained_on + candidate.labels.examples == len(uploaded)
    assert set(candidate.labels.f1_by_label) <= {"card_arrival", "refund", "passcode_forgotten"}
    assert candidate.concerns["passcode_forgotten"] == "account_access"
    stored = ConcernModel(IntentModel.from_bytes(candidate.model), candidate.concerns, version=1)
    assert stored.concern("my card has still not arrived")[1].code == "orders_delivery"

    again = train_candidate(uploaded, TAXONOMY, live=stored)
    assert not again.verdict.promote
    assert "live model" in again.verdict.reason


def test_training_needs_two_labels() -> None:
    with pytest.raises(TooFewExamples):
        train_candidate(many(CARDS, concern="orders_delivery"), TAXONOMY, live=None)
