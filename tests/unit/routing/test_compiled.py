"""Routing's engine runs compiled (mypyc, `make install`) only while the build matches its sources."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.routing import core
from services.routing.core import router

ROOT = Path(__file__).resolve().parents[3]


def test_the_engine_runs_from_the_build_exactly_when_it_matches_its_sources() -> None:
    source = Path(router.__file__).parent
    if core.COMPILED:
        assert source == core.COMPILED_DIR, "a matching build is used"
        assert Path(router.__file__).suffix == ".so"
    else:
        assert Path(router.__file__) == core.HERE / "router.py"


def test_a_build_of_other_sources_or_none_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRONTLINE_ROUTING_COMPILED", raising=False)
    monkeypatch.setattr(core, "COMPILED_DIR", tmp_path)
    assert not core._compiled_build_matches(), "no build"
    (tmp_path / core.DIGEST_FILE).write_text(core.sources_digest() + "\n")
    assert core._compiled_build_matches()
    monkeypatch.setenv("FRONTLINE_ROUTING_COMPILED", "0")
    assert not core._compiled_build_matches(), "switched off"
    monkeypatch.delenv("FRONTLINE_ROUTING_COMPILED")
    edited = tmp_path / "sources"
    shutil.copytree(core.HERE, edited, ignore=shutil.ignore_patterns("_compiled", "__pycache__"))
    with (edited / "pace.py").open("a") as pace:
        pace.write("\n# an edit\n")
    (tmp_path / core.DIGEST_FILE).write_text(core.sources_digest(edited) + "\n")
    assert not core._compiled_build_matches(), "built from sources edited since"


def test_switched_off_the_sources_run() -> None:
    probe = "import services.routing.core.router as r, services.routing.core as c; print(c.COMPILED, r.__file__)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "FRONTLINE_ROUTING_COMPILED": "0", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    compiled, path = done.stdout.split()
    assert compiled == "False"
    assert path.endswith("services/routing/core/router.py")
