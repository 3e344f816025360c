"""Generated hostile requests over every operation of every service's OpenAPI (schemathesis, pinned,
bounded in examples per operation and seeded): whatever is sent, no answer is a 5xx."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.robustness.conftest import FRESH_KEYS, SERVICES

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("service", "key"),
    [
        *((service, "admin") for service in SERVICES),
        ("routing", "agent"),
        ("upsell", "agent"),
    ],
)
async def test_no_generated_request_gets_a_server_error(
    doors: dict[str, httpx.AsyncClient], service: str, key: str
) -> None:
    url = str(doors[service].base_url).rstrip("/")
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "15",
        "--seed",
        "15",
        "--phases",
        "examples,coverage,fuzzing",
        "--header",
        f"Authorization: Bearer {FRESH_KEYS[key]}",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    hooks = {"SCHEMATHESIS_HOOKS": "tests.robustness.schemathesis_hooks", "PYTHONPATH": str(ROOT)}
    run = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ | hooks
    )
    output, _ = await asyncio.wait_for(run.communicate(), 540)
    summary = output.decode(errors="replace")[-6000:]
    assert run.returncode == 0, summary
    assert " passed" in summary
