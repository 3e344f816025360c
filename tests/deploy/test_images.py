"""The services' images, as far as they can be checked without a Docker engine: each Dockerfile is
multi-stage on a pinned slim Python, runs as a numeric non-root user, exposes the port the service
listens on, starts a module that exists, copies only files that exist, and the package they
install carries every data file the code reads."""

import importlib
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "routing", "upsell", "records")


def _instructions(service: str) -> list[tuple[str, str]]:
    text = (ROOT / "services" / service / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_is_multi_stage_pinned_slim_and_runs_as_a_numeric_non_root_user(service):
    steps = _instructions(service)
    bases = [argument for op, argument in steps if op == "FROM"]
    assert len(bases) == 2, "a build stage and a final stage"
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm( AS build)?", base), base
    final = steps[[i for i, (op, _) in enumerate(steps) if op == "FROM"][-1] :]
    user = [argument for op, argument in final if op == "USER"]
    assert user == ["10001:10001"], "numeric, so runAsNonRoot can check it"
    assert not any(op == "HEALTHCHECK" for op, _ in steps), "Kubernetes probes check health"
    final_runs = " ".join(argument for op, argument in final if op == "RUN")
    assert not re.search(r"apt-get|apk |gcc|build-essential|pip install", final_runs), (
        "no build tools in the final stage"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_starts_the_service_module_on_its_port(service):
    steps = _instructions(service)
    [entrypoint] = [argument for op, argument in steps if op == "ENTRYPOINT"]
    assert entrypoint == f'["python", "-m", "services.{service}"]'
    assert importlib.util.find_spec(f"services.{service}.__main__") is not None
    [exposed] = [argument for op, argument in steps if op == "EXPOSE"]
    assert int(exposed) == importlib.import_module(f"services.{service}.app").DEFAULT_PORT


@pytest.mark.parametrize("service", SERVICES)
def test_everything_the_image_copies_exists_and_is_not_ignored(service):
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for op, argument in _instructions(service):
        if op != "COPY" or argument.startswith("--from"):
            continue
        *sources, _ = argument.split()
        for source in sources:
            assert (ROOT / source).exists(), f"{service}: COPY {source} does not exist"
            assert not any(fnmatch(source, pattern) or source.startswith(f"{pattern}/") for pattern in ignored), source


def test_the_installed_package_carries_every_data_file_the_code_reads():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config["package-data"]
    for package in ("frontline", "services", "wallboard"):
        for path in (ROOT / package).rglob("*"):
            if (
                path.is_dir()
                or path.suffix in {".py", ".pyc"}
                or "__pycache__" in path.parts
                or "_compiled" in path.parts  # routing's engine built here by make install; an image builds its own
                or path.name == "Dockerfile"
            ):
                continue
            owner = ".".join(path.parent.relative_to(ROOT).parts)
            assert any(fnmatch(path.name, g) for g in patterns.get(owner, [])), (
                f"{path.relative_to(ROOT)} is not package data: a non-editable install (the images) would lack it"
            )


@pytest.mark.parametrize("service", SERVICES)
def test_what_the_image_copies_is_enough_to_build_the_service(service, tmp_path):
    """Only the files the Dockerfile copies, first on the path: the service's app builds from them
    (no import of another service, the simulator or the tests), with production-like settings."""
    for op, argument in _instructions(service):
        if op == "COPY" and not argument.startswith("--from"):
            *sources, target = argument.split()
            for source in sources:
                destination = tmp_path / (
                    target.rstrip("/") + "/" + Path(source).name if target.endswith("/") else target
                )
                if target == "./":
                    destination = tmp_path / Path(source).name
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, destination, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(ROOT / source, destination)
    probe = (
        f"import sys, services.{service}.app as app\n"
        "assert app.__file__.startswith(sys.argv[1]), app.__file__\n"
        "from frontline.plumbing.settings import Settings\n"
        "api = app.create(Settings())\n"
        "assert '/readyz' in api.openapi()['paths']\n"
        "leaked = [m for m in sys.modules if m.split('.')[0] in ('simulation', 'wallboard', 'tests')\n"
        f"          or m.startswith('services.') and m.split('.')[1] != '{service}']\n"
        "assert not leaked, leaked\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
