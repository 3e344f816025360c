"""Versioned documents: a reader takes the value its committed state allows, whatever the storage form."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from services.records.store import LogState, committed, versioned

VALUE = {"at": datetime(2026, 12, 5, 9, 30, tzinfo=UTC), "id": uuid.UUID(int=7), "n": [1, {"x": "é"}]}
BEFORE = {"n": [0]}


def test_a_reader_takes_the_new_value_once_its_batch_is_committed() -> None:
    doc = versioned("c1", VALUE, BEFORE, batch=3)
    state = LogState("t1")
    assert committed(doc, replace(state, batch=2)) == BEFORE
    assert committed(doc, replace(state, batch=3)) == VALUE
    assert committed(doc, replace(state, batch=3, abandoned=[3])) == BEFORE


def test_a_placeholder_reads_as_missing_until_committed_and_a_missing_document_as_none() -> None:
    placeholder = versioned("c1", None, None, batch=4)
    assert committed(placeholder, replace(LogState("t1"), batch=4)) is None
    assert committed(None, LogState("t1")) is None


def test_values_stored_as_documents_before_blobs_still_read() -> None:
    doc = {"_id": "c1", "v": VALUE, "p": BEFORE, "b": 3}
    assert committed(doc, replace(LogState("t1"), batch=3)) == VALUE
    assert committed(doc, replace(LogState("t1"), batch=1)) == BEFORE
