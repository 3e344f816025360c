"""The Merkle log against RFC 9162's definitions: tree heads computed the slow, literal way, and every
inclusion and consistency proof verifies — while a changed leaf, root, index or size does not."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from services.records.core.merkle import (
    EMPTY_ROOT,
    Frontier,
    MerkleLog,
    Tree,
    leaf_hash,
    node_hash,
    nodes_needed,
    verify_consistency,
    verify_inclusion,
)


def literal_root(leaves: list[bytes]) -> bytes:
    """MTH as RFC 9162 §2.1.1 writes it."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(literal_root(leaves[:k]), literal_root(leaves[k:]))


def log_of(n: int) -> tuple[MerkleLog, list[bytes]]:
    leaves = [leaf_hash(f"record {i}".encode()) for i in range(n)]
    return MerkleLog(leaves), leaves


def test_known_values_of_the_hashing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    log, leaves = log_of(3)
    assert log.root() == node_hash(node_hash(leaves[0], leaves[1]), leaves[2])


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 70), data=st.data())
def test_every_tree_head_and_proof_agrees_with_the_rfc(n: int, data: st.DataObject) -> None:
    log, leaves = log_of(n)
    size = data.draw(st.integers(1, n))
    assert log.root(size) == literal_root(leaves[:size])
    index = data.draw(st.integers(0, size - 1))
    root = log.root(size)
    path = log.inclusion_proof(index, size)
    assert verify_inclusion(leaves[index], index, size, path, root)
    assert not verify_inclusion(leaf_hash(b"forged"), index, size, path, root)
    if size > 1:
        assert not verify_inclusion(leaves[index], (index + 1) % size, size, path, root)
    old = data.draw(st.integers(1, size))
    proof = log.consistency_proof(old, size)
    assert verify_consistency(old, size, proof, log.root(old), root)
    if old < size:
        assert not verify_consistency(old, size, proof, log.root(old), leaf_hash(b"other head"))
        assert not verify_consistency(old, size, proof, leaf_hash(b"other old head"), root)


def test_a_log_whose_history_was_rewritten_is_not_consistent_with_its_old_head() -> None:
    log, leaves = log_of(10)
    old_root = log.root(6)
    rewritten = MerkleLog([*leaves[:3], leaf_hash(b"edited"), *leaves[4:]])
    proof = rewritten.consistency_proof(6, 10)
    assert not verify_consistency(6, 10, proof, old_root, rewritten.root())
    assert verify_consistency(6, 10, log.consistency_proof(6, 10), old_root, log.root())


def test_the_worked_example_of_rfc_9162_section_2_1_5() -> None:
    """The 7-leaf tree of the RFC, its audit paths and consistency proofs, by the names it gives them."""
    a, b, c, d, e, f, j = (leaf_hash(f"d{i}".encode()) for i in range(7))
    g, h, i = node_hash(a, b), node_hash(c, d), node_hash(e, f)
    k, l = node_hash(g, h), node_hash(i, j)  # noqa: E741  (the RFC's name)
    log = MerkleLog([a, b, c, d, e, f, j])
    assert log.root() == node_hash(k, l)
    assert log.inclusion_proof(0) == [b, h, l]
    assert log.inclusion_proof(3) == [c, g, l]
    assert log.inclusion_proof(4) == [f, j, k]
    assert log.inclusion_proof(6) == [i, k]
    assert log.consistency_proof(3) == [c, d, g, l]
    assert log.consistency_proof(4) == [l]
    assert log.consistency_proof(6) == [i, j, k]


@settings(max_examples=100, deadline=None)
@given(n=st.integers(0, 300))
def test_the_frontier_an_appender_keeps_gives_the_same_heads_and_nodes_as_the_whole_log(n: int) -> None:
    log, leaves = log_of(n)
    frontier = Frontier()
    stored: dict[tuple[int, int], bytes] = {}
    for leaf in leaves:
        for level, index, digest in frontier.append(leaf):
            stored[(level, index)] = digest
    assert frontier.root() == log.root()
    assert stored == {(h, i): digest for h, level in enumerate(log.levels) for i, digest in enumerate(level)}
    resumed = Frontier(frontier.size, frontier.edge)
    more = leaf_hash(b"one more")
    resumed.append(more)
    log.append(more)
    assert resumed.root() == log.root()


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 200), data=st.data())
def test_a_tree_over_only_the_nodes_a_proof_needs_gives_the_same_proof(n: int, data: st.DataObject) -> None:
    log, _ = log_of(n)
    index = data.draw(st.integers(0, n - 1))
    old = data.draw(st.integers(1, n))
    needed = nodes_needed(n, lambda tree: (tree.root(), tree.inclusion_proof(index), tree.consistency_proof(old)))
    sparse = Tree(n, lambda level, i: log.levels[level][i] if (level, i) in needed else b"missing")
    assert sparse.root() == log.root()
    assert sparse.inclusion_proof(index) == log.inclusion_proof(index)
    assert sparse.consistency_proof(old) == log.consistency_proof(old)
    assert len(needed) <= 4 * n.bit_length() + 2
