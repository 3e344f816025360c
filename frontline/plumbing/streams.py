"""faust-streaming at the edge: one app per service, and agents that speak the event contract."""

from __future__ import annotations

from collections.abc import Iterable

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from prometheus_client import REGISTRY

from frontline.plumbing.kernel import Door, Handler, process
from frontline.plumbing.settings import Settings


def _credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    connection = settings.kafka_connection()
    if settings.kafka_security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=connection["sasl_plain_username"],
            password=connection["sasl_plain_password"],
            mechanism=connection["sasl_mechanism"],
            ssl_context=connection.get("ssl_context"),
        )
    if settings.kafka_security_protocol == "SSL":
        return faust.SSLCredentials(connection["ssl_context"])
    return None


def create_faust_app(settings: Settings, *, service: str) -> faust.App:
    """A faust app whose consumer group is the service; values stay raw bytes until validated."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{settings.kafka_group_prefix}-{service}",
        broker=[f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(",")],
        broker_credentials=_credentials(settings),
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        datadir=str(settings.data_dir / service),
        topic_partitions=settings.kafka_topic_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        topic_allow_declare=settings.kafka_create_topics,
        topic_disable_leader=True,
        web_enabled=False,
        producer_acks=-1,
        consumer_auto_offset_reset=settings.kafka_offset_reset,
        autodiscover=False,
        # a crashed worker's partitions move to the others after 15 s, not faust's default 60 s
        broker_session_timeout=15.0,
        broker_heartbeat_interval=3.0,
    )
    setup_prometheus_sensors(app, registry=REGISTRY, name_prefix=f"faust_{service}")
    return app


def consume(
    app: faust.App, *, name: str, topics: Iterable[str], handler: Handler, door: Door, concurrency: int = 1
) -> None:
    """Run `handler` on every valid event of `topics` through the consumer kernel: what a message
    causes dead-letters it, an outage is waited out.

    faust commits an offset once the agent has moved past its message, so a crash
    re-delivers the message in hand rather than losing it.
    """
    channel = app.topic(*topics, value_serializer="raw", key_serializer="raw")

    async def agent(stream: faust.StreamT[bytes]) -> None:
        async for message in stream.events():
            await process(message.message, handler, door)

    app.agent(channel, name=name, concurrency=concurrency)(agent)
