"""Per-head attention scores: pure functions, one value per layer × head, in either view.

The attention is a sequence of L layers [H, N, N] (an [L, H, N, N] array works too, and
so do banded Longformer layers, read through models.extract.banded), where A[i, j] is the
attention from query i to key j.  Every score averages over the query rows selected by
`query_mask` ([N] bool; None = every token), after Clark et al. 2019, "What Does BERT
Look At?".  Inputs are never modified; scores are float64 [L, H].

The scores only read a few entries of each row: the columns of [CLS], [SEP] and
punctuation, the diagonal and its two neighbours, and the [CLS] row (`Reads`).  The norm
view (models/score/norms.py) reads the same entries, scaled by the keys' value norms and divided
by the row total: T̃[i, j] = α_ij ‖f(x_j)‖ / Σ_k α_ik ‖f(x_k)‖.  The entropy needs every
weight and comes from models/score/sweep.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from i18n import N_
from models.extract.banded import LOG_FLOOR, Layer, entries
from models.pieces import SUBWORD_MARKS
from models.score.sweep import sweep
from models.types import PartName, ScoreName

SCORE_NAMES: tuple[ScoreName, ...] = get_args(ScoreName)
PART_NAMES: tuple[PartName, ...] = get_args(PartName)
KeyGroup = Literal["first_cls", "cls", "sep", "punct"]
KEY_GROUPS: tuple[KeyGroup, ...] = get_args(KeyGroup)
OFFSETS = (-1, 0, 1)

PUNCTUATION = frozenset({".", ","})
PUNCTUATION_TOKENS = frozenset(PUNCTUATION | {mark + p for mark in SUBWORD_MARKS for p in PUNCTUATION})
Attention = Sequence[Layer]  # L × [H, N, N], or L banded Longformer layers (models.extract.banded)


@dataclass(frozen=True)
class KeyPositions:
    """The key positions the scores look at."""

    cls: tuple[int, ...] = ()
    sep: tuple[int, ...] = ()
    punct: tuple[int, ...] = ()

    def groups(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys [K] distinct positions, membership [K, len(KEY_GROUPS)] 0/1 float32)."""
        members = {"first_cls": self.cls[:1], "cls": self.cls, "sep": self.sep, "punct": self.punct}
        keys = np.array(sorted(set().union(*members.values())), dtype=np.int64)
        table = np.zeros((keys.size, len(KEY_GROUPS)), dtype=np.float32)
        for column, group in enumerate(KEY_GROUPS):
            table[np.searchsorted(keys, members[group]), column] = 1.0
        return keys, table


@dataclass(frozen=True, eq=False)
class Reads:
    """The entries every score reads, for L layers × H heads × N query rows.

    to_keys   [..., L, H, 4, N] float32  mass of row i on each KEY_GROUPS group of keys
    offsets   [..., L, H, 3, N] float32  A[i, i−1], A[i, i], A[i, i+1] (0 outside the sequence)
    cls_row   [..., L, H, N]    float32  the first cls token's own row (zeros without one)
    entropy   [..., L, H, N]    float64  H(A[i, :]) in nats, or None (then no entropy score)
    The leading axes are empty for one view, or a view axis (`read_views`).  Averages over
    rows are taken in float64.
    """

    to_keys: np.ndarray
    offsets: np.ndarray
    cls_row: np.ndarray
    entropy: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class ReadPlan:
    """Which weights the scores read: G = (K + 3 + 1)·N (query, key) pairs, in blocks of N.

    queries, keys  [G] the pairs: every row's weight on each of the K keys (key by key),
                   on its three near-diagonal keys (offset by offset, clipped into range),
                   and the first cls token's row
    table          [4, K] KEY_GROUPS membership of each key
    inside         [3, N] whether each near-diagonal key is inside the sequence
    """

    n: int
    k: int
    cls: int  # the first cls token (0 when there is none)
    has_cls: bool
    key_positions: np.ndarray  # [K]
    near_keys: np.ndarray  # [3, N] clipped near-diagonal keys
    queries: np.ndarray
    keys: np.ndarray
    table: np.ndarray
    inside: np.ndarray


def read_plan(positions: KeyPositions, n: int) -> ReadPlan:
    """The pairs to gather for an input of n tokens with these key positions."""
    keys, table = positions.groups()  # table [K, 4]
    rows = np.arange(n)
    near = np.array(OFFSETS)[:, None] + rows[None, :]  # [3, N]
    near_keys = np.clip(near, 0, n - 1)
    cls = positions.cls[0] if positions.cls else 0
    queries = np.concatenate([np.tile(rows, keys.size + 3), np.full(n, cls)])
    wanted = np.concatenate([np.repeat(keys, n), near_keys.ravel(), rows])
    return ReadPlan(
        n,
        keys.size,
        cls,
        bool(positions.cls),
        keys,
        near_keys,
        queries,
        wanted,
        np.ascontiguousarray(table.T),
        (near >= 0) & (near < n),
    )


