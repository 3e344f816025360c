"""Contact events: a contact submitted by another system, and received (understood) by intake."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from frontline.contracts.envelope import DocumentKey, Event, EventData, Timestamp

ShortText = Annotated[str, StringConstraints(max_length=500)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
MAX_TEXT_LENGTH = 20_000
MAX_ATTRIBUTES = 50
MAX_SKILLS = 50
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]


class Channel(StrEnum):
    VOICE = "voice"
    EMAIL = "email"
    CHAT = "chat"
    WEB_FORM = "web_form"
    MESSAGING = "messaging"
    SMS = "sms"
    POSTAL_MAIL = "postal_mail"
    FAX = "fax"
    WALK_IN = "walk_in"


class CustomerIdentifiers(EventData):
    """How the customer can be recognised; at least one of reference, email or phone."""

    reference: ShortText | None = Field(default=None, description="The company's customer reference number.")
    email: ShortText | None = None
    phone: ShortText | None = Field(default=None, description="Any format; intake normalises to E.164.")
    name: ShortText | None = None

    @model_validator(mode="after")
    def _identifies_someone(self) -> Self:
        if not (self.reference or self.email or self.phone):
            raise ValueError("customer needs at least one of reference, email or phone")
        return self


class ContactSubmittedData(EventData):
    channel: Channel
    external_id: ShortText | None = Field(
        default=None, description="The contact's id in the submitting system; (source, external_id) is idempotent."
    )
    idempotency_key: ShortText | None = Field(default=None, description="Same key, same contact.")
    customer: CustomerIdentifiers
    subject: ShortText | None = None
    text: Text = ""
    language_hint: LanguageCode | None = Field(default=None, description="ISO 639-1 code, if the source knows it.")
    attributes: dict[DocumentKey, ShortText] = Field(
        default_factory=dict, max_length=MAX_ATTRIBUTES, description="Free-form source metadata."
    )


class ContactSubmitted(Event):
    """Another system hands a contact to Frontline (on `frontline.contacts.inbound`)."""

    type_name = "contact.submitted"
    type: Literal["contact.submitted"] = "contact.submitted"
    version: Literal[1] = 1
    data: ContactSubmittedData


class SkillRequirement(EventData):
    skill: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    min_proficiency: int = Field(default=1, ge=1, le=5)


class LanguageGuess(EventData):
    code: LanguageCode
    confidence: float = Field(ge=0, le=1)
    method: Literal["detected", "hint", "customer_profile", "default"]


class ConcernGuess(EventData):
    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    confidence: float = Field(ge=0, le=1)


# A tenant's own label for what a customer wants (an intent such as card_arrival, or a concern):
# letters and digits of any script and a few joiners; no dot or dollar, so it can name a store field.
Label = Annotated[str, StringConstraints(pattern=r"^[^\W_][\w ?:/()&'+-]{0,99}$")]


class IntentGuess(EventData):
    code: Label
    confidence: float = Field(ge=0, le=1)


class Sentiment(EventData):
    score: float = Field(ge=-1, le=1, description="-1 very negative … +1 very positive.")
    angry: bool = Field(description="Flagged for escalation; upsell never targets an angry customer.")


class CustomerSnapshot(EventData):
    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    tier: ShortText = "standard"
    products: list[ShortText] = Field(default_factory=list, max_length=200)
    preferred_language: LanguageCode | None = None
    marketing_consent: bool = False
    opted_out_channels: list[Channel] = Field(default_factory=list, max_length=len(Channel))
    new_customer: bool = False


class ContactReceivedData(EventData):
    channel: Channel
    external_id: ShortText | None = None
    customer: CustomerSnapshot
    subject: ShortText | None = Field(default=None, description="Redacted of personal and payment data.")
    text: Text = Field(default="", description="Redacted of personal and payment data.")
    redactions: list[ShortText] = Field(
        default_factory=list, max_length=20, description="Kinds of data redacted, e.g. card."
    )
    language: LanguageGuess
    concern: ConcernGuess
    intent: IntentGuess | None = Field(
        default=None, description="The tenant's concern model's best intent, when a model classified the contact."
    )
    unsure: bool = Field(
        default=False,
        description="The model's best concern was below the confidence threshold: routed as the fallback concern.",
    )
    model_version: int | None = Field(
        default=None, ge=1, le=2**31, description="The concern model version that classified it; none: the keywords."
    )
    required_skills: list[SkillRequirement] = Field(default_factory=list, max_length=MAX_SKILLS)
    priority: int = Field(ge=0, le=100, description="Higher is more urgent.")
    priority_reasons: list[ShortText] = Field(default_factory=list, max_length=20)
    sentiment: Sentiment
    escalate: bool = False
    repeat_contact: bool = Field(default=False, description="Same customer, same concern within 7 days.")
    arrived_at: Timestamp | None = Field(default=None, description="When the customer made contact.")
    attributes: dict[DocumentKey, ShortText] = Field(default_factory=dict, max_length=MAX_ATTRIBUTES)


class ContactReceived(Event):
    """Intake validated, identified, understood and redacted a contact; routing takes it from here."""

    type_name = "contact.received"
    type: Literal["contact.received"] = "contact.received"
    version: Literal[1] = 1
    data: ContactReceivedData
