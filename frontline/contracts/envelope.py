"""The one envelope every Frontline event travels in (docs/DESIGN.md §2)."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from typing import Annotated, ClassVar, Self, TypeVar
from uuid import UUID, uuid4

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

TenantId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128)]
# A key that becomes a document key in the store: no `$` operator prefix, no `.` path, no NUL.
DocumentKey = Annotated[str, StringConstraints(pattern=r"^[^$.\x00][^.\x00]{0,63}$")]
Count = Annotated[int, Field(ge=0, le=2**53)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
MAX_MONEY = 1e12
MAX_SECONDS = 1e9  # about 31 years: any duration a contact center measures
MAX_EVENT_BYTES = 900_000  # the broker takes messages up to 1 MiB, headers and batch overhead included
EARLIEST_YEAR, LATEST_YEAR = 1970, 2099


def _plausible(moment: datetime) -> datetime:
    """In UTC, and inside the years a contact center's records can hold (year 1 and 9999 are typos
    or attacks; both overflow date arithmetic). The year is checked before any conversion can overflow."""
    if not EARLIEST_YEAR < moment.year < LATEST_YEAR:
        raise ValueError(f"must lie between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment.astimezone(UTC)


Timestamp = Annotated[
    AwareDatetime,
    AfterValidator(_plausible),
    Field(
        json_schema_extra={
            "formatMinimum": f"{EARLIEST_YEAR + 1}-01-01T00:00:00Z",
            "formatMaximum": f"{LATEST_YEAR}-01-01T00:00:00Z",
        }
    ),
]
E = TypeVar("E", bound="Event")


class EventData(BaseModel):
    """Base of every event's `data`. Unknown fields are ignored so that additive changes
    made by a newer producer never break an older consumer."""

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)


class EventTooLarge(ValueError):
    """An event whose JSON would exceed what the broker carries."""


class Event(BaseModel):
    """An immutable fact. Subclasses fix `type`, `version` and the shape of `data`."""

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)

    type_name: ClassVar[str]
    type_version: ClassVar[int] = 1

    id: UUID = Field(description="Unique per event; consumers are idempotent on it.")
    type: str
    version: int
    occurred_at: Timestamp = Field(description="When the fact happened, UTC.")
    source: Identifier = Field(description="The system or service that produced the event.")
    tenant: TenantId = Field(description="The company this event belongs to.")
    contact_id: Identifier | None = Field(default=None, description="The contact it is about, if any.")
    correlation_id: Identifier = Field(description="Ties together everything about one contact.")
    causation_id: Identifier | None = Field(default=None, description="The id of the event that caused this one.")
    data: EventData

    @classmethod
    def new(
        cls,
        *,
        data: EventData,
        tenant: str,
        source: str,
        occurred_at: datetime,
        contact_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Self:
        """A first event in a story; its correlation id defaults to its contact id or its own id."""
        event_id = uuid4()
        return cls(
            id=event_id,
            type=cls.type_name,
            version=cls.type_version,
            occurred_at=occurred_at,
            source=source,
            tenant=tenant,
            contact_id=contact_id,
            data=data,
            correlation_id=correlation_id or contact_id or str(event_id),
        )

    def caused(
        self,
        follow_up: builtins.type[E],
        *,
        data: EventData,
        source: str,
        occurred_at: datetime,
        contact_id: str | None = None,
    ) -> E:
        """An event caused by this one: same tenant and correlation, causation pointing here."""
        return follow_up(
            id=uuid4(),
            type=follow_up.type_name,
            version=follow_up.type_version,
            occurred_at=occurred_at,
            source=source,
            tenant=self.tenant,
            contact_id=contact_id or self.contact_id,
            correlation_id=self.correlation_id,
            causation_id=str(self.id),
            data=data,
        )

    def to_json(self) -> bytes:
        """The event as it travels; EventTooLarge if it would not fit in a broker message."""
        encoded = self.model_dump_json().encode()
        if len(encoded) > MAX_EVENT_BYTES:
            raise EventTooLarge(f"the event is {len(encoded):,} bytes as JSON; at most {MAX_EVENT_BYTES:,} are carried")
        return encoded
