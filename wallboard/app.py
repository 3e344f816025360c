"""The wallboard: `GET /` is the page, `GET /api/board` the figures it shows, gathered from the
routing, records and upsell REST APIs with a supervisor's key. The page polls every two seconds.

Durations can be shown scaled (`time_scale`), so a demo run faster than real time shows its
simulated waits; in production it is 1.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse

PAGE = Path(__file__).with_name("index.html")


def create_app(urls: dict[str, str], api_key: str, *, tenant_label: str, time_scale: float = 1.0) -> FastAPI:
    app = FastAPI(title="Frontline wallboard", docs_url=None, redoc_url=None)
    http = httpx.AsyncClient(headers={"X-API-Key": api_key}, timeout=5)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE.read_text(encoding="utf-8")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/board")
    async def board() -> dict[str, Any]:
        now = datetime.now(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            stats, agents, kpis, performance = await asyncio.gather(
                _json(http, f"{urls['routing']}/v1/stats"),
                _json(http, f"{urls['routing']}/v1/agents"),
                _json(
                    http,
                    f"{urls['records']}/v1/kpis",
                    params={"start": midnight.isoformat(), "end": now.isoformat(), "bucket": "day"},
                ),
                _json(http, f"{urls['upsell']}/v1/performance"),
            )
        except httpx.HTTPError as error:
            raise HTTPException(502, f"a service did not answer: {error}") from None
        return summary(stats, agents, kpis, performance, tenant_label=tenant_label, time_scale=time_scale, now=now)

    app.router.on_shutdown.append(http.aclose)
    return app


async def _json(http: httpx.AsyncClient, url: str, params: dict[str, str] | None = None) -> Any:
    answer = await http.get(url, params=params)
    if answer.status_code == 404:
        return []
    answer.raise_for_status()
    return answer.json()


def summary(
    stats: list[dict[str, Any]],
    agents: list[dict[str, Any]],
    kpis: list[dict[str, Any]],
    performance: list[dict[str, Any]],
    *,
    tenant_label: str,
    time_scale: float,
    now: datetime,
) -> dict[str, Any]:
    """The board's figures from the services' answers (pure)."""
    states: dict[str, int] = {}
    for agent in agents:
        states[agent["state"]] = states.get(agent["state"], 0) + 1
    today = kpis[-1] if kpis else {}
    shown = sum(p["impressions"] for p in performance)
    accepted = sum(p["accepted"] for p in performance)
    answered = accepted + sum(p["declined"] + p["ignored"] for p in performance)
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
            for q in stats
        ],
        "agents": states,
        "agent_list": [
            {"agent_id": a["profile"]["agent_id"], "name": a["profile"]["name"], "state": a["state"]}
            for a in sorted(agents, key=lambda a: a["profile"]["agent_id"])
        ],
        "today": {
            "offered": today.get("offered", 0),
            "answered": today.get("answered", 0),
            "abandonment_rate": today.get("abandonment_rate"),
            "service_level": today.get("service_level"),
            "service_level_seconds": None
            if today.get("service_level_seconds") is None
            else today["service_level_seconds"] * time_scale,
            "asa_seconds": None if today.get("asa") is None else today["asa"] * time_scale,
            "occupancy": today.get("occupancy"),
        },
        "upsell": {"shown": shown, "accepted": accepted, "acceptance": accepted / answered if answered else None},
    }
