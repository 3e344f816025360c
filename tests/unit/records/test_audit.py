"""Histories and whole logs checked against the tenant's Merkle log: intact when untouched; every kind
of tampering with the record store — an edited field or payload, a removed record, a forged record, a
reorder, an altered leaf store — found and located; withheld (erased or purged) payloads still verify."""

from __future__ import annotations

from dataclasses import replace

from services.records.core.audit import Entry, Stored, TreeHead, audit_log, payload_digest, verify_history
from services.records.core.merkle import MerkleLog, leaf_hash


def build(subjects: dict[str, int]) -> tuple[list[Stored], MerkleLog]:
    """Records of several contacts interleaved in one tenant's log, as the ingest appends them."""
    log, records = MerkleLog(), []
    last: dict[str, Entry] = {}
    for n in range(max(subjects.values())):
        for subject, count in subjects.items():
            if n >= count:
                continue
            event = {"id": f"{subject}-e{n}", "type": "contact.queued", "data": {"customer": "Ann", "n": n}}
            entry = Entry(
                tenant="acme",
                index=log.size,
                event_id=event["id"],
                type=event["type"],
                subject=subject,
                occurred_at=f"2026-11-23T10:{n:02d}:00Z",
                payload_sha256=payload_digest(event),
                seq=n,
                previous=last[subject].leaf().hex() if subject in last else None,
            )
            log.append(entry.leaf())
            last[subject] = entry
            records.append(Stored(entry, event))
    return records, log


RECORDS, LOG = build({"c-1": 4, "c-2": 3, "c-3": 2})
HEAD = TreeHead(LOG.size, LOG.root())


def of(records: list[Stored], subject: str = "c-1") -> list[Stored]:
    return [r for r in records if r.entry.subject == subject]


def check(records: list[Stored], *, log: MerkleLog = LOG, count: int = 4, subject: str = "c-1") -> list[tuple]:
    originals = of(RECORDS, subject)
    findings = verify_history(
        of(records, subject),
        head=HEAD,
        tree=log,
        leaves={i: log.levels[0][i] for i in range(log.size)},
        count=count,
        last_leaf=originals[-1].entry.leaf().hex(),
    )
    return [(f.problem, f.seq) for f in findings]


def audit(records: list[Stored], leaves: list[bytes | None] | None = None) -> list[tuple]:
    findings = audit_log(records, list(LOG.levels[0]) if leaves is None else leaves, HEAD)
    return [(f.problem, f.index) for f in findings]


def test_an_untouched_history_and_log_are_intact() -> None:
    assert check(RECORDS) == []
    assert audit(RECORDS) == []


def test_an_edited_field_is_found_at_its_record() -> None:
    edited = [
        replace(r, entry=replace(r.entry, type="contact.abandoned")) if r.entry.index == 3 else r for r in RECORDS
    ]
    assert check(edited) == [("edited", 1), ("removed", 2)]  # the next record's back link no longer matches
    assert ("edited", 3) in audit(edited)


def test_an_edited_payload_is_found_by_its_hash() -> None:
    edited = [
        replace(r, event={**r.event, "data": {"customer": "Bob"}}) if r.entry.index == 0 and r.event else r
        for r in RECORDS
    ]
    assert check(edited) == [("edited", 0)]
    assert audit(edited) == [("edited", 0)]


def test_a_removed_record_is_found_by_its_place_and_by_the_broken_back_link() -> None:
    removed = [r for r in RECORDS if r.entry.index != 3]  # c-1's second record
    assert check(removed) == [("removed", 1), ("removed", 2)]
    assert ("removed", 3) in audit(removed)


def test_a_removed_last_record_is_found_against_the_history_head() -> None:
    removed = [r for r in RECORDS if r.entry.index != 8]  # c-1's last record
    assert check(removed) == [("removed", 3)]
    assert audit(removed) == [("removed", 8)]


def test_a_forged_record_is_found_as_inserted() -> None:
    last = of(RECORDS)[-1].entry
    event = {"id": "forged", "type": "contact.completed", "data": {}}
    forged_entry = replace(
        last,
        index=HEAD.size,
        event_id="forged",
        seq=4,
        previous=last.leaf().hex(),
        payload_sha256=payload_digest(event),
    )
    forged = [*RECORDS, Stored(forged_entry, event)]
    assert check(forged) == [("inserted", 4)]
    assert audit(forged) == [("inserted", HEAD.size)]
    squatter = Stored(replace(forged_entry, index=3, seq=1), event)  # claims an existing leaf's place
    assert ("inserted", 3) in audit([*RECORDS, squatter])


def test_a_reorder_is_found_at_both_records() -> None:
    first, second = of(RECORDS)[1], of(RECORDS)[2]
    swapped = {
        first.entry.index: replace(first, entry=replace(first.entry, seq=2)),
        second.entry.index: replace(second, entry=replace(second.entry, seq=1)),
    }
    reordered = [swapped.get(r.entry.index, r) for r in RECORDS]
    problems = check(reordered)
    assert ("edited", 1) in problems
    assert ("edited", 2) in problems
    assert {("edited", first.entry.index), ("edited", second.entry.index)} <= set(audit(reordered))


def test_a_record_edited_with_its_leaf_is_caught_by_the_signed_head() -> None:
    target = of(RECORDS)[1]
    edited_entry = replace(target.entry, type="contact.abandoned")
    records = [replace(r, entry=edited_entry) if r is target else r for r in RECORDS]
    altered_leaves = list(LOG.levels[0])
    altered_leaves[target.entry.index] = edited_entry.leaf()
    altered = MerkleLog(altered_leaves)
    assert ("log_altered", 1) in check(records, log=altered)
    assert ("log_altered", None) in audit(records, altered_leaves)


def test_withheld_payloads_still_verify() -> None:
    withheld = [replace(r, event=None) if r.entry.subject == "c-1" else r for r in RECORDS]
    assert check(withheld) == []
    assert audit(withheld) == []


def test_a_lost_leaf_is_a_log_alteration() -> None:
    leaves: list[bytes | None] = list(LOG.levels[0])
    leaves[4] = None
    assert ("log_altered", None) in audit(RECORDS, leaves)
    leaves[4] = leaf_hash(b"other")
    assert ("edited", 4) in audit(RECORDS, leaves)
