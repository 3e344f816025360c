"""The intent model learns what it is shown, in any language, and is measured on what it was not."""

import pickle
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.core.learning import (
    Evaluation,
    IntentModel,
    Labelled,
    TooFewExamples,
    UnknownModelFormat,
    cross_predict,
    evaluate,
    fit,
    held_back,
    hold_back,
    per_label,
    score,
    train,
    verdict,
)

CARDS = [
    "my card has not arrived yet",
    "still waiting for the new card to be delivered",
    "when will my card arrive",
    "the card you sent never came",
    "how long does card delivery take",
    "no card in the post after two weeks",
]
REFUNDS = [
    "I want my money back for this purchase",
    "please refund the payment",
    "the refund is not showing in my account",
    "how do I get a refund for a cancelled order",
    "refund my last transaction",
    "money back for the item I returned",
]
PASSCODES = [
    "I forgot my passcode",
    "cannot log in, passcode lost",
    "reset my passcode please",
    "locked out of the app after a wrong passcode",
    "what do I do if I forget the passcode",
    "new passcode needed to sign in",
]
FINNISH = [
    Labelled("kortti ei ole vielä saapunut", "card_arrival"),
    Labelled("milloin korttini saapuu postissa", "card_arrival"),
    Labelled("uusi kortti ei tullut perille", "card_arrival"),
    Labelled("haluan rahani takaisin ostoksesta", "refund"),
    Labelled("palauttakaa maksu tililleni", "refund"),
    Labelled("hyvitys ei näy tilillä", "refund"),
]
JAPANESE = [  # no spaces between words: only character runs carry the meaning
    Labelled("カードがまだ届きません", "card_arrival"),
    Labelled("新しいカードはいつ届きますか", "card_arrival"),
    Labelled("カードが届かない", "card_arrival"),
    Labelled("返金してください", "refund"),
    Labelled("返金がまだ口座に反映されていません", "refund"),
    Labelled("注文の返金をお願いします", "refund"),
]


def examples() -> list[Labelled]:
    return [
        *(Labelled(text, "card_arrival") for text in CARDS),
        *(Labelled(text, "refund") for text in REFUNDS),
        *(Labelled(text, "passcode_forgotten") for text in PASSCODES),
    ]


def test_a_model_names_the_intent_of_a_message_it_never_saw_with_ranked_alternatives() -> None:
    model = train(examples())
    prediction = model.predict("the card has still not been delivered to me")
    assert prediction.label == "card_arrival"
    assert [label for label, _ in prediction.alternatives] == sorted(
        {"refund", "passcode_forgotten"}, key=lambda label: -dict(prediction.alternatives)[label]
    )
    assert 0 < prediction.alternatives[-1][1] <= prediction.alternatives[0][1] <= prediction.confidence <= 1
    assert prediction.confidence + sum(p for _, p in prediction.alternatives) == pytest.approx(1, abs=1e-3)
    assert model.predict("I lost my passcode and cannot sign in").label == "passcode_forgotten"


@pytest.mark.parametrize(
    ("language", "examples", "message", "intent"),
    [
        ("fi", FINNISH, "korttini ei ole saapunut", "card_arrival"),
        ("fi", FINNISH, "haluan hyvityksen maksusta", "refund"),
        ("ja", JAPANESE, "カードがまだ来ません", "card_arrival"),
        ("ja", JAPANESE, "返金はいつですか", "refund"),
    ],
)
def test_any_language_learns_from_its_own_examples(
    language: str, examples: list[Labelled], message: str, intent: str
) -> None:
    assert train(examples).predict(message).label == intent, language


def test_training_is_repeatable() -> None:
    texts = ["card not here", "refund please", "passcode gone", "some unrelated words"]
    first, second = train(examples()), train(examples())
    assert first.predict_many(texts) == second.predict_many(texts)


def test_one_label_is_not_enough_to_learn() -> None:
    with pytest.raises(TooFewExamples, match="at least two labels"):
        train([Labelled(text, "card_arrival") for text in CARDS])


def test_the_held_back_slice_is_the_same_for_every_version_and_never_trained_on() -> None:
    many = [Labelled(f"message number {i} about a card", "card_arrival" if i % 2 else "refund") for i in range(400)]
    training, held = hold_back(many, share=0.2)
    _, later_held = hold_back([*many, Labelled("one more refund request", "refund")], share=0.2)
    assert set(held) <= set(later_held)
    assert not set(training) & set(held)
    assert set(training) | set(held) == set(many)
    assert 40 <= len(held) <= 120  # about a fifth
    assert all(held_back(e.text, 0.2) for e in held)


def test_a_label_with_nothing_left_to_train_on_is_trained_on_all_its_examples_and_not_checked() -> None:
    many = [Labelled(f"message number {i} about a card", "card_arrival") for i in range(50)]
    rare = next(
        Labelled(text, "terminate_account")
        for text in (f"close account {i}" for i in range(1000))
        if held_back(text, 0.2)
    )
    training, held = hold_back([*many, rare], share=0.2)
    assert rare in training
    assert held
    assert all(e.label == "card_arrival" for e in held)


def test_a_text_given_twice_stays_on_one_side() -> None:
    for share in (0.2, 0.5, 0.8):
        training, held = hold_back([*examples(), *examples()], share=share)
        assert not {e.text for e in training} & {e.text for e in held}


