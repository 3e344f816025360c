"""The public event contract: every event Frontline publishes or accepts, and where it goes."""

from frontline.contracts.envelope import Event, EventData
from frontline.contracts.registry import (
    REGISTRY,
    ContractViolation,
    EventSpec,
    parse_event,
    spec_for,
)
from frontline.contracts.topics import TOPICS, Topic, dlq_topic

__all__ = [
    "REGISTRY",
    "TOPICS",
    "ContractViolation",
    "Event",
    "EventData",
    "EventSpec",
    "Topic",
    "dlq_topic",
    "parse_event",
    "spec_for",
]
