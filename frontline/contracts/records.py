"""Records' own requests: a customer's personal data to be erased, and a purge of what outlived the
tenant's retention. Both are recorded in the tenant's audit log like every other event."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from frontline.contracts.contacts import ShortText
from frontline.contracts.envelope import Count, Event, EventData, Identifier, Timestamp


class Erasure(EventData):
    customer_id: Identifier
    reason: ShortText = Field(description="Why, e.g. gdpr_article_17.")
    requested_by: Identifier = Field(description="The API key's name that asked for it.")


class CustomerErasureRequested(Event):
    """Erase a customer's personal data: records destroys the customer's key when it records this
    event, so every payload it holds about the customer becomes unreadable; hashes and proofs stay."""

    type_name = "customer.erasure_requested"
    type: Literal["customer.erasure_requested"] = "customer.erasure_requested"
    version: Literal[1] = 1
    data: Erasure


class Purge(EventData):
    before: Timestamp = Field(description="Payloads of records that occurred before this were removed.")
    retention_days: int = Field(ge=1, le=36_500)
    records: Count = Field(description="How many records lost their payload.")
    held: Count = Field(description="Records kept past retention because of a legal hold.")


class RecordsPurged(Event):
    """Records past the tenant's retention lost their payloads; their leaves, and so every proof, remain."""

    type_name = "records.purged"
    type: Literal["records.purged"] = "records.purged"
    version: Literal[1] = 1
    data: Purge