@dataclass(frozen=True)
class NormScale:
    """What turns weights into the norm view T̃ (models/score/norms.py), for L layers.

    norms             [L, H, N] ‖f_h(x_j)‖ through `value` (local rows, every key)
    totals            [L, H, N] Σ_j α_ij ‖f_h(x_j)‖, each row's normaliser (models/score/sweep.py)
    global_norms      [L, H, N] through `value_global`, for the rows in global_positions
    """

    norms: np.ndarray
    totals: np.ndarray
    global_norms: np.ndarray | None = None
    global_positions: tuple[int, ...] = ()

    def block_scale(self, plan: ReadPlan) -> np.ndarray:
        """[L, H, K + 4, N] float32: ‖f(x_key)‖ / Σ_k T[row, k] for each pair of the plan's blocks.

        Rows of empty totals get 0; the rows of global tokens use `global_norms`.
        """
        inverse = np.divide(1.0, self.totals, out=np.zeros(self.totals.shape), where=self.totals > 0)
        inverse = inverse.astype(np.float32)  # [L, H, N], by query row
        k = plan.k
        scale = np.empty((*self.norms.shape[:2], k + 4, plan.n), dtype=np.float32)
        scale[:, :, :k] = self.norms[:, :, plan.key_positions, None] * inverse[:, :, None, :]  # K key columns
        scale[:, :, k : k + 3] = self.norms[:, :, plan.near_keys] * inverse[:, :, None, :]  # the 3 offsets
        scale[:, :, k + 3] = self.norms * inverse[:, :, plan.cls, None]  # the cls row
        if self.global_norms is not None:
            for row in self.global_positions:
                own = inverse[:, :, row, None]
                scale[:, :, :k, row] = self.global_norms[:, :, plan.key_positions] * own
                scale[:, :, k : k + 3, row] = self.global_norms[:, :, plan.near_keys[:, row]] * own
            if plan.cls in self.global_positions:
                scale[:, :, k + 3] = self.global_norms * inverse[:, :, plan.cls, None]
        return scale


def gather(attention: Attention, plan: ReadPlan) -> np.ndarray:
    """[L, H, G] float32: the plan's weights of every layer (models.extract.banded.entries).

    models.score.sweep gathers the same while each head is in cache (`pairs`); this is for
    callers without a sweep.
    """
    values = np.empty((len(attention), attention[0].shape[0], plan.queries.size), dtype=np.float32)
    for layer, weights in enumerate(attention):
        values[layer] = entries(weights, plan.queries, plan.keys)
    return values


def read(
    attention: Attention,
    positions: KeyPositions,
    norm: NormScale | None = None,
    entropy: np.ndarray | None = None,
) -> Reads:
    """Gather the entries of every layer (weights, or the norm view when `norm` is given)."""
    plan = read_plan(positions, attention[0].shape[-1])
    views = read_views(plan, gather(attention, plan), norm)
    index = 1 if norm is not None else 0
    return Reads(views.to_keys[index], views.offsets[index], views.cls_row[index], entropy)


def read_views(plan: ReadPlan, values: np.ndarray, norm: NormScale | None = None) -> Reads:
    """Reads of the weight view, and of the norm view when `norm` is given, stacked.

    values: [L, H, G] the plan's gathered weights (`gather`).  Returns Reads whose arrays
    carry a leading view axis V: [V, L, H, ...] with view 0 = weight, 1 = norm (V = 2 with
    `norm`, else 1), so that the scores of both views are computed in one go.
    """
    n_layers, heads, _ = values.shape
    n, k = plan.n, plan.k
    blocks = values.reshape(n_layers, heads, k + 4, n)
    stacked = np.stack([blocks, blocks * norm.block_scale(plan)]) if norm is not None else blocks[None]
    shape = stacked.shape[:3]
    to_keys = plan.table @ stacked[:, :, :, :k] if k else np.zeros((*shape, 4, n), dtype=np.float32)
    cls_row = stacked[:, :, :, k + 3] if plan.has_cls else np.zeros((*shape, n), dtype=np.float32)
    return Reads(to_keys, stacked[:, :, :, k : k + 3] * plan.inside, cls_row)


