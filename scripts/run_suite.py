"""`make run`: the whole suite on this machine — the four services against the local servers, the
wallboard, and the demo tenant's simulated day driven through the real Kafka doors, with a live
view and a final report (service level, ASA, abandonment, occupancy, AHT, upsell acceptance and
the records chain verified). Ctrl-C stops everything cleanly and still prints the report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from frontline.plumbing.settings import Settings
from simulation import tenant as demo
from simulation.live import LiveDay, Plan
from wallboard.app import create_app

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
    parser.add_argument("--hours", type=float, default=3.0, help="simulated hours of the day to run (default 3)")
    parser.add_argument("--start", type=float, default=9.0, help="simulated hour the run starts at (8-20)")
    parser.add_argument("--speed", type=float, default=60.0, help="simulated seconds per wall second (default 60)")
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same customers and agents")
    parser.add_argument("--load", type=float, default=1.0, help="scale the demo's arrival rate")
    parser.add_argument("--policy", choices=demo.POLICIES, default="value", help="the routing policy to run")
    parser.add_argument("--wallboard-port", type=int, default=8080)
    parser.add_argument("--keep-running", action="store_true", help="keep the services and wallboard up afterwards")
    parser.add_argument("--exit-when-ready", action="store_true", help="stop the services once all are ready")
    parser.add_argument("--port-offset", type=int, default=0, help="add this to every service's port")
    args = parser.parse_args()
    if not demo.OPENS <= args.start < demo.OPENS + len(demo.CURVE) or args.hours <= 0 or args.speed <= 0:
        parser.error("--start must fall in opening hours (8-20), --hours and --speed must be positive")
    ports = {name: port + args.port_offset for name, port in SERVICES.items()}
    if not args.exit_when_ready:
        ports["wallboard"] = args.wallboard_port
    taken = [f"{port} ({name})" for name, port in ports.items() if not port_free(port)]
    if taken:
        parser.error(
            f"port {', '.join(taken)} already taken (another make run?); stop it, or pass --port-offset N "
            "for the services and --wallboard-port for the wallboard"
        )
    console = Console()
    LOGS.mkdir(parents=True, exist_ok=True)
    for stop_signal in STOP_SIGNALS:  # a closed terminal or a kill stops the services too, as Ctrl-C does
        signal.signal(stop_signal, _interrupt)
    tenant_id = f"demo-{datetime.now(UTC):%m%d-%H%M}-{uuid.uuid4().hex[:4]}"
    key = f"key-{tenant_id}-admin"
    keys = [{"name": f"{tenant_id}-admin", "tenant": tenant_id, "role": "admin", "key": key}]
    extra_env = {"FRONTLINE_API_KEYS": json.dumps(keys), "FRONTLINE_ROUTING_TICK_SECONDS": "0.1"}
    services = [start(name, port + args.port_offset, extra_env) for name, port in SERVICES.items()]
    outcome = 1
    try:
        if wait_until_ready(services, console) and args.exit_when_ready:
            outcome = 0
        elif all(s.state == "ready" for s in services):
            plan = Plan(tenant_id, args.speed, args.start, args.hours, args.seed, args.load, args.policy)
            outcome = asyncio.run(run_day(plan, services, key, args, console))
    except KeyboardInterrupt:
        console.print("stopping …")
    finally:
        stop(services)
    console.print(report(services))
    return outcome


@dataclass
class Run:
    day: LiveDay
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    records: dict[str, Any] = field(default_factory=dict)
    records_seconds: float = 0.0


async def run_day(plan: Plan, services: list[Service], key: str, args: argparse.Namespace, console: Console) -> int:
    urls = {s.name: f"http://127.0.0.1:{s.port}" for s in services}
    board = uvicorn.Server(
        uvicorn.Config(
            create_app(urls, key, tenant_label=plan.tenant, time_scale=plan.speed),
            host="127.0.0.1",
            port=args.wallboard_port,
            log_level="warning",
        )
    )
    serving = asyncio.create_task(board.serve())
    run = Run(LiveDay(plan, Settings(), urls, key))
    loop = asyncio.get_running_loop()
    for stop_signal in STOP_SIGNALS:
        loop.add_signal_handler(stop_signal, run.stopping.set)
    began = datetime.now(UTC)
    try:
        console.print(
            f"loading the demo tenant [bold]{plan.tenant}[/]: {len(run.day.agents)} agents, "
            f"{len(demo.queues(plan.policy))} queues, {len(demo.OFFERS)} offers …"
        )
        await run.day.setup()
        await run.day.start()
        console.print(f"wallboard: [bold]http://127.0.0.1:{args.wallboard_port}/[/]   Ctrl-C stops the day early")
        with Live(view(run), console=console, refresh_per_second=4) as live:
            driving = asyncio.create_task(run.day.run(run.stopping))
            while not driving.done():
                live.update(view(run))
                await asyncio.sleep(0.25)
            await driving
            live.update(view(run))
        within = 30 if run.stopping.is_set() else 180  # stopped early: report soon
        console.print(f"checking the records (once caught up, at most {within} s): KPIs, every contact's chain …")
        checking = time.monotonic()
        run.records = await run.day.records_check(began, within=within)
        run.records_seconds = time.monotonic() - checking
        console.print(final_report(run))
        if args.keep_running and not run.stopping.is_set():
            console.print(f"still running: wallboard http://127.0.0.1:{args.wallboard_port}/ — Ctrl-C stops")
            await run.stopping.wait()
    finally:
        await run.day.stop()
        board.should_exit = True
        await serving
        for stop_signal in STOP_SIGNALS:
            loop.remove_signal_handler(stop_signal)
    return 0 if healthy(run) else 1


def healthy(run: Run) -> bool:
    verify = run.records.get("verify", {})
    return bool(verify.get("intact")) and not run.day.errors and run.day.tally.received == run.day.tally.submitted


def view(run: Run) -> Group:
    day, tally = run.day, run.day.tally
    wall = day.wall()
    plan = day.plan
    done = min(1.0, (day.clock() - plan.start_hour) / plan.hours)
    clock = day.clock()
    figures = tally.figures(wall)
    head = (
        f"[bold]{int(clock):02d}:{int(clock * 60) % 60:02d}[/] simulated (x{plan.speed:g})   "
        f"submitted {tally.submitted} · received {tally.received} · answered {tally.assigned} · "
        f"abandoned {tally.abandoned} · completed {tally.completed} · open {tally.open}"
    )
    kpis = Table(title="headline KPIs (simulated time)", expand=False)
    for column in (
        "service level (20 s, live)",
        "ASA",
        "abandoned",
        "occupancy",
        "AHT",
        "resolved",
        "upsell acceptance",
    ):
        kpis.add_column(column, justify="right")
    kpis.add_row(
        f"{figures['service_level']:.1%}",
        f"{figures['asa']:.1f} s",
        f"{figures['abandonment']:.1%}",
        f"{figures['occupancy']:.1%}",
        f"{figures['aht']:.0f} s",
        f"{figures['fcr']:.1%}",
        f"{figures['upsell_acceptance']:.1%} of {tally.bought + tally.declined}"
        if tally.bought + tally.declined
        else f"{tally.suggested} shown, none answered yet",
    )
    queues = Table(title="waiting now", expand=False)
    for column in ("queue", "waiting", "oldest"):
        queues.add_column(column, justify="right")
    for queue, (count, oldest) in sorted(tally.queues(wall).items()):
        queues.add_row(queue, str(count), f"{oldest:.0f} s")
    states = ", ".join(f"{state} {n}" for state, n in sorted(tally.agents_by_state().items()))
    phase = "arrivals done, finishing open contacts" if day.arrivals_done else "contacts arriving"
    progress = Table.grid(padding=(0, 1))
    progress.add_row(ProgressBar(total=1.0, completed=done, width=60), f"{done:.0%} of the day")
    return Group(
        Panel(
            Group(head, progress, f"{phase}; agents: {states}"),
            title=f"Frontline demo day · {plan.tenant}",
        ),
        kpis,
        queues,
    )


def final_report(run: Run) -> Group:
    day, tally = run.day, run.day.tally
    figures = tally.figures(day.ended if day.ended is not None else day.wall())
    kpis = run.records.get("kpis")
    kept = kpis[-1] if isinstance(kpis, list) and kpis else {}
    table = Table(title=f"Frontline demo day report · {day.plan.tenant} · policy {day.plan.policy}", expand=False)
    for column in ("measure", "seen by the driver", "records service KPIs"):
        table.add_column(column, justify="right")

    def scaled(value: float | None, unit: str = " s") -> str:
        return "-" if value is None else f"{value * day.plan.speed:.1f}{unit}"

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    table.add_row("contacts submitted / received", f"{tally.submitted} / {tally.received}", "")
    table.add_row("of them repeat contacts (came back unresolved)", str(tally.repeats), "")
    table.add_row(
        "offered (answered + abandoned)",
        str(tally.assigned + tally.abandoned),
        str(sum(k.get("offered", 0) for k in kpis)) if isinstance(kpis, list) else "-",
    )
    table.add_row(
        "service level",
        f"{figures['service_level']:.1%} (≤20 s, live channels)",
        f"{share(kept.get('service_level'))} (≤{kept.get('service_level_seconds', '?')} s)"
        if day.plan.speed == 1
        else f"its T is {kept.get('service_level_seconds', '?')} s of wall time: not comparable at x{day.plan.speed:g}",
    )
    if tally.with_goal:
        table.add_row(
            "answered within goal",
            f"{figures['within_goal']:.1%} (each channel against its goal)",
            share(kept.get("within_goal")),
        )
    table.add_row("ASA", f"{figures['asa']:.1f} s", scaled(kept.get("asa")))
    table.add_row("abandonment", f"{figures['abandonment']:.1%}", share(kept.get("abandonment_rate")))
    table.add_row("occupancy", f"{figures['occupancy']:.1%}", share(kept.get("occupancy")))
    table.add_row("AHT", f"{figures['aht']:.1f} s", scaled(kept.get("aht")))
    table.add_row(
        "resolved / first-contact resolution",
        f"{figures['fcr']:.1%} resolved",
        f"{share(kept.get('fcr'))} (no repeat contact in 7 days)",
    )
    table.add_row(
        "upsell acceptance",
        f"{figures['upsell_acceptance']:.1%} ({tally.bought} of {tally.bought + tally.declined}, "
        f"revenue {tally.revenue:,.0f})"
        if tally.bought + tally.declined
        else f"none answered ({tally.suggested} shown)",
        share(kept.get("upsell_acceptance")),
    )
    verify = run.records.get("verify", {})
    chain = (
        f"[green]intact[/]: every one of the run's {verify.get('contacts')} contacts "
        f"({verify.get('records_checked')} records) proved against the signed tree head "
        f"({verify.get('tree_size')} leaves, signed {verify.get('signed_at')})"
        if verify.get("intact")
        else f"[red]NOT intact[/]: {json.dumps(verify)[:300]}"
    )
    lines: list[Any] = [
        table,
        f"record chain verification: {chain}",
        f"wall time: arrivals {day.arrivals_ended or 0:.0f} s, open contacts finished at {day.ended or 0:.0f} s, "
        f"records caught up and verified in {run.records_seconds:.0f} s",
    ]
    if day.errors:
        lines.append(f"[red]{len(day.errors)} driver errors[/], first: {day.errors[0]}")
    return Group(*lines)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start(name: str, port: int, extra_env: dict[str, str]) -> Service:
    env = {**os.environ, **extra_env, "FRONTLINE_HTTP_PORT": str(port)}
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
