"""The hard gates of the moment, each with its reason code, asked before any ranking.

A closed contact gate keeps every offer out; the offer gates (one offer each) are in catalog.py.
Nothing here learns or ranks: a closed gate is never outweighed by a high propensity.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from frontline.contracts.contacts import Channel, CustomerSnapshot
from frontline.contracts.upsell import Moment

INTEREST_CONCERNS = frozenset({"sales_inquiry", "product_question"})
COMPLAINT_CONCERNS = frozenset({"complaint"})


@dataclass(frozen=True)
class UpsellPolicy:
    """A tenant's contact policy and the learner's knobs (`FRONTLINE_UPSELL_*` sets the defaults)."""

    frequency_cap_days: float = 7
    cool_down_days: float = 30
    per_contact: int = 1
    control_percent: float = 5.0
    exploration: float = 0.05  # share of decisions that pick uniformly among the open offers
    prior_accepts: float = 1.0
    prior_refusals: float = 9.0  # a prior mean of 10%: most suggestions are not taken


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
    resolved: bool = False  # the contact was completed as resolved (only at the resolved moment)

    @property
    def interest(self) -> bool:
        """The customer showed interest: by their concern, or as the agent marked it."""
        return self.interest_marked or self.moment is Moment.INTEREST or self.concern in INTEREST_CONCERNS


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
    if situation.concern in COMPLAINT_CONCERNS and not situation.resolved:
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
    if not situation.interest and not situation.resolved:
        closed.append("not_the_moment")
    if in_control_group(situation.tenant, situation.customer.customer_id, policy.control_percent):
        closed.append("control_group")
    return closed
