"""The services' images, as far as they can be checked without a Docker engine: each Dockerfile is
multi-stage on a pinned slim Python, runs as a numeric non-root user, exposes the port the service
listens on, starts a module that exists, copies only files that exist, and the package they
install carries every data file the code reads."""

import importlib
import importlib.util
import re
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
                or path.name == "Dockerfile"
            ):
                continue
            owner = ".".join(path.parent.relative_to(ROOT).parts)
            assert any(fnmatch(path.name, g) for g in patterns.get(owner, [])), (
                f"{path.relative_to(ROOT)} is not package data: a non-editable install (the images) would lack it"
            )
