"""Tiles against the whole log held in memory: whatever batches the leaves were appended in, the tiles
stored give back every leaf and every complete subtree's hash, read at the log's size."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.records.core.merkle import Frontier, MerkleLog, Tree, nodes_needed
from services.records.core.tiles import HASH, WIDTH, Tile, Tiler, last_tiles, leaf_tiles, node_in, tile_at, tiles_for


def leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(n)]


def append_in_batches(hashes: list[bytes], cuts: list[int]) -> dict[Tile, bytes]:
    """Appends as a writer does: a Tiler per batch over the partial tiles the last one left."""
    stored: dict[Tile, bytes] = {}
    frontier, partial = Frontier(), dict[int, bytes]()
    bounds = sorted({0, len(hashes), *(c % (len(hashes) + 1) for c in cuts)})
    for start, end in itertools.pairwise(bounds):
        tiler = Tiler(frontier.size, partial)
        for leaf in hashes[start:end]:
            tiler.add(frontier.append(leaf))
        stored.update(tiler.changed())
        partial = tiler.partial()
        assert {t.tier: stored[t] for t in last_tiles(frontier.size)} == partial
    return stored


def every_node(log: MerkleLog) -> list[tuple[int, int]]:
    return [(level, index) for level, row in enumerate(log.levels) for index in range(len(row))]


@settings(max_examples=100, deadline=None)
@given(n=st.integers(0, 1500), cuts=st.lists(st.integers(0, 1500), max_size=6))
def test_the_tiles_give_every_leaf_and_node_of_the_log(n: int, cuts: list[int]) -> None:
    hashes = leaves(n)
    log = MerkleLog(hashes)
    stored = append_in_batches(hashes, cuts)
    assert b"".join(stored[t] for t in leaf_tiles(n)) == b"".join(hashes)
    for (level, index), tile in tiles_for(n, every_node(log)).items():
        assert node_in(tile, stored[tile], level, index) == log.levels[level][index]


def test_a_log_of_three_tiers_appended_in_uneven_batches() -> None:
    hashes = leaves(WIDTH * WIDTH + 3 * WIDTH + 5)
    log = MerkleLog(hashes)
    stored = append_in_batches(hashes, [1, 700, 40_000, 66_000])
    assert {t.tier for t in stored} == {0, 1, 2}
    wanted = nodes_needed(log.size, lambda t: [t.root(), t.inclusion_proof(12_345), t.consistency_proof(777)])

    def stored_node(level: int, index: int) -> bytes:
        tile = tiles_for(log.size, [(level, index)])[(level, index)]
        return node_in(tile, stored[tile], level, index)

    tiled = Tree(log.size, stored_node)
    assert tiled.root() == log.root()
    assert tiled.inclusion_proof(12_345) == log.inclusion_proof(12_345)
    assert tiled.consistency_proof(777) == log.consistency_proof(777)
    assert all(tiles_for(log.size, [node])[node] in stored for node in wanted)


def test_a_partial_tile_is_named_by_its_width_and_a_reader_of_a_smaller_log_keeps_its_own() -> None:
    assert tile_at(300, 0, 299) == Tile(0, 1, 44)
    assert tile_at(600, 0, 299) == Tile(0, 1, WIDTH)
    assert tile_at(300, 1, 0) == Tile(1, 0, 1)
    with pytest.raises(ValueError, match="complete subtrees"):
        tile_at(300, 1, 1)


def test_a_tiler_refuses_a_partial_tile_of_the_wrong_width_and_a_subtree_out_of_order() -> None:
    with pytest.raises(ValueError, match="holds 2 hashes, not 3"):
        Tiler(3, {0: b"\x00" * (2 * HASH)})
    with pytest.raises(ValueError, match="not the next one"):
        Tiler(0, {}).add([(0, 5, b"\x00" * HASH)])
    with pytest.raises(ValueError, match="lacks the hashes"):
        node_in(Tile(0, 0, 2), b"\x00" * HASH, 1, 0)
