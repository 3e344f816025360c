"""Records' own requests: a customer's personal data to be erased, and a purge of what outlived the
tenant's retention. Both are recorded in the tenant's audit log like every other event."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from frontline.contracts.contacts import ShortText
from frontline.contracts.envelope import Event, EventData, Identifier


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
    before: AwareDatetime = Field(description="Payloads of records that occurred before this were removed.")
    retention_days: int = Field(ge=1)
    records: int = Field(ge=0, description="How many records lost their payload.")
    held: int = Field(ge=0, description="Records kept past retention because of a legal hold.")


class RecordsPurged(Event):
    """Records past the tenant's retention lost their payloads; their leaves, and so every proof, remain."""

    type_name = "records.purged"
    type: Literal["records.purged"] = "records.purged"
    version: Literal[1] = 1
    data: Purge
