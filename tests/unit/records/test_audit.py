"""A history checked against its tenant's Merkle log: intact when untouched; every kind of tampering
with the record store — an edited field, a removed record, a forged record, a reorder, an altered
leaf — found and located; an erased payload still verifies."""

from __future__ import annotations

from dataclasses import replace

from services.records.core.audit import Entry, Stored, TreeHead, payload_digest, verify_history
from services.records.core.merkle import MerkleLog


def build(contacts: dict[str, int]) -> tuple[list[Stored], MerkleLog, dict[str, list[int]]]:
    """Records of several contacts interleaved in one tenant's log, as the ingest would append them."""
    log, records, listed = MerkleLog(), [], {}
    last: dict[str, Entry] = {}
    rounds = max(contacts.values())
    for n in range(rounds):
        for contact, count in contacts.items():
            if n >= count:
                continue
            event = {"id": f"{contact}-e{n}", "type": "contact.queued", "data": {"customer": "Ann", "n": n}}
            entry = Entry(
                tenant="acme",
                index=log.size,
                event_id=event["id"],
                type=event["type"],
                contact_id=contact,
                occurred_at=f"2026-11-23T10:{n:02d}:00Z",
                payload_sha256=payload_digest(event),
                contact_seq=n,
                previous=last[contact].leaf().hex() if contact in last else None,
            )
            log.append(entry.leaf())
            last[contact] = entry
            records.append(Stored(entry, event))
            listed.setdefault(contact, []).append(entry.index)
    return records, log, listed


def of(records: list[Stored], contact: str) -> list[Stored]:
    return [r for r in records if r.entry.contact_id == contact]


RECORDS, LOG, LISTED = build({"c-1": 4, "c-2": 3, "c-3": 2})
HEAD = TreeHead(LOG.size, LOG.root())


def test_an_untouched_history_is_intact() -> None:
    for contact in ("c-1", "c-2", "c-3"):
        assert verify_history(of(RECORDS, contact), LOG, LISTED[contact], HEAD) == []


def test_an_edited_field_is_found_at_its_record() -> None:
    history = of(RECORDS, "c-1")
    history[2] = Stored(replace(history[2].entry, occurred_at="2026-11-23T09:00:00Z"), history[2].event)
    findings = verify_history(history, LOG, LISTED["c-1"], HEAD)
    assert [(f.problem, f.event_id) for f in findings if f.problem == "edited"] == [("edited", "c-1-e2")]


def test_an_edited_payload_is_found_by_its_hash() -> None:
    history = of(RECORDS, "c-2")
    event = dict(history[1].event or {}) | {"data": {"customer": "Mallory", "n": 1}}
    history[1] = Stored(history[1].entry, event)
    findings = verify_history(history, LOG, LISTED["c-2"], HEAD)
    assert [(f.problem, f.event_id, f.detail) for f in findings] == [
        ("edited", "c-2-e1", "its event differs from the committed hash")
    ]


def test_a_removed_record_is_found_by_its_leaf_and_by_the_broken_back_link() -> None:
    history = of(RECORDS, "c-1")
    removed = history.pop(1)
    findings = verify_history(history, LOG, LISTED["c-1"], HEAD)
    assert ("removed", removed.entry.index, None) in [(f.problem, f.index, f.event_id) for f in findings]
    assert ("removed", "c-1-e2") in [(f.problem, f.event_id) for f in findings], "the next record's link breaks"
    # removed together with its listing: the back link still gives it away
    unlisted = [i for i in LISTED["c-1"] if i != removed.entry.index]
    assert [f.event_id for f in verify_history(history, LOG, unlisted, HEAD)] == ["c-1-e2"]


def test_a_forged_record_is_found_as_inserted() -> None:
    history = of(RECORDS, "c-3")
    forged_event = {"id": "forged", "type": "contact.completed", "data": {}}
    forged = Entry(
        "acme",
        LOG.size,
        "forged",
        "contact.completed",
        "c-3",
        "2026-11-23T11:00:00Z",
        payload_digest(forged_event),
        2,
        history[-1].entry.leaf().hex(),
    )
    findings = verify_history([*history, Stored(forged, forged_event)], LOG, LISTED["c-3"], HEAD)
    assert [(f.problem, f.event_id) for f in findings] == [("inserted", "forged")]


def test_a_reorder_is_found_at_both_records() -> None:
    history = of(RECORDS, "c-2")
    first, second = history[0].entry, history[1].entry
    history[0] = Stored(replace(first, contact_seq=1), history[0].event)
    history[1] = Stored(replace(second, contact_seq=0), history[1].event)
    edited = {f.event_id for f in verify_history(history, LOG, LISTED["c-2"], HEAD) if f.problem == "edited"}
    assert edited == {"c-2-e0", "c-2-e1"}


def test_an_altered_leaf_store_no_longer_gives_the_signed_head() -> None:
    altered = MerkleLog([*LOG.levels[0][:3], b"\x00" * 32, *LOG.levels[0][4:]])
    findings = verify_history(of(RECORDS, "c-1"), altered, LISTED["c-1"], HEAD)
    assert [f.problem for f in findings] == ["log_altered"]


def test_an_erased_payload_still_verifies() -> None:
    history = [Stored(r.entry, None) for r in of(RECORDS, "c-1")]
    assert verify_history(history, LOG, LISTED["c-1"], HEAD) == []
