"""`make run` as a newcomer runs it: the services come up, the demo day runs through the real
Kafka doors, the wallboard renders in a real browser, Ctrl-C stops everything, the report agrees
with the records service and the record chain verifies."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.helpers import ROOT, free_port

pytestmark = pytest.mark.usefixtures("infra")


def test_run_suite_brings_every_service_to_ready_and_stops_them():
    done = subprocess.run(
        [sys.executable, "scripts/run_suite.py", "--exit-when-ready", "--port-offset", "100"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    final_report = done.stdout.rsplit("Frontline services", 1)[-1]
    for name, port in {"intake": 8101, "routing": 8102, "upsell": 8103, "records": 8104}.items():
        row = next(line for line in final_report.splitlines() if f" {name} " in line)
        assert str(port) in row
        assert "stopped" in row


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    browser = shutil.which("chromium")
    assert browser, "chromium is not on PATH: `make browser` installs Debian's package"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
    ]
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=60, check=False)


def _row(report: str, measure: str) -> list[str]:
    line = next(line for line in report.splitlines() if line.strip("│ ").startswith(measure))
    return [cell.strip() for cell in line.split("│")[1:-1]]


@pytest.mark.timeout(600)
def test_make_run_drives_a_demo_day_shows_the_wallboard_and_stops_on_ctrl_c(tmp_path):
    wallboard = free_port()
    log = tmp_path / "run.log"
    command = [
        sys.executable,
        "scripts/run_suite.py",
        *("--hours", "0.25", "--start", "10", "--speed", "60", "--seed", "3"),
        *("--port-offset", "300", "--wallboard-port", str(wallboard), "--keep-running"),
    ]
    with log.open("w") as out:
        environment = {
            **os.environ,
            "COLUMNS": "200",  # the report's rows unwrapped
            "FRONTLINE_KAFKA_GROUP_PREFIX": f"e2e-{uuid.uuid4().hex[:8]}",  # not the other tests' backlog
            "FRONTLINE_KAFKA_OFFSET_RESET": "latest",
        }
        run = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=environment)
    try:
        deadline = time.monotonic() + 420
        while "still running: wallboard" not in log.read_text() and run.poll() is None:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        assert run.poll() is None, log.read_text()[-3000:]
        url = f"http://127.0.0.1:{wallboard}/"
        dom = _chromium("--dump-dom", url, profile=tmp_path / "profile-dom").stdout
        assert "demo-" in re.search(r'id="tenant">([^<]*)<', dom).group(1)
        queues = re.search(r'<tbody id="queues">(.*?)</tbody>', dom, re.S).group(1)
        assert [
            q for q in ("billing", "support", "orders", "sales", "care", "general") if f"<td>{q}</td>" in queues
        ] == [
            "billing",
            "support",
            "orders",
            "sales",
            "care",
            "general",
        ]
        assert len(re.findall(r'class="agent (available|busy|wrap_up|away|offline)"', dom)) == 30
        answered, offered = map(int, re.search(r"(\d+) answered of (\d+) offered", dom).groups())
        assert 0 < answered <= offered
        assert re.search(r'id="service-level"[^>]*>\d+\.\d%<', dom), "the service level is rendered"
        assert 'id="sl-title">Answered within goal today<' in dom
        goals = re.search(r'id="sl-detail">goal: ([^<]*)<', dom).group(1)
        live, written = (part.strip() for part in goals.split("·"))
        assert "voice" in live, goals
        assert live.endswith(" 20 s"), goals
        assert "email" in written, goals
        assert written.endswith(" 1 h"), goals
        assert 'id="trend-title">Today, per 1 h<' in dom, "a minute of the x60 demo is an hour of its day"
        assert len(re.findall(r'<rect [^>]*class="bar (good|warn|bad|wait|none)"', dom)) >= 3, "the trend is drawn"
        shot = tmp_path / "wallboard.png"
        _chromium("--hide-scrollbars", "--window-size=1280,860", f"--screenshot={shot}", url, profile=tmp_path / "p2")
        assert shot.stat().st_size > 20_000, "a rendered page, not a blank one"
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=90) == 0, log.read_text()[-3000:]
    finally:
        if run.poll() is None:
            run.kill()
    text = log.read_text()
    report = text.split("Frontline demo day report", 1)[1]
    submitted, received = map(int, _row(report, "contacts submitted / received")[1].split(" / "))
    assert submitted == received > 0
    offered = _row(report, "offered (answered + abandoned)")
    assert offered[1] == offered[2], "the driver and the records service count the same contacts"
    for measure in ("ASA", "abandonment", "AHT", "answered within goal"):
        driver, records = _row(report, measure)[1:]
        assert records != "-", measure
        assert float(driver.split()[0].rstrip("%")) == pytest.approx(float(records.split()[0].rstrip("%")), abs=0.11)
    assert "record chain verification: intact" in report
    assert "driver errors" not in report
    final = text.rsplit("Frontline services", 1)[-1]
    assert final.count("stopped") == 4, final


def test_a_taken_port_is_named_before_anything_starts():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "scripts/run_suite.py", "--port-offset", str(taken - 8002), "--wallboard-port", "0"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    named = " ".join(done.stderr.split())  # argparse may wrap the message
    assert f"{taken} (routing)" in named, named
    assert "already taken" in named
