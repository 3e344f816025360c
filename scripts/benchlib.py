"""What every benchmark script shares: the machine it ran on, a free port, the report appended."""

from __future__ import annotations

import os
import platform
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown CPU")
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} cores ({cpu}), {memory} GiB, {system}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def append_report(report: str) -> None:
    print(report)
    with (ROOT / "BENCHMARKS.md").open("a") as out:
        out.write(report)
