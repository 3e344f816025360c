"""From a submitted contact and its customer to what routing and upsell need: `contact.received` data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from frontline.contracts.contacts import ContactReceivedData, ContactSubmittedData
from services.intake.core.customers import CustomerProfile
from services.intake.core.language import Detected, guess_language
from services.intake.core.redaction import redact
from services.intake.core.taxonomy import Classification
from services.intake.core.triage import is_urgent, priority_of, sentiment_of

FUTURE_TOLERANCE = timedelta(minutes=5)
REPEAT_DAYS = 7


class ContactInFuture(ValueError):
    """A contact dated later than now (beyond clock skew)."""


@dataclass(frozen=True)
class Understanding:
    """What intake needs to know besides the submission itself."""

    customer: CustomerProfile
    new_customer: bool
    repeat: bool  # the customer raised the same concern within the last 7 days
    region: str


def check_arrival(arrived_at: datetime, now: datetime) -> None:
    if arrived_at > now + FUTURE_TOLERANCE:
        raise ContactInFuture(f"{arrived_at.isoformat()} is in the future")


def repeats(last_same_concern: tuple[date, str] | None, *, day: date, contact_id: str) -> bool:
    """Whether a contact on `day` repeats the customer's last other contact about the same concern:
    that one was on the same day or one of the 7 days before (the published definition)."""
    if last_same_concern is None:
        return False
    last_day, last_contact = last_same_concern
    return last_contact != contact_id and 0 <= (day - last_day).days <= REPEAT_DAYS


def understand(
    submission: ContactSubmittedData,
    context: Understanding,
    *,
    classification: Classification,
    detected: Detected,
    arrived_at: datetime,
) -> ContactReceivedData:
    """Everything routing and upsell need; the text leaves here redacted.

    `classification` comes from the tenant's classifier on the original subject and text, first,
    because whether the contact repeats an earlier one depends on its concern; `detected` is the
    language detector's answer for the subject and text, which the classifier also read."""
    subject = redact(submission.subject or "", region=context.region)
    text = redact(submission.text, region=context.region)
    language = guess_language(
        detected,
        hint=submission.language_hint,
        preferred=context.customer.preferred_language,
    )
    sentiment = sentiment_of(submission.subject, submission.text)
    repeat = context.repeat
    priority = priority_of(
        tier=context.customer.tier,
        channel=submission.channel,
        repeat=repeat,
        urgent=is_urgent(submission.subject, submission.text),
        angry=sentiment.angry,
    )
    return ContactReceivedData(
        channel=submission.channel,
        external_id=submission.external_id,
        customer=context.customer.snapshot(new=context.new_customer),
        subject=subject.text if submission.subject is not None else None,
        text=text.text,
        redactions=sorted(set(subject.kinds) | set(text.kinds)),
        language=language,
        concern=classification.guess,
        intent=classification.intent,
        unsure=classification.unsure,
        model_version=classification.model_version,
        required_skills=classification.skills,
        priority=priority.value,
        priority_reasons=priority.reasons,
        sentiment=sentiment,
        escalate=sentiment.angry or (repeat and classification.guess.code == "complaint"),
        repeat_contact=repeat,
        attributes=submission.attributes,
        arrived_at=arrived_at,
    )
