"""Liveness, readiness (real checks of Kafka, MongoDB and the stream workers) and metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from frontline.plumbing.metrics import metrics_response

Check = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_SECONDS = 3.0


async def run_checks(checks: Mapping[str, Check]) -> dict[str, str]:
    """Each check's outcome: "ok", or what went wrong."""

    async def one(check: Check) -> str:
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
        except TimeoutError:
            return f"timed out after {CHECK_TIMEOUT_SECONDS:g}s"
        except Exception as error:  # noqa: BLE001 - a readiness probe reports every failure
            return f"{type(error).__name__}: {error}"
        return "ok"

    names = list(checks)
    outcomes = await asyncio.gather(*(one(checks[name]) for name in names))
    return dict(zip(names, outcomes, strict=True))


def health_router(checks_now: Callable[[], Mapping[str, Check]]) -> APIRouter:
    """`checks_now` names the readiness checks; it is asked per request, once the service runs."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process serves requests")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: Kafka, MongoDB and the stream workers all answer")
    async def readyz() -> JSONResponse:
        outcomes = await run_checks(checks_now())
        ready = all(outcome == "ok" for outcome in outcomes.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": outcomes}, status_code=200 if ready else 503
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return metrics_response()

    return router