def evaluation(macro_f1: float, examples: int = 100, loss: float | None = None) -> Evaluation:
    return Evaluation(
        examples=examples, accuracy=macro_f1, macro_f1=macro_f1, f1_by_label={}, confusions=(), log_loss=loss
    )


@pytest.mark.parametrize(
    ("candidate", "live", "keywords", "promote", "reason"),
    [
        (evaluation(0.5), None, evaluation(0.31), True, "beats the keyword taxonomy's 0.310"),
        (evaluation(0.3), None, evaluation(0.31), False, "does not beat the keyword taxonomy's 0.310"),
        (evaluation(0.9), evaluation(0.88), evaluation(0.31), True, "beats the live model's 0.880"),
        (evaluation(0.88), evaluation(0.88), evaluation(0.31), False, "does not beat the live model's 0.880"),
        (evaluation(0.6), evaluation(0.5), evaluation(0.7), False, "does not beat the keyword taxonomy's 0.700"),
        (evaluation(0.9, examples=0), None, evaluation(0.1), False, "no held-back examples"),
        (evaluation(1.0, loss=0.01), evaluation(1.0, loss=0.2), evaluation(0.3), True, "log-loss 0.0100 beats 0.2000"),
        (evaluation(1.0, loss=0.3), evaluation(1.0, loss=0.2), evaluation(0.3), False, "does not beat the live"),
        (evaluation(0.5, loss=0.01), None, evaluation(0.5), False, "does not beat the keyword taxonomy's 0.500"),
        (evaluation(0.5, loss=0.01), evaluation(0.5, loss=0.2), evaluation(0.5), True, "ties the live model's"),
    ],
)
def test_a_version_is_promoted_only_when_it_beats_what_classifies_now(
    candidate: Evaluation, live: Evaluation | None, keywords: Evaluation, promote: bool, reason: str
) -> None:
    decided = verdict(candidate, live, keywords)
    assert decided.promote is promote
    assert reason in decided.reason


def test_evaluation_counts_hits_per_label_and_the_confusions() -> None:
    truth = ["a", "a", "a", "b", "b", "c"]
    predicted = ["a", "a", "b", "b", "b", "a"]
    evaluation = score(truth, predicted)
    assert evaluation.accuracy == pytest.approx(4 / 6)
    assert evaluation.f1_by_label == {"a": pytest.approx(0.6667, abs=1e-4), "b": 0.8, "c": 0.0}
    assert evaluation.macro_f1 == pytest.approx((2 / 3 + 0.8 + 0) / 3)
    assert evaluation.confusions == (("a", "b", 1), ("c", "a", 1))


def test_a_model_is_evaluated_on_the_examples_given() -> None:
    evaluation = evaluate(train(examples()), [Labelled("refund my payment please", "refund")])
    assert (evaluation.examples, evaluation.accuracy) == (1, 1.0)


def test_cross_validation_predicts_every_example_from_a_model_that_did_not_see_it() -> None:
    data = examples()
    predicted = cross_predict(data, folds=3)
    assert len(predicted) == len(data)
    assert Counter(fold for fold, _ in predicted) == {0: 6, 1: 6, 2: 6}
    assert score([e.label for e in data], [label for _, label in predicted]).accuracy >= 0.8


@settings(max_examples=50, deadline=None)
@given(
    labels=st.lists(st.sampled_from("abcde"), min_size=1, max_size=60),
    count=st.integers(min_value=0, max_value=8),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_a_learning_curve_step_takes_at_most_count_of_each_label_and_all_of_the_rarer(
    labels: list[str], count: int, seed: int
) -> None:
    data = [Labelled(f"text {i}", label) for i, label in enumerate(labels)]
    taken = Counter(e.label for e in per_label(data, count, seed=seed))
    assert taken == {label: min(count, n) for label, n in Counter(labels).items() if min(count, n)}


PIPELINES = [fit(examples()), fit(FINNISH)]
MODELS = [IntentModel.of(pipeline) for pipeline in PIPELINES]
STORED = [IntentModel.from_bytes(model.to_bytes()) for model in MODELS]
TEXTS = st.text(max_size=300) | st.sampled_from([*CARDS, *REFUNDS, "", "card card card card", "返金"])


@settings(max_examples=200, deadline=None)
@given(text=TEXTS)
def test_the_fast_scorer_gives_the_pipelines_own_probabilities_for_any_text(text: str) -> None:
    for pipeline, model in zip(PIPELINES, MODELS, strict=True):
        assert model.probabilities(text) == pytest.approx(pipeline.predict_proba([text])[0], abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(text=TEXTS)
def test_a_stored_model_reads_back_scoring_as_it_did(text: str) -> None:
    for model, stored in zip(MODELS, STORED, strict=True):
        assert stored.labels == model.labels
        assert stored.probabilities(text) == pytest.approx(model.probabilities(text), abs=1e-5)


def test_a_stored_model_is_arrays_not_code_and_anything_else_is_refused() -> None:
    data = MODELS[0].to_bytes()
    assert data[:2] == b"PK"  # a zip of .npy arrays, read back with pickles refused
    for bad in (b"", b"not a model", data[: len(data) // 2], pickle.dumps(MODELS[0].labels)):
        with pytest.raises(UnknownModelFormat):
            IntentModel.from_bytes(bad)
