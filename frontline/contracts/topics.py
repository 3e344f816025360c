"""Kafka topics: `frontline.<entity>.<stream>`, each with a dead-letter twin `<topic>.dlq`."""

from dataclasses import dataclass
from enum import StrEnum


class Topic(StrEnum):
    CONTACTS_INBOUND = "frontline.contacts.inbound"
    CONTACTS_RECEIVED = "frontline.contacts.received"
    AGENTS_EVENTS = "frontline.agents.events"
    ROUTING_REQUESTS = "frontline.routing.requests"
    ROUTING_EVENTS = "frontline.routing.events"
    ROUTING_SNAPSHOTS = "frontline.routing.snapshots"
    UPSELL_SUGGESTIONS = "frontline.upsell.suggestions"
    UPSELL_OUTCOMES = "frontline.upsell.outcomes"
    RECORDS_EVENTS = "frontline.records.events"


@dataclass(frozen=True)
class TopicSpec:
    topic: Topic
    summary: str
    key: str
    retention_days: int = 7
    internal: bool = False  # a service's own state, not events: compacted, no DLQ, not recorded


TOPICS: dict[Topic, TopicSpec] = {
    spec.topic: spec
    for spec in (
        TopicSpec(
            Topic.CONTACTS_INBOUND,
            "Contacts submitted by other systems, not yet understood.",
            "the submitting system's external id (or the contact id)",
        ),
        TopicSpec(
            Topic.CONTACTS_RECEIVED,
            "Contacts validated, identified and enriched by intake.",
            "the routing pool (tenant), so routing sees a pool's contacts in order",
        ),
        TopicSpec(
            Topic.AGENTS_EVENTS,
            "What agents do: profiles saved, state requests, offers answered, contacts handled and transferred.",
            "the routing pool (tenant)",
        ),
        TopicSpec(
            Topic.ROUTING_REQUESTS,
            "Queue policies saved, and customers who left before their contact was completed.",
            "the routing pool (tenant)",
        ),
        TopicSpec(
            Topic.ROUTING_EVENTS,
            "Routing's facts: queued, decisions, offers, assignments, transfers, completions, agent states. "
            "Routing rebuilds its state from them, so they are kept for 30 days.",
            "the routing pool (tenant)",
            retention_days=30,
        ),
        TopicSpec(
            Topic.ROUTING_SNAPSHOTS,
            "Routing's own state: each pool's latest snapshot, so recovery replays only the facts since. "
            "Compacted; not an event stream.",
            "the routing pool (tenant)",
            internal=True,
        ),
        TopicSpec(
            Topic.UPSELL_SUGGESTIONS,
            "Upsell's decisions: suggestions shown to agents, and moments with none (and why). Upsell rebuilds "
            "its learning and contact history from them and the outcomes, so both are kept for 90 days.",
            "the tenant, so one upsell worker sees a tenant's contacts, customers and outcomes in order",
            retention_days=90,
        ),
        TopicSpec(
            Topic.UPSELL_OUTCOMES,
            "What customers said: interest marked by the agent, answers to suggestions, control-group purchases.",
            "the tenant",
            retention_days=90,
        ),
        TopicSpec(
            Topic.RECORDS_EVENTS,
            "Records' own requests, recorded in the audit log with everything else: customer erasures and purges.",
            "the tenant",
            retention_days=30,
        ),
    )
}


def dlq_topic(topic: str) -> str:
    """Where a message of `topic` that cannot be processed goes, with the reason."""
    return f"{topic}.dlq"
