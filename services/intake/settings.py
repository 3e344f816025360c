"""Intake's own settings (`FRONTLINE_INTAKE_*`), beside the shared ones."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTLINE_INTAKE_", extra="ignore", frozen=True)

    default_region: str = Field(
        default="NL",
        pattern=r"^[A-Z]{2}$",
        description="ISO country whose conventions read phone numbers written without a country code.",
    )
    republish_after_seconds: float = Field(
        default=10.0, gt=0, description="A stored contact whose event is not yet published is re-sent after this."
    )
    taxonomy_cache_seconds: float = Field(
        default=30.0, ge=0, description="How long a tenant's taxonomy and live model choice are cached per process."
    )
    unsure_below: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="A concern model's confidence below which a contact routes as unsure (the fallback concern).",
    )
    training_poll_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="How often intake looks for tenants whose examples changed."
    )
    training_pause_seconds: float = Field(
        default=3600.0,
        ge=0,
        le=7 * 86_400,
        description="Least time between two trainings of a tenant on agents' corrections (an upload trains at once).",
    )
    models_kept: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Model versions per tenant whose bytes are kept for rollback (and the live one).",
    )
    training_lease_seconds: float = Field(
        default=1800.0,
        ge=60,
        le=86_400,
        description="How long one process may train a tenant before another may take it over (after a crash).",
    )
    training_max_memory_bytes: int = Field(
        default=2 * 1024**3,
        ge=512 * 1024**2,
        le=256 * 1024**3,
        description="Address space of the training process; a training that needs more fails with the reason "
        "(BANKING77's 10,003 examples peak at ~0.95 GB).",
    )
    models_in_memory: int = Field(
        default=20, ge=1, le=1000, description="Live concern models kept loaded per process (least recently used go)."
    )
    rest_max_in_flight: int = Field(
        default=2000,
        ge=1,
        description="REST requests for contacts in flight at once (they share batches); beyond it 503 + Retry-After.",
    )
    training_max_body_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024 * 1024,
        le=1024 * 1024 * 1024,
        description="Largest upload of labelled examples (`POST /v1/training-examples`); larger bodies get 413.",
    )
    max_batch: int = Field(
        default=500, ge=1, le=5000, description="Contacts worked at once: a Kafka fetch, or REST requests waiting."
    )


@lru_cache(maxsize=1)
def get_intake_settings() -> IntakeSettings:
    return IntakeSettings()
