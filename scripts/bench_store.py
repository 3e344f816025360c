"""FerretDB's two backends, SQLite (the local default) and PostgreSQL, under the project's own store
patterns, measured in one run on fresh servers of each, started here on free ports.

    python scripts/bench_store.py [--documents 50000] [--seconds 3]

The patterns are what the services do on their hot paths: bulk inserts with duplicate keys read per
document (intake's outbox, contacts and customer keys; records' log), reads by `_id` (one at a
time and 32 at once), the atomic read-and-update of a customer profile, upserts by `_id` in bulk
(records' versioned documents, KPI buckets), and a query on a secondary index with a sort and a
limit (records' and upsell's reports). Each is measured on a new collection and again once it
holds `--documents` documents, as rates over a fixed time, so that a slow backend ends in time too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, ReplaceOne, ReturnDocument
from pymongo.errors import BulkWriteError, PyMongoError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, append_report, free_port, machine

_spec = importlib.util.spec_from_file_location("infra", ROOT / "deploy" / "local" / "infra.py")
assert _spec
assert _spec.loader
infra = importlib.util.module_from_spec(_spec)
sys.modules["infra"] = infra  # its dataclasses look their module up
_spec.loader.exec_module(infra)

BATCH = 500
# what records sends per update command: FerretDB 1.24 on SQLite hangs a database once one command's
# update statements hold its 100 connections (the README of deploy/local says more)
UPDATE_STATEMENTS = 50
Client = AsyncMongoClient[dict[str, Any]]


def contact(ident: str, i: int) -> dict[str, Any]:
    """A stored contact as intake keeps it: about 1.3 KB."""
    return {
        "_id": ident,
        "tenant": f"tenant-{i % 5}",
        "customer_id": f"customer-{i % 5000}",
        "event": {"type": "contact.received", "text": "where is my parcel? " * 40, "seq": i, "tags": ["a", "b"]},
        "stored_at": datetime.now(UTC),
    }


HUNG_AFTER = 60.0


async def rate(seconds: float, step: Callable[[], Awaitable[int]]) -> float | None:
    """Operations per second of `step` (which returns how many it did), repeated for `seconds`;
    None if one step got no answer in HUNG_AFTER seconds."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        try:
            done += await asyncio.wait_for(step(), HUNG_AFTER)
        except TimeoutError:
            return None
    return done / (time.perf_counter() - start)


