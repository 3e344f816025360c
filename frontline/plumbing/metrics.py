"""Prometheus metrics shared by the services' edges (Kafka workers, HTTP)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

EVENTS_CONSUMED = Counter(
    "frontline_events_consumed_total", "Events handled, by topic and outcome.", ["topic", "outcome"]
)
EVENTS_PUBLISHED = Counter("frontline_events_published_total", "Events published, by topic.", ["topic"])
DEAD_LETTERS = Counter("frontline_dead_letters_total", "Messages sent to a DLQ, by source topic.", ["topic"])
HTTP_REQUESTS = Histogram(
    "frontline_http_request_seconds", "REST latency by route, method and status.", ["route", "method", "status"]
)


async def record_http_metrics(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    route = getattr(request.scope.get("route"), "path", "unmatched")
    HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).observe(time.perf_counter() - started)
    return response


def metrics_response() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
