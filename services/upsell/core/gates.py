"""The hard gates a suggestion must pass before any ranking, each with its reason code.

Contact gates close the moment for every offer; offer gates rule out one offer. Nothing here
learns or ranks: a closed gate is never outweighed by a high propensity.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from frontline.contracts.contacts import Channel, CustomerSnapshot
from frontline.contracts.upsell import Moment, Offer

INTEREST_CONCERNS = frozenset({"sales_inquiry", "product_question"})
COMPLAINT_CONCERNS = frozenset({"complaint"})


@dataclass(frozen=True)
class UpsellPolicy:
    frequency_cap_days: float = 7
    cool_down_days: float = 30
    per_contact: int = 1
    control_percent: float = 5.0


@dataclass(frozen=True)
class Situation:
    """A contact at the moment a suggestion could be made."""

    tenant: str
    contact_id: str
    agent_id: str | None
    customer: CustomerSnapshot
    channel: Channel
    concern: str
    language: str | None
    angry: bool
    escalated: bool
    moment: Moment
    interest_marked: bool = False


@dataclass
class History:
    """What this customer, contact and offer already had."""

    last_suggested_at: datetime | None = None
    declined_at: dict[str, datetime] = field(default_factory=dict)  # offer id → last decline
    suggestions_in_contact: int = 0
    suggested_today: dict[str, int] = field(default_factory=dict)  # offer id → pool-wide count today


def in_control_group(tenant: str, customer_id: str, percent: float) -> bool:
    """A stable share of customers never gets a suggestion, so uplift can be measured against them."""
    digest = hashlib.sha256(f"{tenant}|{customer_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 10_000 < percent * 100


def closed_contact_gates(situation: Situation, history: History, policy: UpsellPolicy, now: datetime) -> list[str]:
    """Reason codes of the gates that keep every offer out of this moment; empty when open."""
    closed = []
    if situation.agent_id is None:
        closed.append("not_assigned")
    if situation.angry:
        closed.append("angry_customer")
    if situation.escalated:
        closed.append("escalated")
    if situation.concern in COMPLAINT_CONCERNS and situation.moment is not Moment.RESOLVED:
        closed.append("complaint_unresolved")
    if not situation.customer.marketing_consent:
        closed.append("no_consent")
    if situation.channel in situation.customer.opted_out_channels:
        closed.append("opted_out_channel")
    if history.suggestions_in_contact >= policy.per_contact:
        closed.append("contact_limit")
    last = history.last_suggested_at
    if last is not None and now - last < timedelta(days=policy.frequency_cap_days):
        closed.append("frequency_cap")
    interest = situation.interest_marked or situation.concern in INTEREST_CONCERNS
    if not interest and situation.moment is Moment.ASSIGNED:
        closed.append("not_the_moment")
    if in_control_group(situation.tenant, situation.customer.customer_id, policy.control_percent):
        closed.append("control_group")
    return closed


def closed_offer_gate(
    offer: Offer, situation: Situation, history: History, policy: UpsellPolicy, now: datetime
) -> str | None:
    """The first reason this offer may not be suggested here, or None."""
    if (
        not offer.active
        or (offer.valid_from and now < offer.valid_from)
        or (offer.valid_until and now >= offer.valid_until)
    ):
        return "offer_inactive"
    if offer.concerns and situation.concern not in offer.concerns:
        return "concern_not_applicable"
    if offer.channels and situation.channel not in offer.channels:
        return "channel_not_applicable"
    rules, customer = offer.eligibility, situation.customer
    owned = set(customer.products)
    if offer.product in owned:
        return "already_owned"
    if rules.owns_any and not owned & set(rules.owns_any):
        return "not_eligible_products"
    if owned & set(rules.owns_none):
        return "not_eligible_products"
    if rules.tiers and customer.tier not in rules.tiers:
        return "not_eligible_tier"
    if rules.exclude_new_customers and customer.new_customer:
        return "not_eligible_new_customer"
    declined = history.declined_at.get(offer.offer_id)
    if declined is not None and now - declined < timedelta(days=policy.cool_down_days):
        return "cool_down"
    if offer.daily_cap is not None and history.suggested_today.get(offer.offer_id, 0) >= offer.daily_cap:
        return "daily_cap"
    return None