async def measure(client: Client, documents: int, seconds: float) -> dict[str, dict[str, float | None]]:
    db = client[f"bench_store_{uuid.uuid4().hex[:8]}"]
    contacts, profiles, versioned = db["contacts"], db["profiles"], db["versioned"]
    await contacts.create_index([("tenant", 1), ("event.seq", -1)])
    results: dict[str, dict[str, float | None]] = {}
    counter = iter(range(10**9))

    async def insert_batch() -> int:
        batch = [contact(f"c-{n}", n) for n in (next(counter) for _ in range(BATCH))]
        await contacts.insert_many(batch, ordered=False)
        return BATCH

    async def insert_with_duplicates() -> int:
        fresh = [contact(f"c-{n}", n) for n in (next(counter) for _ in range(BATCH // 2))]
        seen = [contact(f"c-{n}", n) for n in range(BATCH // 2)]
        try:
            await contacts.insert_many(fresh + seen, ordered=False)
        except BulkWriteError as error:
            if len(error.details["writeErrors"]) != BATCH // 2:
                raise
        return BATCH

    async def read_one() -> int:
        await contacts.find_one({"_id": f"c-{next(counter) % max(stored, 1)}"})
        return 1

    async def read_32_at_once() -> int:
        ids = [f"c-{next(counter) % max(stored, 1)}" for _ in range(32)]
        await asyncio.gather(*(contacts.find_one({"_id": ident}) for ident in ids))
        return 32

    async def read_in_list() -> int:
        ids = [f"c-{next(counter) % max(stored, 1)}" for _ in range(100)]
        await contacts.find({"_id": {"$in": ids}}).to_list()
        return 100

    async def visit_profiles() -> int:
        async def one(n: int) -> None:
            await profiles.find_one_and_update(
                {"_id": f"p-{n % max(documents, 1)}"},
                {"$set": {f"concerns.c{n % 7}": {"d": "2026-12-03", "c": str(n)}}, "$setOnInsert": {"t": "x"}},
                upsert=True,
                return_document=ReturnDocument.BEFORE,
            )

        await asyncio.gather(*(one(next(counter)) for _ in range(32)))
        return 32

    async def upsert_versioned() -> int:
        writes = [
            ReplaceOne({"_id": f"v-{n % 2000}"}, {"v": {"count": n}, "b": n}, upsert=True)
            for n in (next(counter) for _ in range(UPDATE_STATEMENTS))
        ]
        await versioned.bulk_write(writes, ordered=False)
        return UPDATE_STATEMENTS

    async def latest_by_index() -> int:
        await contacts.find({"tenant": f"tenant-{next(counter) % 5}"}).sort("event.seq", -1).limit(20).to_list()
        return 1

    patterns = {
        "insert_many, 500 contacts of 1.3 KB: documents/s": insert_batch,
        "insert_many, half of them duplicates: documents/s": insert_with_duplicates,
        "find_one by _id: reads/s": read_one,
        "find_one by _id, 32 at once: reads/s": read_32_at_once,
        "find with _id $in 100 ids: documents/s": read_in_list,
        "find_one_and_update by _id (upsert, before), 32 at once: updates/s": visit_profiles,
        f"bulk_write of {UPDATE_STATEMENTS} replace_one by _id (upsert): writes/s": upsert_versioned,
        "find on a secondary index, sort, limit 20: queries/s": latest_by_index,
    }
    try:
        for size in (0, documents):
            stored = await contacts.estimated_document_count()
            while stored < size:
                await insert_batch()
                stored += BATCH
            for name, step in patterns.items():
                results.setdefault(name, {})[f"{size}"] = await rate(seconds, step)
                print(f"  {size:>7} documents · {name}: {_figure(results[name][f'{size}'])}", flush=True)
                stored = await contacts.estimated_document_count()
    except PyMongoError as error:  # a server that stopped answering: what was measured stands
        print(f"  the server stopped answering ({type(error).__name__}); its remaining figures are missing")
        return results
    await client.drop_database(db.name)
    return results


@contextlib.asynccontextmanager
async def ferretdb(name: str, work: Path, postgresql: bool) -> AsyncIterator[Client]:
    """A fresh FerretDB (and PostgreSQL under it) in `work`, stopped and removed afterwards."""
    processes: list[subprocess.Popen[bytes]] = []
    log = work / f"{name}.log"
    url = None
    if postgresql:
        port = free_port()
        processes.append(infra.start_postgres(work / "postgres", port, log))
        url = f"postgres://frontline@127.0.0.1:{port}/postgres"
        await until(lambda: infra.postgres_answers(port), f"PostgreSQL did not start; see {log}")
    port = free_port()
    with log.open("ab") as out:
        command = infra.ferretdb_command(port, work / f"{name}-data", url)
        processes.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT))  # noqa: ASYNC220 - a server started once
    await until(lambda: infra.mongo_answers_ping(port), f"FerretDB did not start; see {log}")
    client: Client = AsyncMongoClient(f"mongodb://127.0.0.1:{port}", timeoutMS=120_000)
    try:
        yield client
    finally:
        await client.close()
        for process in reversed(processes):
            process.terminate()
            process.wait(30)


async def until(ready: Callable[[], bool], problem: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(problem)
        await asyncio.sleep(0.3)


async def run(args: argparse.Namespace) -> dict[str, dict[str, dict[str, float | None]]]:
    infra.install_ferretdb()
    measured = {}
    with tempfile.TemporaryDirectory(prefix="frontline-bench-store-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)  # PostgreSQL runs as its own user when we are root
        for name, postgresql in (("sqlite", False), ("postgresql", True)):
            print(f"FerretDB {infra.FERRETDB_VERSION} on {name}:", flush=True)
            async with ferretdb(name, work, postgresql) as client:
                measured[name] = await measure(client, args.documents, args.seconds)
    return measured


def _figure(value: float | None) -> str:
    if value is None:
        return f"no answer in {HUNG_AFTER:.0f} s"
    return f"{value:,.0f}" if value >= 10 else f"{value:.2f}"


def render(args: argparse.Namespace, measured: dict[str, dict[str, dict[str, float | None]]]) -> str:
    size = f"{args.documents:,}"
    lines = [
        f"## store backends — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `python scripts/bench_store.py --documents {args.documents} --seconds {args.seconds}`"
        " (in `make bench`)",
        f"Machine: {machine()}; FerretDB {infra.FERRETDB_VERSION} on SQLite (WAL, synchronous=normal) and on",
        "PostgreSQL (Debian's, synchronous_commit=off), each fresh, one after the other in this run. Each",
        "pattern runs for the time given, first on a new collection (which the insert patterns grow as they",
        f"run), then again once it holds at least {size} contacts. Rates per second.",
        "",
        f"| pattern | SQLite, new | SQLite, {size} | PostgreSQL, new | PostgreSQL, {size} "
        f"| SQLite ÷ PostgreSQL at {size} |",
        "|---|---|---|---|---|---|",
    ]
    for name, sqlite in measured["sqlite"].items():
        postgresql = measured["postgresql"].get(name, {})
        big = str(args.documents)
        lite, pg = sqlite.get(big), postgresql.get(big)
        ratio = f"{lite / pg:,.2f}" if lite and pg else "—"
        figures = [sqlite.get("0"), lite, postgresql.get("0"), pg]
        lines.append(f"| {name} | {' | '.join(_figure(x) for x in figures)} | {ratio} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    report = render(args, asyncio.run(run(args)))
    print(report)
    append_report(report)


if __name__ == "__main__":
    main()
