"""Upsell's own settings (`FRONTLINE_UPSELL_*`), beside the shared ones: the contact policy every
tenant gets and the learner's knobs."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.upsell.core.gates import UpsellPolicy


class UpsellSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTLINE_UPSELL_", extra="ignore", frozen=True)

    frequency_cap_days: float = Field(default=7, ge=0, description="At most one suggestion per customer this often.")
    cool_down_days: float = Field(default=30, ge=0, description="No repeat of an offer the customer declined.")
    per_contact: int = Field(default=1, ge=1, le=5, description="Suggestions per contact at most.")
    control_percent: float = Field(default=5, ge=0, le=50, description="Customers held out to measure uplift.")
    exploration: float = Field(default=0.05, gt=0, le=1, description="Decisions that pick uniformly.")
    prior_accepts: float = Field(default=1, gt=0, description="Beta prior: pseudo-acceptances per offer.")
    prior_refusals: float = Field(default=9, gt=0, description="Beta prior: pseudo-refusals per offer.")
    catalog_refresh_seconds: float = Field(
        default=5, gt=0, description="How stale a worker's copy of a catalog edited in another process may be."
    )
    keep_days: float = Field(
        default=90, gt=0, description="Decisions kept for the log and the gates (the topics' retention)."
    )
    max_batch: int = Field(default=500, ge=1, le=10_000, description="Input records handled between commits.")
    contacts_in_memory: int = Field(default=200_000, ge=100, description="Open contacts kept in memory.")

    def policy(self) -> UpsellPolicy:
        return UpsellPolicy(
            frequency_cap_days=self.frequency_cap_days,
            cool_down_days=self.cool_down_days,
            per_contact=self.per_contact,
            control_percent=self.control_percent,
            exploration=self.exploration,
            prior_accepts=self.prior_accepts,
            prior_refusals=self.prior_refusals,
        )


@lru_cache(maxsize=1)
def get_upsell_settings() -> UpsellSettings:
    return UpsellSettings()
