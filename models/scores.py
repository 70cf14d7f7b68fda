"""Per-head attention scores: pure functions, one value per layer × head, in either view.

The attention is a sequence of L layers [H, N, N] (an [L, H, N, N] array works too, and
so do banded Longformer layers, read through models.banded), where A[i, j] is the
attention from query i to key j.  Every score averages over the query rows selected by
`query_mask` ([N] bool; None = every token), after Clark et al. 2019, "What Does BERT
Look At?".  Inputs are never modified; scores are float64 [L, H].

The scores only read a few entries of each row: the columns of [CLS], [SEP] and
punctuation, the diagonal and its two neighbours, and the [CLS] row (`Reads`).  The norm
view (models/norms.py) reads the same entries, scaled by the keys' value norms and divided
by the row total: T̃[i, j] = α_ij ‖f(x_j)‖ / Σ_k α_ik ‖f(x_k)‖.  The entropy needs every
weight and comes from models/sweep.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence, get_args

import numpy as np

from models.banded import LOG_FLOOR, Layer, columns, offset_values, query_row
from models.sweep import sweep

ScoreName = Literal["cls", "sep", "diagonal", "prev", "next", "punct", "entropy", "cls_out"]
SCORE_NAMES: tuple[ScoreName, ...] = get_args(ScoreName)
PartName = Literal["to_cls", "to_sep", "near_diagonal", "rest"]
PART_NAMES: tuple[PartName, ...] = get_args(PartName)
KeyGroup = Literal["first_cls", "cls", "sep", "punct"]
KEY_GROUPS: tuple[KeyGroup, ...] = get_args(KeyGroup)
OFFSETS = (-1, 0, 1)

PUNCTUATION = frozenset({".", ","})
SUBWORD_MARKS = ("##", "Ġ", "▁")
Attention = Sequence[Layer]  # L × [H, N, N], or L banded Longformer layers (models.banded)
ERR_NO_ROWS = "No query rows to average over: the query mask selects no token."


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


@dataclass(frozen=True)
class NormScale:
    """What turns weights into the norm view T̃ (models/norms.py), per layer.

    norms          [L, H, N] ‖f_h(x_j)‖ through `value` (local rows, every key)
    totals         [L, H, N] Σ_j α_ij ‖f_h(x_j)‖, each row's normaliser (models/sweep.py)
    global_norms   [L, H, N] through `value_global`, used by the rows in global_positions
    """

    norms: np.ndarray
    totals: np.ndarray
    global_norms: np.ndarray | None = None
    global_positions: tuple[int, ...] = ()

    def key_norms(self, layer: int, keys: np.ndarray) -> np.ndarray:
        """[H, N, K] the norm each row i gives key keys[k] (keys may differ per row: [N, K])."""
        keys = np.broadcast_to(keys, (self.norms.shape[-1],) + keys.shape[-1:])
        scale = self.norms[layer][:, keys]
        if self.global_norms is not None:
            for row in self.global_positions:
                scale[:, row] = self.global_norms[layer][:, keys[row]]
        return scale

    def row_norms(self, layer: int, row: int) -> np.ndarray:
        """[H, N] the key norms one query row uses."""
        norms = self.global_norms if self.global_norms is not None and row in self.global_positions else self.norms
        return norms[layer]

    def row_scale(self, layer: int) -> np.ndarray:
        """[H, N] 1 / Σ_k T[i, k] (0 where a row moves nothing)."""
        totals = self.totals[layer]
        return np.divide(1.0, totals, out=np.zeros(totals.shape), where=totals > 0)


@dataclass(frozen=True, eq=False)
class Reads:
    """The entries every score reads, for L layers × H heads × N query rows, in one view.

    to_keys   [L, H, N, 4] float64  mass on each KEY_GROUPS group of keys
    offsets   [L, H, N, 3] float64  A[i, i−1], A[i, i], A[i, i+1] (0 outside the sequence)
    cls_row   [L, H, N]    float64  the first cls token's own row (zeros without one)
    entropy   [L, H, N]    float64  H(A[i, :]) in nats, or None (then no entropy score)
    """

    to_keys: np.ndarray
    offsets: np.ndarray
    cls_row: np.ndarray
    entropy: np.ndarray | None = None


def read(
    attention: Attention,
    positions: KeyPositions,
    norm: NormScale | None = None,
    entropy: np.ndarray | None = None,
) -> Reads:
    """Gather the entries of every layer (weights, or the norm view when `norm` is given)."""
    reads = read_views(attention, positions, norm)
    view = reads["norm" if norm is not None else "weight"]
    return Reads(view.to_keys, view.offsets, view.cls_row, entropy)


def read_views(attention: Attention, positions: KeyPositions, norm: NormScale | None = None) -> dict[str, Reads]:
    """Reads of the weight view, and of the norm view when `norm` is given, in one pass.

    Returns {"weight": Reads, "norm": Reads} (without entropy; see models/sweep.py).
    """
    keys, table = positions.groups()
    n_layers, heads, n = len(attention), attention[0].shape[0], attention[0].shape[-1]
    cls = positions.cls[0] if positions.cls else None
    rows = np.arange(n)
    out = {view: (np.zeros((n_layers, heads, n, len(KEY_GROUPS))), np.zeros((n_layers, heads, n, 3)),
                  np.zeros((n_layers, heads, n))) for view in (("weight", "norm") if norm else ("weight",))}
    for layer, weights in enumerate(attention):
        picked = columns(weights, keys) if keys.size else np.zeros((heads, n, 0), dtype=np.float32)  # [H, N, K]
        near = np.stack([offset_values(weights, offset) for offset in OFFSETS], axis=-1)  # [H, N, 3]
        row = query_row(weights, cls) if cls is not None else np.zeros((heads, n), dtype=np.float32)
        out["weight"][0][layer] = picked @ table
        out["weight"][1][layer] = near
        out["weight"][2][layer] = row
        if norm is None:
            continue
        scale = norm.row_scale(layer)  # [H, N]
        out["norm"][0][layer] = (picked * norm.key_norms(layer, keys)) @ table * scale[..., None]
        neighbours = np.clip(rows[:, None] + np.array(OFFSETS), 0, n - 1)  # [N, 3]
        out["norm"][1][layer] = near * norm.key_norms(layer, neighbours) * scale[..., None]
        if cls is not None:
            out["norm"][2][layer] = row * norm.row_norms(layer, cls) * scale[:, cls, None]
    return {view: Reads(*arrays) for view, arrays in out.items()}


def head_scores(
    reads: Reads, special_mask: np.ndarray, query_mask: np.ndarray | None = None
) -> dict[ScoreName, np.ndarray]:
    """Every score of SCORE_NAMES (entropy only when the reads carry it) → name → [L, H]."""
    n = reads.offsets.shape[2]
    rows = _rows(query_mask, n)
    to_keys, offsets = reads.to_keys[:, :, rows], reads.offsets[:, :, rows]
    group = {name: to_keys[..., k].mean(axis=-1) for k, name in enumerate(KEY_GROUPS)}
    content = ~np.asarray(special_mask, dtype=bool)
    scores: dict[ScoreName, np.ndarray] = {
        "cls": group["first_cls"],
        "sep": group["sep"],
        "diagonal": offsets[..., 1].mean(axis=-1),
        "prev": offsets[..., 0].mean(axis=-1),
        "next": offsets[..., 2].mean(axis=-1),
        "punct": group["punct"],
        "cls_out": reads.cls_row[..., content].sum(axis=-1),
    }
    if reads.entropy is not None:
        scores["entropy"] = normalised_entropy(reads.entropy, query_mask)
    return {name: scores[name] for name in SCORE_NAMES if name in scores}


def normalised_entropy(entropy: np.ndarray, query_mask: np.ndarray | None = None) -> np.ndarray:
    """[L, H] mean_i H(row i) / ln n from row entropies [L, H, N] in nats.

    0 = all mass on one key, 1 = spread evenly over all n keys; normalising by ln n makes
    the value mean the same at 8 tokens and at 512.
    """
    n = entropy.shape[-1]
    rows = _rows(query_mask, n)
    if n < 2:
        return np.zeros(entropy.shape[:2])
    return entropy[:, :, rows].mean(axis=-1) / math.log(n)


def partition(reads: Reads, special_mask: np.ndarray, query_mask: np.ndarray | None = None) -> np.ndarray:
    """[L, H, 4]: each row's mass split into to-CLS, to-SEP, near-diagonal, rest; sums to 1.

    near-diagonal = keys with |i − j| ≤ 1 that are not special tokens.  Rows are taken
    to sum to 1 (softmax outputs, or T̃): rest = 1 − the other three, floored at 0, and
    the four parts are then divided by their sum so that they add up to 1 exactly.
    """
    special_mask = np.asarray(special_mask, dtype=bool)
    n = reads.offsets.shape[2]
    rows = _rows(query_mask, n)
    keys = rows[:, None] + np.array(OFFSETS)[None, :]  # [R, 3]
    usable = (keys >= 0) & (keys < n)
    usable[usable] &= ~special_mask[keys[usable]]
    to_cls = reads.to_keys[:, :, rows, KEY_GROUPS.index("cls")]
    to_sep = reads.to_keys[:, :, rows, KEY_GROUPS.index("sep")]
    near = (reads.offsets[:, :, rows] * usable).sum(axis=-1)
    rest = np.maximum(1.0 - to_cls - to_sep - near, 0.0)
    parts = np.stack([to_cls, to_sep, near, rest], axis=-1)
    parts /= parts.sum(axis=-1, keepdims=True)
    return parts.mean(axis=2)


def breadth(reads: Reads, special_mask: np.ndarray) -> np.ndarray:
    """[L, H] normalised entropy of the [CLS] row restricted to non-special tokens (0..1).

    High when [CLS] spreads its look-back evenly over the words, not onto one of them.
    """
    content = np.nonzero(~np.asarray(special_mask, dtype=bool))[0]
    if content.size < 2:
        return np.zeros(reads.cls_row.shape[:2])
    row = reads.cls_row[..., content]
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
    found = []
    for position, token in enumerate(tokens):
        bare = token
        for mark in SUBWORD_MARKS:
            bare = bare.removeprefix(mark)
        if bare in PUNCTUATION:
            found.append(position)
    return tuple(found)


def _rows(query_mask: np.ndarray | None, n: int) -> np.ndarray:
    rows = np.arange(n) if query_mask is None else np.nonzero(query_mask)[0]
    if rows.size == 0:
        raise ValueError(ERR_NO_ROWS)
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
