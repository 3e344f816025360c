"""`make run`: the four services on this machine against the local servers, with live progress.

Until the end-to-end simulation lands, this starts the services, shows each one becoming
ready, and keeps them running until Ctrl-C (or exits once ready with --exit-when-ready).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / ".local" / "logs"
SERVICES = {"intake": 8001, "routing": 8002, "upsell": 8003, "records": 8004}
STARTUP_SECONDS = 90


@dataclass
class Service:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    state: str = "starting"
    detail: str = ""
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> Path:
        return LOGS / f"{self.name}.log"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exit-when-ready", action="store_true", help="stop the services once all are ready")
    parser.add_argument("--port-offset", type=int, default=0, help="add this to every service's port")
    args = parser.parse_args()
    console = Console()
    LOGS.mkdir(parents=True, exist_ok=True)
    services = [start(name, port + args.port_offset) for name, port in SERVICES.items()]
    interrupted = False
    try:
        all_ready = wait_until_ready(services, console)
        if all_ready and not args.exit_when_ready:
            console.print(
                "[bold green]Frontline is running.[/] REST: "
                + ", ".join(f"{s.name} http://127.0.0.1:{s.port}/docs" for s in services)
            )
            console.print(
                "Try: curl -H 'Authorization: Bearer dev-acme-admin' "
                f"http://127.0.0.1:{services[0].port}/v1/whoami   — Ctrl-C stops everything."
            )
            while all(s.process.poll() is None for s in services):
                time.sleep(0.5)
            all_ready = False
            console.print("[red]a service stopped unexpectedly; see its log in .local/logs/[/]")
    except KeyboardInterrupt:
        interrupted = True
        console.print("stopping …")
    finally:
        stop(services)
    console.print(report(services))
    return 0 if all_ready or interrupted else 1


def start(name: str, port: int) -> Service:
    env = {**os.environ, "FRONTLINE_HTTP_PORT": str(port)}
    with (LOGS / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Service(name, port, process)


def wait_until_ready(services: list[Service], console: Console) -> bool:
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(timeout=2) as http, Live(report(services), console=console, refresh_per_second=4) as live:
        while time.monotonic() < deadline:
            for service in services:
                probe(service, http)
            live.update(report(services))
            if all(s.state == "ready" for s in services):
                return True
            if any(s.state == "exited" for s in services):
                return False
            time.sleep(0.5)
    for service in services:
        if service.state != "ready":
            service.state, service.detail = "not ready", f"not ready after {STARTUP_SECONDS}s"
    return False


def probe(service: Service, http: httpx.Client) -> None:
    if service.process.poll() is not None:
        service.state, service.detail = "exited", f"exit {service.process.returncode}; see {service.log}"
        return
    try:
        answer = http.get(f"http://127.0.0.1:{service.port}/readyz")
    except httpx.TransportError:
        service.detail = "waiting for the HTTP port"
        return
    service.checks = answer.json().get("checks", {})
    service.state = "ready" if answer.status_code == 200 else "starting"
    service.detail = ", ".join(f"{name} {outcome}" for name, outcome in service.checks.items())


def stop(services: list[Service]) -> None:
    for service in services:
        if service.process.poll() is None:
            service.process.send_signal(signal.SIGTERM)
    for service in services:
        try:
            service.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.process.kill()
        if service.state == "ready":
            service.state = "stopped"


def report(services: list[Service]) -> Table:
    table = Table(title="Frontline services", expand=False)
    for column in ("service", "port", "state", "checks / detail", "log"):
        table.add_column(column)
    colours = {"ready": "green", "starting": "yellow", "stopped": "blue"}
    for s in services:
        colour = colours.get(s.state, "red")
        table.add_row(s.name, str(s.port), f"[{colour}]{s.state}[/]", s.detail, str(s.log.relative_to(ROOT)))
    return table


if __name__ == "__main__":
    sys.exit(main())
