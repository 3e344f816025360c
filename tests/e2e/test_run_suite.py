"""`make run` as a newcomer runs it: the four services come up healthy against the real servers."""

import subprocess
import sys

import pytest

from tests.integration.helpers import ROOT

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
