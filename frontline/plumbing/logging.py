"""Structured JSON logs on stdout, carrying the service name and the ids of the event in hand."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import structlog


def configure_logging(*, service: str, level: str = "INFO") -> None:
    """One JSON object per line for our logs and for the libraries' (aiokafka, uvicorn, pymongo)."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_service(service),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "uvicorn.access", "pymongo"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def _add_service(service: str) -> structlog.types.Processor:
    def add(_: object, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add


@contextmanager
def event_context(
    *,
    tenant: str | None = None,
    correlation_id: str | None = None,
    contact_id: str | None = None,
    event_id: str | None = None,
) -> Iterator[None]:
    """Every log line inside names the tenant, correlation, contact and event being handled."""
    bound = {
        key: value
        for key, value in {
            "tenant": tenant,
            "correlation_id": correlation_id,
            "contact_id": contact_id,
            "event_id": event_id,
        }.items()
        if value is not None
    }
    with structlog.contextvars.bound_contextvars(**bound):
        yield


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
