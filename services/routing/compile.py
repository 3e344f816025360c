"""`python -m services.routing.compile`: compile routing's engine (`services/routing/core`) with
mypyc into `services/routing/core/_compiled/`, which the package uses while it matches its sources.

Run from the repository root (mypy reads its settings from pyproject.toml there), or with
`--root` naming where `pyproject.toml` and `services/` are. Needs mypy (a dev dependency) and a C
compiler; without them it says so and exits 1, and routing runs its sources as they are.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from services.routing import core


def compile_engine(root: Path, into: Path) -> None:
    try:
        from mypyc.build import mypycify  # a build tool: routing runs without it
        from setuptools import setup  # type: ignore[import-untyped]
    except ImportError as missing:
        raise SystemExit(f"compile: {missing.name} is not installed; routing runs its sources as they are") from None
    sources = [f"services/routing/core/{name}.py" for name in core.MODULES]
    os.chdir(root)  # mypyc names the modules by their paths from here
    with tempfile.TemporaryDirectory() as work:
        built = Path(work) / "lib"
        setup(
            name="frontline-routing-engine",
            ext_modules=mypycify(
                ["--config-file", str(root / "pyproject.toml"), *sources],
                opt_level="3",
                target_dir=str(Path(work) / "c"),
            ),
            script_args=["--quiet", "build_ext", "--build-lib", str(built), "--build-temp", str(Path(work) / "tmp")],
        )
        shutil.rmtree(into, ignore_errors=True)
        (into / core.RUNTIME).mkdir(parents=True)
        for library in built.rglob("*.so"):  # the modules, and mypyc's runtime shared by them
            shutil.copy2(library, into / (core.RUNTIME if "__mypyc" in library.name else ".") / library.name)
    (into / core.DIGEST_FILE).write_text(core.sources_digest(root / "services/routing/core") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="where pyproject.toml and services/ are")
    parser.add_argument("--into", type=Path, default=core.COMPILED_DIR, help="the directory the package reads")
    args = parser.parse_args()
    compile_engine(args.root.resolve(), args.into.resolve())
    print(f"compile: routing's engine compiled into {args.into}", file=sys.stderr)


if __name__ == "__main__":
    main()
