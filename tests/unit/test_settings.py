import json
import ssl

import pytest
from pydantic import ValidationError

from frontline.plumbing.auth import digest
from frontline.plumbing.settings import Settings


def test_conventional_connection_variables_are_honoured(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9092,kafka-1:9092")
    monkeypatch.setenv("MONGODB_URL", "mongodb://db:27017/")
    settings = Settings()
    assert settings.kafka_bootstrap_servers == "kafka-0:9092,kafka-1:9092"
    assert settings.mongodb_url == "mongodb://db:27017/"


def test_development_brings_well_known_keys():
    names = {key.name for key in Settings(environment="development").effective_api_keys()}
    assert {"dev-acme-admin", "dev-globex-agent", "dev-acme-system"} <= names


def test_production_refuses_to_start_without_keys():
    with pytest.raises(ValidationError, match="FRONTLINE_API_KEYS must be set in production"):
        Settings(environment="production")


def test_production_refuses_plain_text_keys(monkeypatch):
    monkeypatch.setenv(
        "FRONTLINE_API_KEYS", json.dumps([{"name": "ops", "tenant": "acme", "role": "admin", "key": "plain-text-key"}])
    )
    with pytest.raises(ValidationError, match="give their sha256 in production"):
        Settings(environment="production")


def test_production_uses_only_its_own_hashed_keys(monkeypatch):
    monkeypatch.setenv(
        "FRONTLINE_API_KEYS",
        json.dumps([{"name": "ops", "tenant": "acme", "role": "admin", "sha256": digest("long-random-key")}]),
    )
    keys = Settings(environment="production").effective_api_keys()
    assert [key.name for key in keys] == ["ops"]


def test_a_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("FRONTLINE_HTTP_PORT", "99999")
    with pytest.raises(ValidationError, match="http_port"):
        Settings()


def test_kafka_connects_in_plain_text_locally():
    settings = Settings()
    assert settings.kafka_connection() == {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": "PLAINTEXT",
    }


def test_kafka_over_sasl_needs_a_user_and_a_password(monkeypatch):
    monkeypatch.setenv("FRONTLINE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(ValidationError, match="FRONTLINE_KAFKA_SASL_USERNAME and FRONTLINE_KAFKA_SASL_PASSWORD"):
        Settings()


def test_kafka_over_sasl_ssl_carries_the_strimzi_user_and_a_tls_context(monkeypatch):
    monkeypatch.setenv("FRONTLINE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("FRONTLINE_KAFKA_SASL_USERNAME", "frontline-intake")
    monkeypatch.setenv("FRONTLINE_KAFKA_SASL_PASSWORD", "s3cret-from-the-kafkauser-secret")
    options = Settings().kafka_connection()
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "frontline-intake",
        "s3cret-from-the-kafkauser-secret",
    )
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert "s3cret" not in repr(Settings()), "the password is a secret in logs and reprs"
