"""deploy/local/infra.py as a user meets it: idempotent, stale pid files handled, clear errors."""

import os
import socket
import subprocess
import sys

from tests.integration.helpers import ROOT

INFRA = str(ROOT / "deploy/local/infra.py")


def run_infra(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, INFRA, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


def test_a_second_up_leaves_the_running_servers_alone(infra):
    again = run_infra("up")
    assert again.returncode == 0, again.stderr
    for server in ("kafka", "ferretdb"):
        assert f"{server}: already running" in again.stdout or f"{server}: using" in again.stdout


def test_a_taken_port_stops_start_up_with_one_sentence_saying_what_to_do(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        done = run_infra(
            "up",
            FRONTLINE_LOCAL_DIR=str(tmp_path),
            LOCAL_KAFKA_PORT=str(port),
            MONGODB_URL="mongodb://127.0.0.1:27017/",
            KAFKA_BOOTSTRAP_SERVERS="",
        )
    assert done.returncode == 1
    assert done.stderr == (
        f"infra: port {port} is already taken by another program, so the local kafka cannot start; "
        "stop that program, or set KAFKA_BOOTSTRAP_SERVERS to use a server you already run.\n"
    )


def test_a_missing_tool_is_named_with_what_to_do(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = run_infra(
        "up",
        FRONTLINE_LOCAL_DIR=str(tmp_path),
        LOCAL_KAFKA_PORT=str(port),
        PATH=str(tmp_path),
        MONGODB_URL="mongodb://127.0.0.1:27017/",
        KAFKA_BOOTSTRAP_SERVERS="",
    )
    assert done.returncode == 1
    assert done.stderr.startswith("infra: java is not installed; install it (Java 17 or newer runs the Kafka broker)")
    assert "set KAFKA_BOOTSTRAP_SERVERS" in done.stderr


def test_stale_pid_files_are_recognised_and_removed(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "kafka.pid").write_text(str(os.getpid()))  # alive, but not a Kafka broker
    (tmp_path / "run" / "ferretdb.pid").write_text("4194304")  # beyond pid_max: no such process
    done = run_infra("status", FRONTLINE_LOCAL_DIR=str(tmp_path), KAFKA_BOOTSTRAP_SERVERS="", MONGODB_URL="")
    assert done.stdout.splitlines() == ["kafka: stopped", "ferretdb: stopped"]
    assert not list((tmp_path / "run").iterdir())


def test_servers_named_by_the_environment_are_not_started_locally(tmp_path):
    done = run_infra(
        "up",
        FRONTLINE_LOCAL_DIR=str(tmp_path),
        KAFKA_BOOTSTRAP_SERVERS="kafka.example:9092",
        MONGODB_URL="mongodb://db.example:27017/",
    )
    assert done.returncode == 0
    assert "kafka: using kafka.example:9092 (KAFKA_BOOTSTRAP_SERVERS is set), not starting a local one" in done.stdout
    assert not (tmp_path / "run").exists()
