"""Why routing refuses a request: each maps to an HTTP status and a DLQ reason at the edge."""

from __future__ import annotations


class RoutingRefused(ValueError):
    """A request routing cannot carry out; `reason` says why in words a caller can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownAgent(RoutingRefused):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"agent {agent_id!r} is not in this routing pool")


class UnknownQueue(RoutingRefused):
    def __init__(self, queue: str) -> None:
        super().__init__(f"queue {queue!r} has no policy in this routing pool")


class OfferNotOpen(RoutingRefused):
    def __init__(self, offer_id: str, why: str) -> None:
        super().__init__(f"offer {offer_id!r} is not open: {why}")


class NotHandling(RoutingRefused):
    def __init__(self, contact_id: str, agent_id: str) -> None:
        super().__init__(f"contact {contact_id!r} is not assigned to agent {agent_id!r}")
