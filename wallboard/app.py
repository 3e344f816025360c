"""The wallboard: `GET /` is the page, `GET /api/board` the figures it shows, gathered from the
routing, records and upsell REST APIs with a supervisor's key. The page polls every two seconds.

The service level is shown in the tenant's own terms: each contact against its queue's goal for
its channel (`answer_within`), with the goals named; a tenant without goals sees the records'
fixed-T service level. The day's trend comes in the 15-minute intervals of contact-center reports.

Durations can be shown scaled (`time_scale`), so a demo run faster than real time shows its
simulated waits and goals; in production it is 1. A scaled demo's trend comes in minutes (records'
finest interval), each `time_scale` minutes of the demo's day.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse

PAGE = Path(__file__).with_name("index.html")
TREND_POINTS = 96  # a day of quarters


@dataclass(frozen=True)
class Answers:
    """What the services answered for one refresh of the board."""

    stats: list[dict[str, Any]]
    agents: list[dict[str, Any]]
    queues: list[dict[str, Any]]
    today: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    performance: list[dict[str, Any]]


def trend_bucket(time_scale: float) -> tuple[str, float]:
    """The records bucket of the trend, and its length in seconds of wall time."""
    return ("quarter", 900.0) if time_scale <= 1 else ("minute", 60.0)


def create_app(urls: dict[str, str], api_key: str, *, tenant_label: str, time_scale: float = 1.0) -> FastAPI:
    app = FastAPI(title="Frontline wallboard", docs_url=None, redoc_url=None)
    http = httpx.AsyncClient(headers={"X-API-Key": api_key}, timeout=5)
    bucket, _ = trend_bucket(time_scale)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE.read_text(encoding="utf-8")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/board")
    async def board() -> dict[str, Any]:
        now = datetime.now(UTC)
        day = {"start": now.replace(hour=0, minute=0, second=0, microsecond=0).isoformat(), "end": now.isoformat()}
        try:
            answers = Answers(
                *await asyncio.gather(
                    _json(http, f"{urls['routing']}/v1/stats"),
                    _json(http, f"{urls['routing']}/v1/agents"),
                    _json(http, f"{urls['routing']}/v1/queues"),
                    _json(http, f"{urls['records']}/v1/kpis", params={**day, "bucket": "day"}),
                    _json(http, f"{urls['records']}/v1/kpis", params={**day, "bucket": bucket}),
                    _json(http, f"{urls['upsell']}/v1/performance"),
                )
            )
        except httpx.HTTPError as error:
            raise HTTPException(502, f"a service did not answer: {error}") from None
        return summary(answers, tenant_label=tenant_label, time_scale=time_scale, now=now)

    app.router.on_shutdown.append(http.aclose)
    return app


async def _json(http: httpx.AsyncClient, url: str, params: dict[str, str] | None = None) -> Any:
    answer = await http.get(url, params=params)
    if answer.status_code == 404:
        return []
    answer.raise_for_status()
    return answer.json()


def summary(answers: Answers, *, tenant_label: str, time_scale: float, now: datetime) -> dict[str, Any]:
    """The board's figures from the services' answers (pure)."""
    states: dict[str, int] = {}
    for agent in answers.agents:
        states[agent["state"]] = states.get(agent["state"], 0) + 1
    today = answers.today[-1] if answers.today else {}
    performance = answers.performance
    shown = sum(p["impressions"] for p in performance)
    accepted = sum(p["accepted"] for p in performance)
    answered = accepted + sum(p["declined"] + p["ignored"] for p in performance)
    _, interval = trend_bucket(time_scale)
    return {
        "tenant": tenant_label,
        "at": now.isoformat(),
        "queues": [
            {
                "queue": q["queue"],
                "waiting": q["waiting"],
                "oldest_wait_seconds": q["oldest_wait_seconds"] * time_scale,
                "estimated_wait_seconds": q["estimated_wait_seconds"] * time_scale,
                "staffed_agents": q["staffed_agents"],
            }
            for q in answers.stats
        ],
        "agents": states,
        "agent_list": [
            {"agent_id": a["profile"]["agent_id"], "name": a["profile"]["name"], "state": a["state"]}
            for a in sorted(answers.agents, key=lambda a: a["profile"]["agent_id"])
        ],
        "goals": goals(answers.queues, time_scale),
        "today": {
            "offered": today.get("offered", 0),
            "answered": today.get("answered", 0),
            "abandonment_rate": today.get("abandonment_rate"),
            "within_goal": today.get("within_goal") if today.get("with_goal") else None,
            "service_level": today.get("service_level"),
            "service_level_seconds": _scaled(today.get("service_level_seconds"), time_scale),
            "asa_seconds": _scaled(today.get("asa"), time_scale),
            "occupancy": today.get("occupancy"),
        },
        "trend": {
            "interval_seconds": interval * time_scale,
            "time_scale": time_scale,
            "points": [
                {
                    "start": point["start"],
                    "offered": point.get("offered", 0),
                    "service_level": point.get("within_goal") if point.get("with_goal") else point.get("service_level"),
                    "asa_seconds": _scaled(point.get("asa"), time_scale),
                    "abandonment_rate": point.get("abandonment_rate"),
                }
                for point in answers.trend
                if point.get("offered")
            ][-TREND_POINTS:],
        },
        "upsell": {"shown": shown, "accepted": accepted, "acceptance": accepted / answered if answered else None},
    }


def goals(queues: list[dict[str, Any]], time_scale: float) -> list[dict[str, Any]]:
    """The tenant's service goals in its own terms: each goal (seconds, scaled) with the channels that
    have it in some queue, shortest first."""
    channels: dict[float, set[str]] = {}
    for queue in queues:
        for channel, seconds in queue["policy"].get("answer_within", {}).items():
            channels.setdefault(round(seconds * time_scale, 3), set()).add(channel)
    return [{"seconds": seconds, "channels": sorted(channels[seconds])} for seconds in sorted(channels)]


def _scaled(seconds: float | None, time_scale: float) -> float | None:
    return None if seconds is None else seconds * time_scale
