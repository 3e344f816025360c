"""Routing's own settings (`FRONTLINE_ROUTING_*`), beside the shared ones."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RoutingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTLINE_ROUTING_", extra="ignore", frozen=True)

    tick_seconds: float = Field(
        default=0.2, gt=0, le=5, description="How often timers (offer expiry, relaxation steps, wrap-up) are checked."
    )
    max_batch: int = Field(default=500, ge=1, le=10_000, description="Input records handled in one transaction.")
    snapshot_every_facts: int = Field(
        default=20_000, ge=1, description="Snapshot a partition's pools after this many facts (recovery replays fewer)."
    )
    snapshot_every_seconds: float = Field(
        default=60.0, gt=0, description="... or after this long, if any fact was written since the last snapshot."
    )
    decisions_kept_per_contact: int = Field(default=20, ge=1, description="Explanations REST keeps per contact.")
    contacts_explained: int = Field(
        default=100_000, ge=100, description="Contacts whose explanations REST keeps, most recent first."
    )


@lru_cache(maxsize=1)
def get_routing_settings() -> RoutingSettings:
    return RoutingSettings()
