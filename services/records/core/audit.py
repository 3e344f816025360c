"""What a record commits to in its tenant's Merkle log, and the check of a history against the log.

Each record becomes one leaf: the canonical JSON of an `Entry` — where it stands in the log and in its
contact's history, the hash of its event's payload, and the leaf hash of the contact's previous
record. The payload is committed by hash only, so erasing personal data later leaves every leaf,
every tree head and every proof intact.

`verify_history` takes a contact's (or customer's) records as the store returns them, the log's
leaves and a signed tree head, and names every record that was edited, inserted or removed (an
edit of a record's place — a reorder — is an edit too).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from services.records.core.merkle import MerkleLog, leaf_hash

Problem = Literal["edited", "inserted", "removed", "log_altered"]


def payload_digest(event: dict[str, Any]) -> str:
    """SHA-256 of the event's canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(_canonical(event)).hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Entry:
    tenant: str
    index: int  # the leaf's place in the tenant's log
    event_id: str
    type: str
    contact_id: str | None
    occurred_at: str
    payload_sha256: str
    contact_seq: int | None  # place in the contact's history, from 0
    previous: str | None  # leaf hash (hex) of the contact's previous record

    def leaf(self) -> bytes:
        return leaf_hash(_canonical(asdict(self)))


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes


@dataclass(frozen=True)
class Finding:
    problem: Problem
    index: int | None
    event_id: str | None
    detail: str


@dataclass(frozen=True)
class Stored:
    """A record as the store holds it: its entry, and its event unless the payload was erased."""

    entry: Entry
    event: dict[str, Any] | None


def verify_history(records: list[Stored], log: MerkleLog, listed: list[int], head: TreeHead) -> list[Finding]:
    """Findings for one history: `records` as found, `listed` the leaf indices the log's leaf store
    files under this history, `log` the leaves as stored, `head` a signed tree head. Empty: intact."""
    if head.size > log.size or log.root(head.size) != head.root:
        return [Finding("log_altered", None, None, "the stored leaves do not produce the signed tree head")]
    findings: list[Finding] = []
    found = {r.entry.index: r for r in records}
    for record in sorted(records, key=lambda r: r.entry.index):
        entry = record.entry
        if entry.index not in listed or entry.index >= head.size:
            findings.append(Finding("inserted", entry.index, entry.event_id, "no leaf of this history at its place"))
        elif log.levels[0][entry.index] != entry.leaf():
            findings.append(Finding("edited", entry.index, entry.event_id, "its fields differ from its leaf"))
        elif record.event is not None and payload_digest(record.event) != entry.payload_sha256:
            findings.append(Finding("edited", entry.index, entry.event_id, "its event differs from the committed hash"))
    for index in sorted(set(listed) - set(found)):
        if index < head.size:
            findings.append(Finding("removed", index, None, "a leaf of this history has no record"))
    findings += _broken_links(records)
    return findings


def _broken_links(records: list[Stored]) -> list[Finding]:
    """Each record of a contact must follow the one before it: sequence and back link."""
    findings = []
    by_contact: dict[str, list[Entry]] = {}
    for record in records:
        if record.entry.contact_id is not None:
            by_contact.setdefault(record.entry.contact_id, []).append(record.entry)
    for entries in by_contact.values():
        entries.sort(key=lambda e: e.contact_seq if e.contact_seq is not None else -1)
        previous: Entry | None = None
        for entry in entries:
            expected_seq = 0 if previous is None else (previous.contact_seq or 0) + 1
            expected_link = None if previous is None else previous.leaf().hex()
            if entry.contact_seq != expected_seq or entry.previous != expected_link:
                detail = f"its back link is broken: the contact's record {expected_seq} is not the one before it"
                findings.append(Finding("removed", entry.index, entry.event_id, detail))
            previous = entry
    return findings
