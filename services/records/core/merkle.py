"""A Merkle log as RFC 9162 (Certificate Transparency 2.0) §2.1 defines it: leaf and node hashes,
tree heads, inclusion proofs (a record is in the log) and consistency proofs (a later tree extends an
earlier one: nothing was edited, removed or reordered in between). Pure; the storage of hashes is
the caller's.

    leaf hash  = SHA-256(0x00 || data)
    node hash  = SHA-256(0x01 || left || right)
    MTH(D[n])  = node hash of MTH(D[0:k]) and MTH(D[k:n]), k the largest power of two below n

Appending keeps the hash of every complete (perfect, aligned) subtree, so a tree head or a proof of
a log of n leaves costs O(log n) hashes beyond those.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


Node = tuple[int, int]  # (level, index): the complete subtree of leaves [index·2^level, (index+1)·2^level)
NodeSource = Callable[[int, int], bytes]


class Tree:
    """RFC 9162 tree heads and proofs over the first `size` leaves of a log whose complete subtrees'
    hashes come from `node(level, index)` — from memory, or from a store (see `nodes_needed`)."""

    def __init__(self, size: int, node: NodeSource) -> None:
        self.size = size
        self._node = node

    def root(self, size: int | None = None) -> bytes:
        """The tree head of the first `size` leaves (all by default)."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"the log has {self.size} leaves, not {size}")
        return self._hash(0, size) if size else EMPTY_ROOT

    def _hash(self, start: int, end: int) -> bytes:
        count = end - start
        if count & (count - 1) == 0 and start % count == 0:
            return self._node(count.bit_length() - 1, start // count)
        k = _split(count)
        return node_hash(self._hash(start, start + k), self._hash(start + k, end))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]): the audit path of leaf `index` in the tree of `size` leaves."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError(f"no leaf {index} in a tree of {size}")
        path: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                path.append(self._hash(start + k, end))
                end = start + k
            else:
                path.append(self._hash(start, start + k))
                start += k
        return path[::-1]

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[new_size]): that the tree of `new_size` leaves extends the older one."""
        new_size = self.size if new_size is None else new_size
        if not 0 < old_size <= new_size <= self.size:
            raise ValueError(f"no consistency proof from {old_size} to {new_size} leaves")
        return self._subproof(old_size, 0, new_size, complete=True)

    def _subproof(self, m: int, start: int, end: int, *, complete: bool) -> list[bytes]:
        """SUBPROOF(m, D[start:end], complete) of RFC 9162 §2.1.4.1."""
        if m == end - start:
            return [] if complete else [self._hash(start, end)]
        k = _split(end - start)
        if m <= k:
            return [*self._subproof(m, start, start + k, complete=complete), self._hash(start + k, end)]
        return [*self._subproof(m - k, start + k, end, complete=False), self._hash(start, start + k)]


def nodes_needed(size: int, ask: Callable[[Tree], object]) -> set[Node]:
    """The complete subtrees `ask` reads from a tree of `size` leaves: fetch them, then ask again.
    (Which nodes a head or proof needs depends on positions only, never on hash values.)"""
    wanted: set[Node] = set()

    def note(level: int, index: int) -> bytes:
        wanted.add((level, index))
        return EMPTY_ROOT

    ask(Tree(size, note))
    return wanted


class MerkleLog(Tree):
    """A log held in memory: leaf hashes in order, with the hashes of their complete subtrees
    (`levels[h][i]`)."""

    def __init__(self, leaves: Sequence[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        super().__init__(0, lambda level, index: self.levels[level][index])
        for leaf in leaves:
            self.append(leaf)

    def append(self, leaf: bytes) -> int:
        """Adds a leaf hash; returns its index."""
        index = self.size
        self.levels[0].append(leaf)
        self.size += 1
        level, position = 0, index
        while position % 2 == 1:
            combined = node_hash(self.levels[level][position - 1], self.levels[level][position])
            level, position = level + 1, position // 2
            if len(self.levels) == level:
                self.levels.append([])
            self.levels[level].append(combined)
        return index


class Frontier:
    """The right edge of a log — the hashes of its largest complete subtrees, O(log n) of them — which
    is all an appender needs: each append returns the complete subtrees it finished, to be stored."""

    def __init__(self, size: int = 0, edge: Sequence[tuple[int, int, bytes]] = ()) -> None:
        self.size = size
        self.edge: list[tuple[int, int, bytes]] = list(edge)  # (level, index, hash), largest first

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Adds a leaf hash; returns the new complete subtrees (the leaf itself first)."""
        made = [(0, self.size, leaf)]
        self.edge.append(made[0])
        self.size += 1
        while len(self.edge) > 1 and self.edge[-1][0] == self.edge[-2][0]:
            right, left = self.edge.pop(), self.edge.pop()
            merged = (left[0] + 1, left[1] // 2, node_hash(left[2], right[2]))
            self.edge.append(merged)
            made.append(merged)
        return made

    def root(self) -> bytes:
        if not self.edge:
            return EMPTY_ROOT
        root = self.edge[-1][2]
        for _, _, left in reversed(self.edge[:-1]):
            root = node_hash(left, root)
        return root


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: whether `proof` shows leaf hash `leaf` at `index` in the tree `root` of `size`."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes) -> bool:
    """RFC 9162 §2.1.4.2: whether `proof` shows the tree `new_root` of `new_size` extends `old_root`."""
    if old_size == new_size:
        return not proof and old_root == new_root
    if not 0 < old_size < new_size or not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # the old tree is a complete subtree: its root starts the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
