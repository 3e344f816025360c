"""Soft-sales offers, the suggestions shown to agents, and what the customer said to them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from frontline.contracts.contacts import Channel, LanguageCode, ShortText
from frontline.contracts.envelope import MAX_MONEY, Count, DocumentKey, Event, EventData, Identifier, Timestamp, Version

OfferId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MAX_OFFERS = 1000  # in a tenant's catalog
Script = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class Eligibility(EventData):
    """Who may be offered it; an empty list does not restrict."""

    owns_any: list[Code] = Field(
        default_factory=list, max_length=200, description="The customer owns at least one of these."
    )
    owns_none: list[Code] = Field(default_factory=list, max_length=200, description="The customer owns none of these.")
    tiers: list[ShortText] = Field(default_factory=list, max_length=20)
    exclude_new_customers: bool = Field(default=False, description="Not to a customer in their first contact.")


class OfferSettings(EventData):
    """An offer as REST takes it; the offer id comes from the path."""

    product: Code
    eligibility: Eligibility = Field(default_factory=Eligibility)
    concerns: list[Code] = Field(default_factory=list, max_length=200, description="Concerns it fits; empty fits all.")
    channels: list[Channel] = Field(
        default_factory=list, max_length=len(Channel), description="Channels it may be offered on; empty: all."
    )
    value: float = Field(gt=0, le=MAX_MONEY, description="Expected revenue if accepted.")
    weight: float = Field(default=1.0, gt=0, le=10, description="Business weight in the ranking.")
    scripts: dict[LanguageCode, Script] = Field(
        max_length=50, description="What the agent may say, per language; English is the fallback and is required."
    )
    valid_from: Timestamp | None = None
    valid_until: Timestamp | None = None
    active: bool = True
    daily_cap: int | None = Field(
        default=None, ge=1, le=10_000_000, description="Suggestions of this offer per day, pool-wide."
    )

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if "en" not in self.scripts:
            raise ValueError("scripts: an English script ('en') is required as the fallback")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until: must be after valid_from")
        return self

    def script_in(self, language: str | None) -> tuple[str, str]:
        """The script in the customer's language, else English; and the language used."""
        base = (language or "en").split("-")[0]
        return (self.scripts[base], base) if base in self.scripts else (self.scripts["en"], "en")


class Offer(OfferSettings):
    offer_id: OfferId
    version: Version = 1


class Moment(StrEnum):
    """When a suggestion may be decided: the agent got the contact, marked interest, or resolved it."""

    ASSIGNED = "assigned"
    INTEREST = "interest"
    RESOLVED = "resolved"


class SuggestionData(EventData):
    suggestion_id: Identifier = Field(description="The decision's id: one per contact and moment.")
    contact_id: Identifier
    agent_id: Identifier
    customer_id: Identifier
    offer_id: OfferId
    offer_version: Version
    moment: Moment
    script: Script
    language: LanguageCode
    reasons: list[Code] = Field(max_length=50, description="Why this offer, e.g. sales_inquiry, owns:broadband.")
    propensity: float = Field(ge=0, le=1, description="The learned acceptance probability used in ranking.")
    choice_probability: float = Field(
        gt=0, le=1, description="How likely the policy was to choose this offer here; for off-policy evaluation."
    )
    score: float = Field(ge=-MAX_MONEY, le=MAX_MONEY)
    segment: ShortText = Field(description="The customer segment whose propensities were used.")
    candidates: list[OfferId] = Field(
        default_factory=list,
        max_length=MAX_OFFERS,
        description="Every offer that passed the gates: what an offline evaluation may choose.",
    )


class OfferSuggested(Event):
    """A suggestion shown to the agent handling a contact."""

    type_name = "offer.suggested"
    type_version = 2  # v2: the segment and the open offers, for offline evaluation
    type: Literal["offer.suggested"] = "offer.suggested"
    version: Literal[2] = 2
    data: SuggestionData


class HeldOut(EventData):
    """What the policy would have suggested to a customer in the control group."""

    offer_id: OfferId
    offer_version: Version
    propensity: float = Field(ge=0, le=1)


class NoSuggestionData(EventData):
    suggestion_id: Identifier = Field(description="The decision's id: one per contact and moment.")
    contact_id: Identifier
    agent_id: Identifier | None = None
    customer_id: Identifier
    moment: Moment
    reasons: list[Code] = Field(
        max_length=50, description="The gates that were closed, e.g. angry_customer, frequency_cap."
    )
    excluded: dict[DocumentKey, Count] = Field(
        default_factory=dict, max_length=50, description="Offers ruled out, counted by reason."
    )
    held_out: HeldOut | None = Field(
        default=None, description="Control group only: the offer withheld, so uplift can be measured."
    )


class NoOfferSuggested(Event):
    """A moment at which no suggestion was made, and why: the decision log keeps these too."""

    type_name = "upsell.no_suggestion"
    type: Literal["upsell.no_suggestion"] = "upsell.no_suggestion"
    version: Literal[1] = 1
    data: NoSuggestionData


class InterestData(EventData):
    contact_id: Identifier
    agent_id: Identifier
    note: ShortText | None = None


class InterestMarked(Event):
    """The agent marked the customer as interested in buying: a moment for a suggestion."""

    type_name = "upsell.interest_marked"
    type: Literal["upsell.interest_marked"] = "upsell.interest_marked"
    version: Literal[1] = 1
    data: InterestData


class OutcomeKind(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IGNORED = "ignored"


class OutcomeData(EventData):
    suggestion_id: Identifier = Field(
        description="A suggestion's decision id; or a held-out decision's, when a control-group customer bought "
        "the withheld offer's product anyway (accepted) — the baseline uplift is measured against."
    )
    offer_id: OfferId
    customer_id: Identifier
    outcome: OutcomeKind
    revenue: float = Field(default=0, ge=0, le=MAX_MONEY)


class SuggestionAnswered(Event):
    """What the customer said to a suggestion (counted once per decision, however often it arrives)."""

    type_name = "upsell.outcome"
    type: Literal["upsell.outcome"] = "upsell.outcome"
    version: Literal[1] = 1
    data: OutcomeData
