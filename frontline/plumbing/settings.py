"""Typed configuration, read once per process from environment variables.

Most variables carry the `FRONTLINE_` prefix; the two connection strings also answer
to their conventional names `KAFKA_BOOTSTRAP_SERVERS` and `MONGODB_URL`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from aiokafka.helpers import create_ssl_context
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from frontline.plumbing.auth import ApiKey, development_keys
from frontline.plumbing.signing import EventKey, EventKeys

Environment = Literal["development", "test", "production"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTLINE_", extra="ignore", frozen=True)

    environment: Environment = Field(
        default="development",
        description="development, test or production (production refuses plain-text and well-known keys).",
    )
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "FRONTLINE_KAFKA_BOOTSTRAP_SERVERS"),
        description="The Kafka brokers; set, `make infra-up` starts no local one.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="SASL_SSL with SCRAM-SHA-512 for a Strimzi KafkaUser on a TLS listener."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", description="With SASL: the mechanism."
    )
    kafka_sasl_username: str | None = Field(default=None, description="With SASL (required): the KafkaUser's name.")
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="With SASL (required): the KafkaUser secret's password."
    )
    kafka_ssl_cafile: Path | None = Field(
        default=None, description="The cluster CA (Strimzi: <cluster>-cluster-ca-cert)."
    )
    kafka_topic_partitions: int = Field(default=3, ge=1, description="Partitions of the topics the services create.")
    kafka_replication_factor: int = Field(default=1, ge=1, description="Replicas of the topics the services create.")
    kafka_create_topics: bool = Field(
        default=True, description="Create missing topics at start-up (off where Strimzi manages them)."
    )
    kafka_group_prefix: str = Field(
        default="frontline",
        pattern=r"^[A-Za-z0-9._-]{1,100}$",
        description="Consumer groups are <prefix>-<service>; a new prefix starts a fresh group.",
    )
    kafka_offset_reset: Literal["earliest", "latest"] = Field(
        default="earliest", description="Where a consumer group without committed offsets starts."
    )
    kafka_fetch_wait_ms: int = Field(
        default=20,
        ge=1,
        le=500,
        description="How long the broker may hold a worker's fetch when its partitions have nothing new. "
        "While some partitions' records wait to be handled, the next fetch asks only for the others, so "
        "this bounds how late new records can be read; each idle worker fetches 1000/this times a second "
        "(about 3% of a core at 20 ms, 0.5% at Kafka's default of 500).",
    )
    mongodb_url: str = Field(
        default="mongodb://127.0.0.1:27017/",
        validation_alias=AliasChoices("MONGODB_URL", "FRONTLINE_MONGODB_URL"),
        description="The MongoDB (or MongoDB-wire) server; set, `make infra-up` starts no local FerretDB.",
    )
    mongodb_database: str = Field(
        default="frontline", description="The database every service keeps its collections in."
    )
    http_host: str = Field(default="127.0.0.1", description="Where the REST API listens.")
    http_port: int | None = Field(default=None, ge=1, le=65535, description="Defaults per service.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="JSON logs on stdout, naming tenant, correlation, contact and event ids."
    )
    shutdown_grace_seconds: float = Field(default=20.0, gt=0, description="Drain time on SIGTERM.")
    http_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, description="Larger request bodies get 413.")
    event_keys: list[EventKey] = Field(
        default_factory=list,
        description="JSON list of {id, secret, tenant | service}: the keys Kafka messages are signed with.",
    )
    api_keys: list[ApiKey] = Field(
        default_factory=list, description="JSON list of {name, tenant, role, sha256}; development adds well-known keys."
    )

    @model_validator(mode="after")
    def _kafka_credentials_complete(self) -> Settings:
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"kafka_security_protocol {self.kafka_security_protocol} needs FRONTLINE_KAFKA_SASL_USERNAME "
                "and FRONTLINE_KAFKA_SASL_PASSWORD"
            )
        return self

    @model_validator(mode="after")
    def _no_default_secrets_outside_development(self) -> Settings:
        plain = [key.name for key in self.api_keys if key.key is not None]
        if self.environment == "production" and plain:
            raise ValueError(f"api_keys {plain} are given in plain text; give their sha256 in production")
        if self.environment == "production" and not self.api_keys:
            raise ValueError("FRONTLINE_API_KEYS must be set in production")
        return self

    def kafka_connection(self) -> dict[str, Any]:
        """The options every aiokafka client of a service connects with: servers and security."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.kafka_bootstrap_servers,
            "security_protocol": self.kafka_security_protocol,
        }
        if self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            options["ssl_context"] = create_ssl_context(
                cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None
            )
        if self.kafka_security_protocol.startswith("SASL"):
            assert self.kafka_sasl_password is not None  # checked at validation
            options |= {
                "sasl_mechanism": self.kafka_sasl_mechanism,
                "sasl_plain_username": self.kafka_sasl_username,
                "sasl_plain_password": self.kafka_sasl_password.get_secret_value(),
            }
        return options

    def signing_keys(self) -> EventKeys:
        """The event keys; outside production also the well-known development keys."""
        return EventKeys(self.event_keys, development=self.environment != "production")

    def effective_api_keys(self) -> list[ApiKey]:
        """The configured keys, plus the well-known development keys outside production."""
        return [*self.api_keys, *(development_keys() if self.environment != "production" else [])]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