def head_scores(
    reads: Reads, special_mask: np.ndarray, query_mask: np.ndarray | None = None
) -> dict[ScoreName, np.ndarray]:
    """Every score of SCORE_NAMES (entropy only when the reads carry it) → name → [..., L, H]."""
    selected = _selected(query_mask, reads.offsets.shape[-1])
    groups = reads.to_keys[..., selected].mean(axis=-1, dtype=np.float64)  # [..., L, H, 4]
    near = reads.offsets[..., selected].mean(axis=-1, dtype=np.float64)  # [..., L, H, 3]
    content = ~np.asarray(special_mask, dtype=bool)
    scores: dict[ScoreName, np.ndarray] = {
        "cls": groups[..., KEY_GROUPS.index("first_cls")],
        "sep": groups[..., KEY_GROUPS.index("sep")],
        "diagonal": near[..., 1],
        "prev": near[..., 0],
        "next": near[..., 2],
        "punct": groups[..., KEY_GROUPS.index("punct")],
        "cls_out": reads.cls_row[..., content].sum(axis=-1, dtype=np.float64),
    }
    if reads.entropy is not None:
        scores["entropy"] = normalised_entropy(reads.entropy, query_mask)
    return {name: scores[name] for name in SCORE_NAMES if name in scores}


def normalised_entropy(entropy: np.ndarray, query_mask: np.ndarray | None = None) -> np.ndarray:
    """[..., L, H] mean_i H(row i) / ln n from row entropies [..., L, H, N] in nats.

    0 = all mass on one key, 1 = spread evenly over all n keys; normalising by ln n makes
    the value mean the same at 8 tokens and at 512.
    """
    n = entropy.shape[-1]
    selected = _selected(query_mask, n)
    if n < 2:
        return np.zeros(entropy.shape[:-1])
    return entropy[..., selected].mean(axis=-1) / math.log(n)


def partition(reads: Reads, special_mask: np.ndarray, query_mask: np.ndarray | None = None) -> np.ndarray:
    """[..., L, H, 4]: each row's mass split into to-CLS, to-SEP, near-diagonal, rest; sums to 1.

    near-diagonal = keys with |i − j| ≤ 1 that are not special tokens.  Rows are taken
    to sum to 1 (softmax outputs, or T̃): rest = 1 − the other three, floored at 0; a row
    whose three parts add up to more than 1 (rounding) is divided by their sum.
    """
    special_mask = np.asarray(special_mask, dtype=bool)
    n = reads.offsets.shape[-1]
    rows = _rows(query_mask, n)
    keys = np.array(OFFSETS)[:, None] + rows[None, :]  # [3, R]
    usable = (keys >= 0) & (keys < n)
    usable[usable] &= ~special_mask[keys[usable]]
    selected = _selected(query_mask, n)
    to_cls = reads.to_keys[..., KEY_GROUPS.index("cls"), selected]  # [..., R]
    to_sep = reads.to_keys[..., KEY_GROUPS.index("sep"), selected]
    near = np.einsum("...kr,kr->...r", reads.offsets[..., selected], usable.astype(np.float32))
    total = to_cls + to_sep + near
    shrink = 1.0 / np.maximum(total, np.float32(1.0))  # 1 unless rounding pushed a row above 1
    out = np.empty((*total.shape[:-1], len(PART_NAMES)))
    for part, values in enumerate((to_cls, to_sep, near)):
        out[..., part] = np.einsum("...r,...r->...", values, shrink, dtype=np.float64) / rows.size
    out[..., 3] = np.maximum(1.0 - total, 0.0).mean(axis=-1, dtype=np.float64)
    return out / out.sum(axis=-1, keepdims=True)  # float32 rows: make the four add up exactly


def breadth(reads: Reads, special_mask: np.ndarray) -> np.ndarray:
    """[..., L, H] normalised entropy of the [CLS] row restricted to non-special tokens (0..1).

    High when [CLS] spreads its look-back evenly over the words, not onto one of them.
    """
    content = np.nonzero(~np.asarray(special_mask, dtype=bool))[0]
    if content.size < 2:
        return np.zeros(reads.cls_row.shape[:-1])
    row = reads.cls_row[..., content].astype(np.float64)
    total = row.sum(axis=-1, keepdims=True)
    probs = np.divide(row, total, out=np.zeros_like(row), where=total > 0)
    logs = np.log(np.maximum(probs, LOG_FLOOR))
    return -(probs * logs).sum(axis=-1) / math.log(content.size)


def query_rows(special_mask: np.ndarray, exclude_special: bool = False) -> np.ndarray:
    """[N] bool: the query rows to average over (all real tokens, or only non-special ones)."""
    special_mask = np.asarray(special_mask, dtype=bool)
    return ~special_mask if exclude_special else np.ones_like(special_mask)


