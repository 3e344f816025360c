"""The customer profile intake keeps: who they are and what routing and upsell may need to know."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from frontline.contracts.contacts import Channel, CustomerSnapshot, LanguageCode

Tier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
Product = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class CustomerProfile(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    tenant: str
    reference: str | None = None
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    name: str | None = None
    tier: Tier = "standard"
    products: list[Product] = Field(default_factory=list)
    preferred_language: LanguageCode | None = None
    marketing_consent: bool = False
    opted_out_channels: list[Channel] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    def snapshot(self, *, new: bool) -> CustomerSnapshot:
        return CustomerSnapshot(
            customer_id=self.customer_id,
            tier=self.tier,
            products=self.products,
            preferred_language=self.preferred_language,
            marketing_consent=self.marketing_consent,
            opted_out_channels=self.opted_out_channels,
            new_customer=new,
        )


class ProfileUpdate(BaseModel):
    """A partial update: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    reference: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    tier: Tier | None = None
    products: list[Product] | None = Field(default=None, max_length=200)
    preferred_language: LanguageCode | None = None
    marketing_consent: bool | None = None
    opted_out_channels: list[Channel] | None = Field(default=None, max_length=len(Channel))

    @model_validator(mode="after")
    def _null_only_where_a_profile_may_be_empty(self) -> Self:
        """`name`, `reference` and `preferred_language` may be cleared with null; the others always hold a value."""
        cleared = [
            f for f in ("tier", "products", "marketing_consent", "opted_out_channels") if f in self.model_fields_set
        ]
        if nulls := [f for f in cleared if getattr(self, f) is None]:
            raise ValueError(f"{', '.join(nulls)}: may not be null (leave a field out to keep it)")
        return self
