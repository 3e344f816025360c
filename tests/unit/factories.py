"""Valid events for tests, with every field a caller does not care about filled in."""

from datetime import UTC, datetime

from frontline.contracts.contacts import ContactReceived, ContactReceivedData


def contact_received(*, tenant: str = "acme", contact_id: str = "c-1", **data: object) -> ContactReceived:
    fields = {
        "channel": "chat",
        "customer": {"customer_id": "cust-1", "tier": "gold"},
        "text": "My invoice is wrong",
        "language": {"code": "en", "confidence": 0.97, "method": "detected"},
        "concern": {"code": "billing", "confidence": 0.8},
        "required_skills": [{"skill": "billing", "min_proficiency": 2}],
        "priority": 40,
        "sentiment": {"score": -0.2, "angry": False},
    } | data
    return ContactReceived.new(
        data=ContactReceivedData.model_validate(fields),
        tenant=tenant,
        source="intake",
        occurred_at=datetime(2026, 11, 22, 10, tzinfo=UTC),
        contact_id=contact_id,
    )
