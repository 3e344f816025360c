"""A Merkle log's hashes stored in tiles, after the tiled transparency logs of Go's checksum database
(`golang.org/x/mod/sumdb/tlog`) and C2SP's tlog-tiles: one stored unit holds the hashes of 256
consecutive complete subtrees of one level, so appending n leaves writes about n/256 units instead of
2n, and every other hash is recomputed from at most 128 of a tile's. Pure; storing tiles is the
caller's.

- Tier t holds the complete subtrees of level 8·t. Its tile k holds those of index 256·k onwards: 256
  of them, or fewer in the tier's last tile while the log grows (a partial tile, stored under its
  width, so a full or wider tile never overwrites what a reader of a smaller log reads).
- A log of `size` leaves has, at tier t, `size >> 8t` complete subtrees; which tiles hold them, and how
  wide each is, follows from the size alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.records.core.merkle import Node, node_hash

HEIGHT = 8
WIDTH = 1 << HEIGHT
HASH = 32  # bytes of a SHA-256 hash


@dataclass(frozen=True)
class Tile:
    tier: int  # holds the complete subtrees of level HEIGHT·tier
    index: int  # holds those of index WIDTH·index onwards
    width: int  # how many: WIDTH, or fewer in a partial tile


def tile_at(size: int, tier: int, position: int) -> Tile:
    """The tile of a log of `size` leaves that holds the complete subtree `position` of the tier's level."""
    count = size >> (HEIGHT * tier)
    if not 0 <= position < count:
        raise ValueError(f"a log of {size} leaves has {count} complete subtrees at tier {tier}, not {position + 1}")
    index = position // WIDTH
    return Tile(tier, index, min(WIDTH, count - index * WIDTH))


def tiles_for(size: int, nodes: Iterable[Node]) -> dict[Node, Tile]:
    """The tile each node (level, index) of a log of `size` leaves is computed from."""
    found = {}
    for level, index in nodes:
        tier, above = divmod(level, HEIGHT)
        found[(level, index)] = tile_at(size, tier, index << above)
    return found


def leaf_tiles(size: int) -> list[Tile]:
    """The tiles of tier 0 of a log of `size` leaves, in order: together, every leaf hash."""
    return [tile_at(size, 0, position) for position in range(0, size, WIDTH)]


def node_in(tile: Tile, hashes: bytes, level: int, index: int) -> bytes:
    """The hash of node (level, index) from the stored hashes of the tile it lies over."""
    above = level - HEIGHT * tile.tier
    first = (index << above) - tile.index * WIDTH
    row = [hashes[i * HASH : (i + 1) * HASH] for i in range(first, first + (1 << above))]
    if len(row) != 1 << above or any(len(h) != HASH for h in row):
        raise ValueError(f"tile {tile} lacks the hashes under node ({level}, {index})")
    while len(row) > 1:
        row = [node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
    return row[0]


def tiers(size: int) -> int:
    """How many tiers a log of `size` leaves has (a tier with no complete subtree is not one)."""
    count = 0
    while size >> (HEIGHT * count):
        count += 1
    return count


def last_tiles(size: int) -> list[Tile]:
    """The partial tile ending each tier of a log of `size` leaves, where the tier has one."""
    out = []
    for tier in range(tiers(size)):
        count = size >> (HEIGHT * tier)
        if count % WIDTH:
            out.append(tile_at(size, tier, count - 1))
    return out


class Tiler:
    """The tiles an appender stores: fed the complete subtrees each append finished (what
    `Frontier.append` returns), it keeps each tier's partial tile and names the tiles that changed."""

    def __init__(self, size: int, partial: dict[int, bytes]) -> None:
        """`partial`: the hashes of each tier's partial tile (`last_tiles`) of the log of `size` leaves."""
        self._counts = [size >> (HEIGHT * tier) for tier in range(tiers(size))]
        self._rows = [bytearray(partial.get(tier, b"")) for tier in range(len(self._counts))]
        for tier, count in enumerate(self._counts):
            if len(self._rows[tier]) != (count % WIDTH) * HASH:
                held = len(self._rows[tier]) // HASH
                raise ValueError(f"tier {tier}'s partial tile holds {held} hashes, not {count % WIDTH}")
        self._full: dict[Tile, bytes] = {}
        self._touched: set[int] = set()

    def add(self, made: Iterable[tuple[int, int, bytes]]) -> None:
        for level, index, digest in made:
            tier, above = divmod(level, HEIGHT)
            if above:
                continue
            if tier == len(self._counts):
                self._counts.append(0)
                self._rows.append(bytearray())
            if index != self._counts[tier]:
                raise ValueError(f"subtree {index} of level {level} is not the next one ({self._counts[tier]})")
            self._counts[tier] += 1
            self._rows[tier] += digest
            self._touched.add(tier)
            if len(self._rows[tier]) == WIDTH * HASH:
                self._full[Tile(tier, index // WIDTH, WIDTH)] = bytes(self._rows[tier])
                self._rows[tier] = bytearray()

    def partial(self) -> dict[int, bytes]:
        """The hashes of each tier's partial tile now (the `partial` of a Tiler taking over)."""
        return {tier: bytes(row) for tier, row in enumerate(self._rows) if row}

    def changed(self) -> dict[Tile, bytes]:
        """The tiles to store since the last call: those filled, and each touched tier's partial tile."""
        out = dict(self._full)
        for tier in self._touched:
            if row := self._rows[tier]:
                width = len(row) // HASH
                out[Tile(tier, (self._counts[tier] - width) // WIDTH, width)] = bytes(row)
        self._full.clear()
        self._touched.clear()
        return out
