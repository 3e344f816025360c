"""The one envelope every Frontline event travels in (DESIGN.md §2)."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from typing import Annotated, ClassVar, Self, TypeVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

TenantId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128)]
E = TypeVar("E", bound="Event")


class EventData(BaseModel):
    """Base of every event's `data`. Unknown fields are ignored so that additive changes
    made by a newer producer never break an older consumer."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Event(BaseModel):
    """An immutable fact. Subclasses fix `type`, `version` and the shape of `data`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type_name: ClassVar[str]
    type_version: ClassVar[int] = 1

    id: UUID = Field(description="Unique per event; consumers are idempotent on it.")
    type: str
    version: int
    occurred_at: AwareDatetime = Field(description="When the fact happened, UTC.")
    source: Identifier = Field(description="The system or service that produced the event.")
    tenant: TenantId = Field(description="The company this event belongs to.")
    contact_id: Identifier | None = Field(default=None, description="The contact it is about, if any.")
    correlation_id: Identifier = Field(description="Ties together everything about one contact.")
    causation_id: Identifier | None = Field(default=None, description="The id of the event that caused this one.")
    data: EventData

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

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
        return self.model_dump_json().encode()