def punctuation_positions(tokens: Sequence[str]) -> tuple[int, ...]:
    """Positions of "." and "," tokens, ignoring subword markers (##, Ġ, ▁)."""
    return tuple(position for position, token in enumerate(tokens) if token in PUNCTUATION_TOKENS)


def _selected(query_mask: np.ndarray | None, n: int) -> slice | np.ndarray:
    """The query rows as an index: a slice (no copy) when every row is selected."""
    rows = _rows(query_mask, n)
    return slice(None) if rows.size == n else rows


def _rows(query_mask: np.ndarray | None, n: int) -> np.ndarray:
    rows = np.arange(n) if query_mask is None else np.nonzero(query_mask)[0]
    if rows.size == 0:
        raise ValueError(N_("No query rows to average over: the query mask selects no token."))
    return rows


# One score at a time, on the weights (the analysis reads them all at once with `read`).


def _no_special(n: int) -> np.ndarray:
    return np.zeros(n, dtype=bool)


def mass_to(attention: Attention, keys: Sequence[int], query_mask: np.ndarray | None = None) -> np.ndarray:
    """mean_i Σ_{k ∈ keys} A[i, k]: the share of attention sent to a set of keys."""
    reads = read(attention, KeyPositions(sep=tuple(keys)))
    return head_scores(reads, _no_special(attention[0].shape[-1]), query_mask)["sep"]


def cls_score(attention: Attention, cls_positions: Sequence[int], query_mask=None) -> np.ndarray:
    """mean_i A[i, cls], with cls the first cls token."""
    return mass_to(attention, list(cls_positions)[:1], query_mask)


def sep_score(attention: Attention, sep_positions: Sequence[int], query_mask=None) -> np.ndarray:
    """mean_i Σ_{s ∈ SEP} A[i, s], both [SEP] of a pair together."""
    return mass_to(attention, sep_positions, query_mask)


def punct_score(attention: Attention, tokens: Sequence[str], query_mask=None) -> np.ndarray:
    """mean_i of the mass on "." and "," tokens."""
    return mass_to(attention, punctuation_positions(tokens), query_mask)


def offset_score(attention: Attention, offset: int, query_mask: np.ndarray | None = None) -> np.ndarray:
    """Σ_i A[i, i + offset] / n over the n selected query rows (out-of-range keys count 0).

    offset 0 is the diagonal, -1 the previous token, +1 the next token.
    """
    name = {-1: "prev", 0: "diagonal", 1: "next"}[offset]
    return head_scores(read(attention, KeyPositions()), _no_special(attention[0].shape[-1]), query_mask)[name]


def diagonal_score(attention: Attention, query_mask=None) -> np.ndarray:
    return offset_score(attention, 0, query_mask)


def prev_score(attention: Attention, query_mask=None) -> np.ndarray:
    return offset_score(attention, -1, query_mask)


def next_score(attention: Attention, query_mask=None) -> np.ndarray:
    return offset_score(attention, 1, query_mask)


def row_entropy(weights: Layer) -> np.ndarray:
    """H(A[i, :]) in nats for every row of one layer → float64 [H, N]."""
    heads, n, _ = weights.shape
    return sweep([weights], np.ones((1, heads, n), dtype=np.float32)).entropy[0]


def entropy_score(attention: Attention, query_mask: np.ndarray | None = None) -> np.ndarray:
    """mean_i H(A[i, :]) / ln n (see `normalised_entropy`)."""
    return normalised_entropy(np.stack([row_entropy(weights) for weights in attention]), query_mask)


def cls_out_score(attention: Attention, cls_positions: Sequence[int], special_mask: np.ndarray) -> np.ndarray:
    """Mass of the [CLS] query row on non-special tokens ("[CLS] looks back at the sentence")."""
    return head_scores(read(attention, KeyPositions(cls=tuple(cls_positions))), special_mask)["cls_out"]


def cls_breadth(attention: Attention, cls_positions: Sequence[int], special_mask: np.ndarray) -> np.ndarray:
    """Normalised entropy of the [CLS] row restricted to non-special tokens (0..1)."""
    return breadth(read(attention, KeyPositions(cls=tuple(cls_positions))), special_mask)


def mass_partition(
    attention: Attention,
    cls_positions: Sequence[int],
    sep_positions: Sequence[int],
    special_mask: np.ndarray,
    query_mask: np.ndarray | None = None,
) -> np.ndarray:
    """[L, H, 4]: to-CLS, to-SEP, near-diagonal, rest of each row (see `partition`)."""
    reads = read(attention, KeyPositions(cls=tuple(cls_positions), sep=tuple(sep_positions)))
    return partition(reads, special_mask, query_mask)
