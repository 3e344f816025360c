from datetime import UTC, date, datetime, timedelta

import pytest

from frontline.contracts.contacts import Channel, ContactSubmittedData
from services.intake.core.customers import CustomerProfile
from services.intake.core.language import detect, guess_language
from services.intake.core.taxonomy import Classifier, Taxonomy
from services.intake.core.triage import priority_of, sentiment_of
from services.intake.core.understanding import ContactInFuture, Understanding, check_arrival, repeats, understand
from services.intake.taxonomy import default_taxonomy

NOW = datetime(2026, 11, 22, 10, tzinfo=UTC)


class FixedDetector:
    def __init__(self, answer: tuple[str, float] | None) -> None:
        self.answer = answer

    def detect(self, text: str) -> tuple[str, float] | None:
        return self.answer


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(default_taxonomy())


def profile(**fields: object) -> CustomerProfile:
    return CustomerProfile.model_validate(
        {"customer_id": "cust-1", "tenant": "acme", "created_at": NOW, "updated_at": NOW} | fields
    )


def submission(text: str, subject: str | None = None, channel: str = "email", **fields: object):
    return ContactSubmittedData.model_validate(
        {"channel": channel, "customer": {"email": "a@b.nl"}, "text": text, "subject": subject} | fields
    )


def context(*, repeat: bool = False, **customer: object) -> Understanding:
    return Understanding(customer=profile(**customer), new_customer=False, repeat=repeat, region="NL")


def understood(classifier: Classifier, text: str, subject: str | None, ctx: Understanding, detector=None):
    return understand(
        submission(text, subject=subject),
        ctx,
        classification=classifier.classify(subject=subject, text=text),
        detected=detect(f"{subject or ''} {text}", detector=detector or FixedDetector(None)),
        arrived_at=NOW,
    )


@pytest.mark.parametrize(
    ("subject", "text", "concern"),
    [
        ("Invoice", "You charged me twice this month", "billing"),
        (None, "Mijn factuur klopt niet, er is twee keer afgeschreven", "billing"),
        (None, "Das Internet funktioniert seit gestern nicht, der Router blinkt rot", "technical_support"),
        (None, "Tilaukseni ei ole vielä saapunut, missä paketti on?", "orders_delivery"),
        (None, "Jag vill returnera tröjan, fel storlek", "returns_refunds"),
        (None, "J'ai oublié mon mot de passe et mon compte est bloqué", "account_access"),
        (None, "Quiero dar de baja mi contrato", "cancellation"),
        (None, "I want to file a formal complaint, this is unacceptable", "complaint"),
        (None, "Ik heb interesse in een sneller abonnement, wat kost dat?", "sales_inquiry"),
        (None, "Hello", "general"),
    ],
)
def test_the_concern_is_classified_in_many_languages(classifier, subject, text, concern):
    assert classifier.classify(subject=subject, text=text).guess.code == concern


def test_classification_names_the_skills_and_shows_its_scores(classifier):
    result = classifier.classify(subject="Stromrechnung", text="Die Abbuchung war doppelt")
    assert result.skills[0].skill == "billing"
    assert result.scores["billing"] >= 3
    assert 0 < result.guess.confidence <= 1


def test_a_taxonomy_refuses_duplicate_codes_and_an_unknown_fallback():
    concern = {"code": "billing", "label": "Billing", "skills": [{"skill": "billing"}]}
    with pytest.raises(ValueError, match="repeated: billing"):
        Taxonomy.model_validate({"fallback": "billing", "concerns": [concern, concern]})
    with pytest.raises(ValueError, match="fallback 'general' is not one of the concerns"):
        Taxonomy.model_validate({"concerns": [concern]})


def test_short_text_falls_back_to_the_hint_then_the_profile_then_the_default():
    detector = FixedDetector(("en", 0.99))
    assert detect("hoi", detector=detector) is None
    assert guess_language(detect("hoi", detector=detector), hint="nl", preferred="de").method == "hint"
    guess = guess_language(None, hint=None, preferred="de")
    assert (guess.code, guess.method) == ("de", "customer_profile")
    assert guess_language(detect("ok", detector=detector), hint=None, preferred=None).method == "default"


def test_a_confident_detection_wins_over_the_profile():
    detected = detect("Mijn factuur klopt niet", detector=FixedDetector(("nl", 0.94)))
    guess = guess_language(detected, hint=None, preferred="en")
    assert (guess.code, guess.confidence, guess.method) == ("nl", 0.94, "detected")


@pytest.mark.parametrize(
    ("text", "angry"),
    [
        ("This is UNACCEPTABLE and RIDICULOUS", True),
        ("Ik ben woedend, dit is schandalig", True),
        ("Das ist eine Frechheit!!", True),
        ("Thank you, great service", False),
        ("My invoice is wrong", False),
    ],
)
def test_anger_needs_anger_words_with_force(text, angry):
    assert sentiment_of(None, text).angry is angry


def test_priority_adds_up_named_reasons():
    priority = priority_of(tier="gold", channel=Channel.VOICE, urgent=True, repeat=True, angry=False)
    assert priority.value == 30 + 15 + 15 + 15 + 10
    assert priority.reasons == [
        "base +30",
        "tier gold +15",
        "channel voice +15",
        "urgent wording +15",
        "repeat contact within 7 days +10",
    ]
    low = priority_of(tier="standard", channel=Channel.POSTAL_MAIL, urgent=False, repeat=False, angry=False)
    assert low.value == 20


def test_understanding_redacts_classifies_and_detects_repeat(classifier):
    data = understood(
        classifier,
        "Charged twice on card 4111 1111 1111 1111, call me on 06 12345678",
        "Invoice",
        context(repeat=True, tier="gold", preferred_language="nl"),
        FixedDetector(("en", 0.9)),
    )
    assert "4111" not in data.text
    assert data.text == "Charged twice on card [CARD], call me on [PHONE]"
    assert data.redactions == ["card", "phone"]
    assert data.concern.code == "billing"
    assert data.repeat_contact
    assert "repeat contact within 7 days +10" in data.priority_reasons
    assert data.customer.tier == "gold"
    assert data.arrived_at == NOW


def test_an_angry_repeat_complaint_is_escalated(classifier):
    data = understood(classifier, "Second complaint: UNACCEPTABLE, RIDICULOUS service", None, context(repeat=True))
    assert data.sentiment.angry
    assert data.escalate


def test_contacts_from_the_future_are_refused_but_clock_skew_is_tolerated():
    check_arrival(NOW + timedelta(minutes=4), NOW)
    with pytest.raises(ContactInFuture, match="in the future"):
        check_arrival(NOW + timedelta(hours=1), NOW)


@pytest.mark.parametrize(
    ("days_before", "repeat"), [(0, True), (1, True), (7, True), (8, False), (30, False), (-1, False)]
)
def test_a_repeat_is_the_same_concern_on_the_same_day_or_the_7_days_before(days_before, repeat):
    day = date(2026, 11, 22)
    earlier = date.fromordinal(day.toordinal() - days_before)
    assert repeats((earlier, "first"), day=day, contact_id="second") is repeat


def test_the_same_contact_again_or_no_earlier_one_is_no_repeat():
    day = date(2026, 11, 22)
    assert not repeats((day, "c1"), day=day, contact_id="c1")
    assert not repeats(None, day=day, contact_id="c1")
