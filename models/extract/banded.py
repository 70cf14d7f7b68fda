"""Longformer attention kept in its banded form, and the few reads every score needs.

A dense layer is an array [H, N, N]. A long Longformer input would need H·N² floats per
layer (6.7 GB over MiniLM's six layers at 4096 tokens), so it stays banded instead:

  band         [H, N, x + w + 1]  columns [:x]: attention to the k-th global token
                                  (ascending positions); column x + j: the key at
                                  i − w/2 + j.  Global keys inside the band are 0 there,
                                  and the rows of global queries are all 0.
  global_rows  [H, N, x]          column k: the k-th global token's full attention row.

The functions below (`entries`, `columns`, `offset_values`, `query_row`, `block`, `pooled`,
`masked_mass`) take either form and return the same numbers, so the scores in
models/score/scores.py never need to know which one they were given.  Nothing is modified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

LOG_FLOOR = 1e-30  # p log p is 0 at p = 0; clamping keeps log finite
POOL_CELLS = 512  # a pooled overview has at most this many cells per side


@dataclass(frozen=True, eq=False)
class BandedLayer:
    """One layer's Longformer attention in banded form (see the module docstring)."""

    band: np.ndarray  # [H, N, x + w + 1] float32, read-only
    global_rows: np.ndarray | None  # [H, N, x] float32, read-only; None when x == 0
    global_positions: tuple[int, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        """The dense shape (H, N, N) this layer stands for."""
        heads, n, _ = self.band.shape
        return heads, n, n

    @property
    def n_global(self) -> int:
        return len(self.global_positions)

    @property
    def window(self) -> int:
        """The full window w (w/2 keys on each side)."""
        return self.band.shape[-1] - self.n_global - 1

    @property
    def nbytes(self) -> int:
        return self.band.nbytes + (self.global_rows.nbytes if self.global_rows is not None else 0)

    @cached_property
    def is_global(self) -> np.ndarray:
        """[N] bool."""
        mask = np.zeros(self.shape[1], dtype=bool)
        mask[list(self.global_positions)] = True
        return mask

    def dense(self) -> np.ndarray:
        """The full [H, N, N] matrix (float32).  For tests and short inputs only."""
        n = self.shape[1]
        return block(self, slice(0, n), slice(0, n))


Layer = np.ndarray | BandedLayer  # [H, N, N] or banded


def _band_keys(layer: BandedLayer, rows: np.ndarray) -> np.ndarray:
    """[R, w + 1] key position of every band column for the query `rows`."""
    half = layer.window // 2
    return rows[:, None] + np.arange(-half, half + 1)[None, :]


def entries(layer: Layer, queries: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """A[:, queries[g], keys[g]] for every pair g → [H, G] float32 (0 outside the band).

    One gather per layer: every score's reads go through here (models/score/scores.py).
    """
    queries, keys = np.asarray(queries, dtype=np.int64), np.asarray(keys, dtype=np.int64)
    if isinstance(layer, np.ndarray):
        heads, n, _ = layer.shape
        if layer.flags.c_contiguous:  # a flat take is about twice as fast as fancy indexing
            return np.take(layer.reshape(heads, n * n), queries * n + keys, axis=1)
        return layer[:, queries, keys]
    out = np.zeros((layer.shape[0], queries.size), dtype=np.float32)
    half, x = layer.window // 2, layer.n_global
    slot = np.full(layer.shape[1], -1, dtype=np.int64)
    slot[list(layer.global_positions)] = np.arange(x)
    global_query, global_key = slot[queries] >= 0, slot[keys] >= 0
    pick = global_query  # a global token's own row: global_rows[:, key, k]
    out[:, pick] = layer.global_rows[:, keys[pick], slot[queries[pick]]] if pick.any() else 0
    pick = ~global_query & global_key  # a local row's weight on a global key: band column k
    out[:, pick] = layer.band[:, queries[pick], slot[keys[pick]]]
    offset = keys - queries
    pick = ~global_query & ~global_key & (np.abs(offset) <= half)
    out[:, pick] = layer.band[:, queries[pick], x + half + offset[pick]]
    return out


def columns(layer: Layer, keys: Sequence[int]) -> np.ndarray:
    """A[:, :, keys] → [H, N, K] float32."""
    keys = np.asarray(list(keys), dtype=np.int64)
    n = layer.shape[1]
    values = entries(layer, np.repeat(np.arange(n), keys.size), np.tile(keys, n))
    return values.reshape(layer.shape[0], n, keys.size)


def offset_values(layer: Layer, offset: int) -> np.ndarray:
    """[H, N]: A[i, i + offset] for every query i (0 where i + offset is outside 0..N−1)."""
    heads, n, _ = layer.shape
    rows = np.arange(n)
    inside = (rows + offset >= 0) & (rows + offset < n)
    out = np.zeros((heads, n), dtype=np.float32)
    out[:, inside] = entries(layer, rows[inside], rows[inside] + offset)
    return out


def query_row(layer: Layer, query: int) -> np.ndarray:
    """A[:, query, :] → [H, N] float32."""
    if isinstance(layer, np.ndarray):
        return layer[:, query, :]
    n = layer.shape[1]
    return entries(layer, np.full(n, query), np.arange(n))


def block(layer: Layer, rows: slice, cols: slice, head: int | None = None) -> np.ndarray:
    """Dense A[:, rows, cols] ([R, C] for one head), built only for that range."""
    if isinstance(layer, np.ndarray):
        part = layer[:, rows, cols] if head is None else layer[head, rows, cols]
        return np.array(part, dtype=np.float32)
    _heads, n, _ = layer.shape
    row_ids = np.arange(n)[rows]
    col_start, col_stop, _ = cols.indices(n)
    band = layer.band if head is None else layer.band[head : head + 1]
    out = np.zeros((band.shape[0], row_ids.size, col_stop - col_start), dtype=np.float32)
    if row_ids.size and col_stop > col_start:
        keys = _band_keys(layer, row_ids)  # [R, w + 1]
        ok = (keys >= col_start) & (keys < col_stop)
        ok[ok] &= ~layer.is_global[keys[ok]]
        r, j = np.nonzero(ok)
        out[:, r, keys[r, j] - col_start] = band[:, row_ids[r], layer.n_global + j]
        local = ~layer.is_global[row_ids]
        for k, position in enumerate(layer.global_positions):
            if col_start <= position < col_stop:
                out[:, local, position - col_start] = band[:, row_ids[local], k]
            slot = np.flatnonzero(row_ids == position)
            if slot.size:
                source = layer.global_rows if head is None else layer.global_rows[head : head + 1]
                out[:, slot[0], :] = source[:, col_start:col_stop, k]
    return out if head is None else out[0]


def pool_edges(n: int, cells: int = POOL_CELLS) -> np.ndarray:
    """[P + 1] block boundaries splitting 0..n into P = min(n, cells) near-equal blocks."""
    return np.linspace(0, n, max(1, min(n, cells)) + 1).round().astype(np.int64)


def pooled(layer: Layer, head: int = 0, cells: int = POOL_CELLS) -> tuple[np.ndarray, np.ndarray]:
    """Mean-pool one head's [N, N] matrix into at most cells × cells blocks.

    `layer` is [H, N, N] (any dtype: a bool mask [1, N, N] gives the share of true cells
    per block) or banded.  Returns (pooled [P, P] float32, edges [P + 1]): cell (p, q) is
    the mean over rows edges[p]:edges[p+1] and columns edges[q]:edges[q+1].  Mean
    pooling keeps the total: Σ pooled · block areas = Σ A.
    """
    n = layer.shape[1]
    edges = pool_edges(n, cells)
    cell_of = np.searchsorted(edges, np.arange(n), side="right") - 1  # [N] block of each position
    sizes = np.diff(edges).astype(np.float64)
    p = sizes.size
    sums = np.zeros(p * p, dtype=np.float64)
    if isinstance(layer, np.ndarray):
        flat = cell_of[:, None] * p + cell_of[None, :]
        sums += np.bincount(flat.ravel(), weights=np.asarray(layer[head], dtype=np.float64).ravel(), minlength=p * p)
    else:
        rows = np.arange(n)
        keys = _band_keys(layer, rows)
        ok = (keys >= 0) & (keys < n)
        r, j = np.nonzero(ok)
        flat = cell_of[r] * p + cell_of[keys[r, j]]
        sums += np.bincount(flat, weights=layer.band[head, r, layer.n_global + j], minlength=p * p)
        local = np.flatnonzero(~layer.is_global)
        for k, position in enumerate(layer.global_positions):
            sums += np.bincount(
                cell_of[local] * p + cell_of[position], weights=layer.band[head, local, k], minlength=p * p
            )
            sums += np.bincount(cell_of[position] * p + cell_of, weights=layer.global_rows[head, :, k], minlength=p * p)
    means = sums.reshape(p, p) / np.outer(sizes, sizes)
    return means.astype(np.float32), edges


def masked_mass(layer: Layer, mask: np.ndarray) -> np.ndarray:
    """[H, N]: Σ_j A[i, j] · mask[i, j] for every query i; mask [N, N] bool (or [H, N, N])."""
    if isinstance(layer, np.ndarray):
        subscripts = "hij,hij->hi" if mask.ndim == 3 else "hij,ij->hi"
        return np.einsum(subscripts, layer, mask.astype(layer.dtype), dtype=np.float64)
    if mask.ndim != 2:
        raise ValueError("A per-head mask needs dense attention.")
    _heads, n, _ = layer.shape
    rows = np.arange(n)
    keys = _band_keys(layer, rows)
    ok = (keys >= 0) & (keys < n)
    allowed = np.zeros(keys.shape, dtype=np.float32)
    allowed[ok] = mask[np.nonzero(ok)[0], keys[ok]]
    out = np.einsum("hik,ik->hi", layer.band[:, :, layer.n_global :], allowed, dtype=np.float64)
    for k, position in enumerate(layer.global_positions):
        out += layer.band[:, :, k] * mask[:, position]  # global rows' band is 0
        out[:, position] = layer.global_rows[:, :, k] @ mask[position].astype(np.float64)
    return out
