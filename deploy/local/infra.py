"""Local real servers for development and tests: Apache Kafka (KRaft) at the version production
runs (`deploy/versions.toml`) and FerretDB 1.24.

    python deploy/local/infra.py up|down|status

Standard library only, so it runs before the virtualenv exists. Everything it
installs, writes and logs lives under `.local/` at the project root.
`KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URL` name existing servers and skip the local ones.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL = Path(os.environ.get("FRONTLINE_LOCAL_DIR", ROOT / ".local")).resolve()
LOGS = LOCAL / "logs"
RUN = LOCAL / "run"
HERE = Path(__file__).resolve().parent
KAFKA_VERSION = tomllib.loads((ROOT / "deploy" / "versions.toml").read_text())["kafka"]["version"]
FERRETDB_VERSION = "1.24.0"


class InfraError(Exception):
    """A problem the user has to fix; its message says what to do."""


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    external_env: str
    marker: str  # a string in the command line that proves a pid is ours

    @property
    def pidfile(self) -> Path:
        return RUN / f"{self.name}.pid"

    @property
    def logfile(self) -> Path:
        return LOGS / f"{self.name}.log"


KAFKA = Server("kafka", int(os.environ.get("LOCAL_KAFKA_PORT", "9092")), "KAFKA_BOOTSTRAP_SERVERS", "kafka.Kafka")
FERRETDB = Server("ferretdb", int(os.environ.get("LOCAL_MONGODB_PORT", "27017")), "MONGODB_URL", "ferretdb")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    action = parser.parse_args().action
    try:
        {"up": up, "down": down, "status": status}[action]()
    except InfraError as problem:
        print(f"infra: {problem}", file=sys.stderr)
        return 1
    return 0


def up() -> None:
    for server in (KAFKA, FERRETDB):
        if os.environ.get(server.external_env):
            print(
                f"{server.name}: using {os.environ[server.external_env]} "
                f"({server.external_env} is set), not starting a local one"
            )
            continue
        pid = running_pid(server)
        if pid:
            print(f"{server.name}: already running (pid {pid}) on 127.0.0.1:{server.port}")
            continue
        ensure_port_free(server)
        INSTALLERS[server.name]()
        pid = STARTERS[server.name]()
        server.pidfile.write_text(str(pid))
        wait_ready(server, pid)
        print(f"{server.name}: ready on 127.0.0.1:{server.port} (pid {pid}, log {server.logfile})")


def down() -> None:
    for server in (KAFKA, FERRETDB):
        pid = running_pid(server)
        if not pid:
            print(f"{server.name}: not running")
            server.pidfile.unlink(missing_ok=True)
            continue
        os.kill(pid, signal.SIGTERM)
        if not wait_exit(pid, seconds=30):
            os.kill(pid, signal.SIGKILL)
            wait_exit(pid, seconds=5)
        server.pidfile.unlink(missing_ok=True)
        print(f"{server.name}: stopped (pid {pid})")


def status() -> None:
    for server in (KAFKA, FERRETDB):
        if os.environ.get(server.external_env):
            print(f"{server.name}: external, {server.external_env}={os.environ[server.external_env]}")
            continue
        pid = running_pid(server)
        state = "ready" if pid and PROBES[server.name](server.port) else "not ready"
        print(
            f"{server.name}: {'running' if pid else 'stopped'}"
            + (f", {state}, pid {pid}, 127.0.0.1:{server.port}, log {server.logfile}" if pid else "")
        )


# -- processes ---------------------------------------------------------------


def running_pid(server: Server) -> int | None:
    """The pid in the server's pidfile if that process is alive and is ours; stale files are removed."""
    try:
        pid = int(server.pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (FileNotFoundError, ValueError, ProcessLookupError):
        server.pidfile.unlink(missing_ok=True)
        return None
    if server.marker not in cmdline or is_zombie(pid):
        server.pidfile.unlink(missing_ok=True)
        return None
    return pid


def is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def ensure_port_free(server: Server) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", server.port))
        except OSError:
            raise InfraError(
                f"port {server.port} is already taken by another program, so the local {server.name} "
                f"cannot start; stop that program, or set {server.external_env} to use a server "
                f"you already run."
            ) from None


def spawn(server: Server, command: list[str], cwd: Path) -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    RUN.mkdir(parents=True, exist_ok=True)
    with server.logfile.open("ab") as log:
        process = subprocess.Popen(
            command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    return process.pid


def wait_ready(server: Server, pid: int, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or is_zombie(pid):
            server.pidfile.unlink(missing_ok=True)
            raise InfraError(f"{server.name} exited during start-up; see {server.logfile}.")
        if PROBES[server.name](server.port):
            return
        time.sleep(0.3)
    raise InfraError(f"{server.name} did not become ready in {seconds:.0f}s; see {server.logfile}.")


def wait_exit(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or is_zombie(pid):
            return True
        time.sleep(0.2)
    return False


def require_tool(tool: str, purpose: str, server: Server) -> str:
    path = shutil.which(tool)
    if not path:
        raise InfraError(
            f"{tool} is not installed; install it ({purpose}), or set "
            f"{server.external_env} to use a {server.name} server you already run."
        )
    return path


def run_step(command: list[str], cwd: Path, what: str) -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"install-{what}.log"
    print(f"installing {what} (first run only; log {log}) ...", flush=True)
    with log.open("wb") as out:
        done = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise InfraError(f"installing {what} failed (exit {done.returncode}); see {log}.")


# -- Kafka -------------------------------------------------------------------

KAFKA_HOME = LOCAL / "kafka"
KAFKA_LIBS = KAFKA_HOME / "libs"


def install_kafka() -> None:
    stamp = KAFKA_LIBS / f".kafka-{KAFKA_VERSION}"
    if stamp.exists():
        return
    require_tool("java", "Java 17 or newer runs the Kafka broker", KAFKA)
    mvn = require_tool("mvn", "Maven fetches the Kafka jars from Maven Central", KAFKA)
    if KAFKA_LIBS.exists():
        shutil.rmtree(KAFKA_LIBS)
    fetch = [mvn, "-q", "-B", f"-Dkafka.version={KAFKA_VERSION}", "dependency:copy-dependencies"]
    run_step(fetch, HERE / "kafka", f"kafka-{KAFKA_VERSION}")
    stamp.touch()


def start_kafka() -> int:
    java = require_tool("java", "Java 17 or newer runs the Kafka broker", KAFKA)
    data = KAFKA_HOME / "data"
    config = KAFKA_HOME / "server.properties"
    config.write_text(
        (HERE / "kafka" / "server.properties")
        .read_text()
        .replace("@PORT@", str(KAFKA.port))
        .replace("@CONTROLLER_PORT@", str(KAFKA.port + 1))
        .replace("@DATA@", str(data))
    )
    classpath = f"{KAFKA_LIBS}/*"
    logging = [f"-Dlog4j2.configurationFile={HERE / 'kafka' / 'log4j2.properties'}", f"-Dkafka.logs.dir={LOGS}"]
    if not (data / "meta.properties").exists():
        cluster_id = (
            subprocess.run(
                [java, "-cp", classpath, *logging, "kafka.tools.StorageTool", "random-uuid"],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        subprocess.run(
            [
                java,
                "-cp",
                classpath,
                *logging,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(config),
            ],
            capture_output=True,
            check=True,
        )
    heap = os.environ.get("LOCAL_KAFKA_HEAP", "-Xms256m -Xmx1g").split()
    return spawn(
        KAFKA,
        [
            java,
            *heap,
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            *logging,
            "-cp",
            classpath,
            "kafka.Kafka",
            str(config),
        ],
        KAFKA_HOME,
    )


def kafka_answers_metadata(port: int) -> bool:
    """Send a Kafka Metadata v0 request and expect at least one broker in the answer."""
    client_id = b"frontline-infra"
    body = struct.pack(">hhih", 3, 0, 7, len(client_id)) + client_id + struct.pack(">i", 0)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            size, correlation_id, brokers = struct.unpack(">iii", read_exactly(sock, 12))
    except (OSError, struct.error):
        return False
    return correlation_id == 7 and brokers >= 1 and size > 8


# -- FerretDB ----------------------------------------------------------------

FERRETDB_HOME = LOCAL / "ferretdb"
FERRETDB_SOURCES = ("main.go", "idindex.go", "go.mod", "go.sum")
# WAL with synchronous=NORMAL survives a crash of any process, not a power cut: right for a dev server.
FERRETDB_SQLITE_PARAMS = "_pragma=synchronous(normal)"


def ferretdb_binary() -> Path:
    """The build of the wrapper as it is now: a changed wrapper gets a new binary."""
    digest = hashlib.sha256(b"".join((HERE / "ferretdb" / name).read_bytes() for name in FERRETDB_SOURCES))
    return FERRETDB_HOME / "bin" / f"ferretdb-{FERRETDB_VERSION}-{digest.hexdigest()[:10]}"


def install_ferretdb() -> None:
    binary = ferretdb_binary()
    if binary.exists():
        return
    go = require_tool("go", "Go builds FerretDB from the Go module proxy", FERRETDB)
    binary.parent.mkdir(parents=True, exist_ok=True)
    run_step([go, "build", "-o", str(binary), "."], HERE / "ferretdb", f"ferretdb-{FERRETDB_VERSION}")


def start_ferretdb() -> int:
    return spawn(FERRETDB, ferretdb_command(FERRETDB.port, FERRETDB_HOME / "data"), FERRETDB_HOME)


def ferretdb_command(port: int, data: Path, postgresql_url: str | None = None) -> list[str]:
    """FerretDB on `port`: SQLite files under `data`, or the PostgreSQL database at `postgresql_url`."""
    command = [str(ferretdb_binary()), "--listen", f"127.0.0.1:{port}", "--data", str(data)]
    if postgresql_url:
        return [*command, "--postgresql-url", postgresql_url]
    return [*command, "--sqlite-params", FERRETDB_SQLITE_PARAMS]


# -- PostgreSQL, for FerretDB's other backend (measured by scripts/bench_store.py) ---------------


def postgres_tool(name: str) -> str:
    """A PostgreSQL server program (Debian keeps them off PATH, under /usr/lib/postgresql/N/bin)."""
    found = shutil.which(name) or next(
        (str(path) for path in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise InfraError(f"PostgreSQL's {name} is not installed; install Debian's postgresql package.")
    return found


def as_postgres_user(command: list[str], data: Path) -> list[str]:
    """PostgreSQL refuses to run as root: there, it runs as Debian's `postgres` user, owning `data`."""
    if os.geteuid() != 0:
        return command
    try:
        shutil.chown(data, "postgres", "postgres")
    except LookupError:
        raise InfraError("running as root and there is no 'postgres' user to run PostgreSQL as") from None
    return ["runuser", "-u", "postgres", "--", *command]


def postgres_answers(port: int) -> bool:
    """PostgreSQL accepts connections on `port` (pg_isready)."""
    ready = subprocess.run([postgres_tool("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)], check=False)
    return ready.returncode == 0


def start_postgres(data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """A PostgreSQL server for a benchmark: a new cluster in `data` (trust auth, loopback only)
    whose commits survive a crash of any process, not a power cut, like the SQLite default."""
    data.mkdir(parents=True, exist_ok=True)
    initdb = [postgres_tool("initdb"), "-D", str(data), "-U", "frontline", "--auth=trust", "-E", "UTF8"]
    with log.open("ab") as out:
        subprocess.run(as_postgres_user(initdb, data), stdout=out, stderr=subprocess.STDOUT, check=True)
        server = [
            postgres_tool("postgres"),
            *("-D", str(data), "-p", str(port), "-k", str(data)),
            *("-c", "listen_addresses=127.0.0.1", "-c", "synchronous_commit=off", "-c", "shared_buffers=512MB"),
        ]
        return subprocess.Popen(as_postgres_user(server, data), stdout=out, stderr=subprocess.STDOUT)


def mongo_answers_ping(port: int) -> bool:
    """Send `{ping: 1}` as an OP_MSG and expect `ok: 1.0` back."""
    command = b"\x10ping\x00" + struct.pack("<i", 1) + b"\x02$db\x00" + struct.pack("<i", 6) + b"admin\x00"
    document = struct.pack("<i", len(command) + 5) + command + b"\x00"
    payload = struct.pack("<I", 0) + b"\x00" + document
    message = struct.pack("<iiii", 16 + len(payload), 1, 0, 2013) + payload
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(message)
            length, _, _, opcode = struct.unpack("<iiii", read_exactly(sock, 16))
            reply = read_exactly(sock, length - 16)
    except (OSError, struct.error):
        return False
    ok_one = b"\x01ok\x00" + struct.pack("<d", 1.0)
    return opcode == 2013 and ok_one in reply


def read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = b""
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise OSError("connection closed")
        chunks += chunk
    return chunks


INSTALLERS = {"kafka": install_kafka, "ferretdb": install_ferretdb}
STARTERS = {"kafka": start_kafka, "ferretdb": start_ferretdb}
PROBES = {"kafka": kafka_answers_metadata, "ferretdb": mongo_answers_ping}

if __name__ == "__main__":
    sys.exit(main())
