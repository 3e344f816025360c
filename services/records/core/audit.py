"""What a record commits to in its tenant's Merkle log, and the checks of the record store against it.

Each record becomes one leaf: the canonical JSON of an `Entry` — where it stands in the log and in its
subject's history (a contact, an agent, or the tenant itself), the hash of its event, and the leaf
hash of the subject's previous record. The event is committed by hash only, so erasing or purging a
payload later leaves every leaf, every tree head and every proof intact.

- `verify_history` checks one subject's records with inclusion proofs against a signed tree head:
  O(log n) stored hashes per record, whatever the log's size.
- `audit_log` checks a whole log: every leaf has its record, every record its leaf, and the leaves
  give the signed tree head.

Both name each record that was edited, inserted or removed (a reorder edits two records), by its
place in the log and in its history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from services.records.core.merkle import MerkleLog, Tree, leaf_hash, verify_inclusion

Problem = Literal["edited", "inserted", "removed", "log_altered"]
DIFFERS = "its fields differ from its leaf"


def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes a hash is taken of."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def payload_digest(event: dict[str, Any]) -> str:
    """SHA-256 of the event's canonical JSON."""
    return hashlib.sha256(canonical(event)).hexdigest()


@dataclass(frozen=True)
class Entry:
    tenant: str
    index: int  # the leaf's place in the tenant's log
    event_id: str
    type: str
    subject: str  # whose history: a contact id, "agent:<id>", or "tenant"
    occurred_at: str
    payload_sha256: str
    seq: int  # place in the subject's history, from 0
    previous: str | None  # leaf hash (hex) of the subject's previous record

    def leaf(self) -> bytes:
        return leaf_hash(canonical(asdict(self)))


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes


@dataclass(frozen=True)
class Finding:
    problem: Problem
    index: int | None
    seq: int | None
    event_id: str | None
    detail: str


@dataclass(frozen=True)
class Stored:
    """A record as the store holds it: its entry, and its event unless the payload was withheld
    (erased with its customer's key, or purged after retention)."""

    entry: Entry
    event: dict[str, Any] | None


def _payload_finding(record: Stored) -> Finding | None:
    entry = record.entry
    if record.event is not None and payload_digest(record.event) != entry.payload_sha256:
        return Finding("edited", entry.index, entry.seq, entry.event_id, "its event differs from the committed hash")
    return None


def verify_history(
    records: list[Stored],
    *,
    head: TreeHead,
    tree: Tree,
    leaves: dict[int, bytes],
    count: int,
    last_leaf: str | None,
) -> list[Finding]:
    """Findings for one subject's history: `records` as found at their places in it, `count` and
    `last_leaf` what the subject's head says, `leaves` the stored leaf hash at each record's index and
    `tree` the stored hashes the inclusion proofs need. Empty: intact."""
    findings: list[Finding] = []
    by_seq = {r.entry.seq: r for r in records}
    for record in sorted(records, key=lambda r: r.entry.seq):
        entry = record.entry
        stored = leaves.get(entry.index)
        if entry.seq >= count or entry.index >= head.size:
            findings.append(Finding("inserted", entry.index, entry.seq, entry.event_id, "not in the signed log"))
        elif stored is None or stored != entry.leaf():
            findings.append(
                Finding("edited", entry.index, entry.seq, entry.event_id, "its fields differ from its leaf")
            )
        elif not verify_inclusion(stored, entry.index, head.size, tree.inclusion_proof(entry.index), head.root):
            detail = "its leaf, or a hash above it, was altered in the log store: the signed tree head lacks it"
            findings.append(Finding("log_altered", entry.index, entry.seq, entry.event_id, detail))
        elif (problem := _payload_finding(record)) is not None:
            findings.append(problem)
    for seq in range(count):
        if seq not in by_seq:
            findings.append(Finding("removed", None, seq, None, "the history has no record at this place"))
    findings += _broken_links(records)
    last = by_seq.get(count - 1)
    if count and last is not None and last.entry.leaf().hex() != last_leaf:
        findings.append(
            Finding("edited", last.entry.index, last.entry.seq, last.entry.event_id, "not the history's last leaf")
        )
    return _unique(findings)


def audit_log(records: Iterable[Stored], leaves: list[bytes | None], head: TreeHead) -> list[Finding]:
    """Findings for a whole log: `records` every record the store holds for the tenant, `leaves` the
    stored leaf hash at each index (None where the store lacks it). Empty: intact."""
    findings: list[Finding] = []
    seen: dict[int, Stored] = {}
    kept: list[Stored] = []
    for record in records:
        entry = record.entry
        if entry.index >= head.size or entry.index in seen or entry.index >= len(leaves):
            findings.append(Finding("inserted", entry.index, entry.seq, entry.event_id, "no leaf of the log is its"))
            continue
        seen[entry.index] = record
        kept.append(record)
        if leaves[entry.index] != entry.leaf():
            findings.append(
                Finding("edited", entry.index, entry.seq, entry.event_id, "its fields differ from its leaf")
            )
        elif (problem := _payload_finding(record)) is not None:
            findings.append(problem)
    for index in range(head.size):
        if index not in seen:
            findings.append(Finding("removed", index, None, None, "a leaf of the log has no record"))
    stored = leaves[: head.size]
    if len(stored) < head.size or any(leaf is None for leaf in stored) or MerkleLog(stored).root() != head.root:  # type: ignore[arg-type]
        findings.append(Finding("log_altered", None, None, None, "the stored leaves do not give the signed tree head"))
    findings += _broken_links(kept)
    return _unique(findings)


def _broken_links(records: list[Stored]) -> list[Finding]:
    """Each record of a subject must follow the one before it: sequence and back link. A record whose
    predecessor is missing names the removal from its side too."""
    findings = []
    by_subject: dict[str, list[Entry]] = {}
    for record in records:
        by_subject.setdefault(record.entry.subject, []).append(record.entry)
    for entries in by_subject.values():
        entries.sort(key=lambda e: e.seq)
        previous: Entry | None = None
        for entry in entries:
            expected_seq = 0 if previous is None else previous.seq + 1
            expected_link = None if previous is None else previous.leaf().hex()
            if entry.seq != expected_seq or entry.previous != expected_link:
                detail = f"its back link is broken: the history's record {entry.seq - 1} is not the one it follows"
                findings.append(Finding("removed", entry.index, entry.seq, entry.event_id, detail))
            previous = entry
    return findings


def _unique(findings: list[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))
