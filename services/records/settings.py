"""Records' own settings (`FRONTLINE_RECORDS_*`), beside the shared ones."""

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.records.core.kpis import THRESHOLDS


class RecordsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTLINE_RECORDS_", extra="ignore", frozen=True)

    signing_key: SecretStr | None = Field(
        default=None,
        description="Base64 of the 32-byte Ed25519 seed that signs tree heads. Unset: one is made and kept "
        "in the store (development only: whoever can write the store could then re-sign a forged log).",
    )
    retention_days: int = Field(default=365, ge=1, description="Default retention; a tenant may set its own.")
    service_level_seconds: int = Field(
        default=20, description="Default T of the service level; one of the kept thresholds."
    )
    purge_every_seconds: float = Field(default=3600, gt=0, description="How often the purge job runs.")
    checkpoint_seconds: float = Field(default=60, gt=0, description="How often a signed tree head is kept.")
    max_batch: int = Field(
        default=5000,
        ge=1,
        le=10_000,
        description="Input records handled between commits. A bigger batch writes a subject's head once for "
        "more of its events (5,000 recorded 1.3x the events/s of 1,000 in the records benchmark).",
    )
    audit_seconds: float = Field(
        default=600,
        gt=0,
        le=86_400,
        description="How long a check of a tenant's whole log (`GET /v1/verify/log`) may read the store.",
    )
    documents_in_memory: int = Field(
        default=100_000, ge=100, description="Subject heads, customers and KPI buckets cached by the worker."
    )

    @field_validator("service_level_seconds")
    @classmethod
    def _kept_threshold(cls, value: int) -> int:
        if value not in THRESHOLDS:
            raise ValueError(f"must be one of {', '.join(map(str, THRESHOLDS))} seconds")
        return value


@lru_cache(maxsize=1)
def get_records_settings() -> RecordsSettings:
    return RecordsSettings()
