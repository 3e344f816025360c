"""Routing's rules, free of I/O: the engine (`router`), its state and how it chooses.

The engine's modules are compiled with mypyc when Frontline is installed (`make install`; the
routing image does the same): C extensions of these very sources, about 1.3 times as fast as the
sources run by Python in the engine benchmark (BENCHMARKS.md). They live in `_compiled/` beside
the sources, with a digest of the sources they were built from, and are used only while that
digest matches — an edited source runs as it is until the next build.
`FRONTLINE_ROUTING_COMPILED=0` runs the sources even when a build matches.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

# The modules compiled (every one the engine runs; `snapshot` is not in the hot path).
MODULES = ("agents", "contacts", "errors", "matching", "outcomes", "pace", "router", "selection", "state", "stats")
HERE = Path(__file__).parent
COMPILED_DIR = HERE / "_compiled"
DIGEST_FILE = "SOURCES.sha256"
RUNTIME = "runtime"  # mypyc's runtime library, a top-level module: kept apart from the modules


def sources_digest(directory: Path = HERE) -> str:
    """One SHA-256 over the compiled modules' sources, and the Python they are built for."""
    digest = hashlib.sha256(sys.implementation.cache_tag.encode())
    for name in MODULES:
        digest.update(name.encode() + b"\0" + (directory / f"{name}.py").read_bytes() + b"\0")
    return digest.hexdigest()


def _compiled_build_matches() -> bool:
    if os.environ.get("FRONTLINE_ROUTING_COMPILED", "1") == "0":
        return False
    try:
        return (COMPILED_DIR / DIGEST_FILE).read_text().strip() == sources_digest()
    except OSError:
        return False


COMPILED = _compiled_build_matches()
if COMPILED:
    __path__.insert(0, str(COMPILED_DIR))  # submodules are looked up there first
    sys.path.append(str(COMPILED_DIR / RUNTIME))
