"""Per-head attention scores: pure functions, one value per layer × head.

Every function takes `attention`, a sequence of L arrays [H, N, N] (an [L, H, N, N]
array works too, and so do banded Longformer layers, read through models.banded), where A[i, j] is the attention from query i to key j, and
returns float64 [L, H].  Inputs are never modified.  Scores average over the query
rows selected by `query_mask` ([N] bool; None = every token), after Clark et al.
2019, "What Does BERT Look At?".
"""

from __future__ import annotations

import math
from typing import Literal, Sequence, get_args

import numpy as np

from models.banded import LOG_FLOOR, Layer, columns, offset_values, query_row
from models.banded import row_entropy as _row_entropy

ScoreName = Literal["cls", "sep", "diagonal", "prev", "next", "punct", "entropy", "cls_out"]
SCORE_NAMES: tuple[ScoreName, ...] = get_args(ScoreName)
PartName = Literal["to_cls", "to_sep", "near_diagonal", "rest"]
PART_NAMES: tuple[PartName, ...] = get_args(PartName)

PUNCTUATION = frozenset({".", ","})
SUBWORD_MARKS = ("##", "Ġ", "▁")
Attention = Sequence[Layer]  # L × [H, N, N], or L banded Longformer layers (models.banded)



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
        raise ValueError("No query rows to average over: the query mask selects no token.")
    return rows


def mass_to(attention: Attention, keys: Sequence[int], query_mask: np.ndarray | None = None) -> np.ndarray:
    """mean_i Σ_{k ∈ keys} A[i, k]: the share of attention sent to a set of keys."""
    keys = list(keys)
    scores = np.zeros((len(attention), attention[0].shape[0]))
    if not keys:
        return scores
    rows = _rows(query_mask, attention[0].shape[-1])
    for layer, weights in enumerate(attention):
        scores[layer] = columns(weights, keys)[:, rows].sum(axis=-1, dtype=np.float64).mean(axis=-1)
    return scores


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
    rows = _rows(query_mask, attention[0].shape[-1])
    scores = np.zeros((len(attention), attention[0].shape[0]))
    for layer, weights in enumerate(attention):
        scores[layer] = offset_values(weights, offset)[:, rows].sum(axis=-1, dtype=np.float64) / rows.size
    return scores


def diagonal_score(attention: Attention, query_mask=None) -> np.ndarray:
    return offset_score(attention, 0, query_mask)


def prev_score(attention: Attention, query_mask=None) -> np.ndarray:
    return offset_score(attention, -1, query_mask)


def next_score(attention: Attention, query_mask=None) -> np.ndarray:
    return offset_score(attention, 1, query_mask)


def row_entropy(weights: Layer) -> np.ndarray:
    """H(A[i, :]) in nats for every row of one layer → float64 [H, N]."""
    return _row_entropy(weights)


def entropy_score(attention: Attention, query_mask: np.ndarray | None = None) -> np.ndarray:
    """mean_i H(A[i, :]) / ln n: 0 = all mass on one key, 1 = spread evenly over all n keys.

    Normalising by ln n makes the value mean the same at 8 tokens and at 512.
    """
    n = attention[0].shape[-1]
    rows = _rows(query_mask, n)
    scores = np.zeros((len(attention), attention[0].shape[0]))
    if n < 2:
        return scores
    for layer, weights in enumerate(attention):
        scores[layer] = row_entropy(weights)[:, rows].mean(axis=-1) / math.log(n)
    return scores


def cls_out_score(attention: Attention, cls_positions: Sequence[int], special_mask: np.ndarray) -> np.ndarray:
    """Mass of the [CLS] query row on non-special tokens ("[CLS] looks back at the sentence")."""
    scores = np.zeros((len(attention), attention[0].shape[0]))
    if not cls_positions:
        return scores
    cls, content = cls_positions[0], np.nonzero(~np.asarray(special_mask, dtype=bool))[0]
    for layer, weights in enumerate(attention):
        scores[layer] = query_row(weights, cls)[:, content].sum(axis=-1, dtype=np.float64)
    return scores


def cls_breadth(attention: Attention, cls_positions: Sequence[int], special_mask: np.ndarray) -> np.ndarray:
    """Normalised entropy of the [CLS] row restricted to non-special tokens (0..1).

    High when [CLS] spreads its look-back evenly over the words, not onto one of them.
    """
    scores = np.zeros((len(attention), attention[0].shape[0]))
    content = np.nonzero(~np.asarray(special_mask, dtype=bool))[0]
    if not cls_positions or content.size < 2:
        return scores
    for layer, weights in enumerate(attention):
        row = query_row(weights, cls_positions[0])[:, content].astype(np.float64)  # [H, n_content]
        total = row.sum(axis=-1, keepdims=True)
        probs = np.divide(row, total, out=np.zeros_like(row), where=total > 0)
        logs = np.log(np.maximum(probs, LOG_FLOOR))
        scores[layer] = -(probs * logs).sum(axis=-1) / math.log(content.size)
    return scores


def mass_partition(
    attention: Attention,
    cls_positions: Sequence[int],
    sep_positions: Sequence[int],
    special_mask: np.ndarray,
    query_mask: np.ndarray | None = None,
) -> np.ndarray:
    """[L, H, 4]: each row's mass split into to-CLS, to-SEP, near-diagonal, rest; sums to 1.

    near-diagonal = keys with |i − j| ≤ 1 that are not special tokens.  Rows are taken
    to sum to 1 (they are softmax outputs): rest = 1 − the other three, floored at 0,
    and the four parts are then divided by their sum so that they add up to 1 exactly.
    """
    special_mask = np.asarray(special_mask, dtype=bool)
    n = attention[0].shape[-1]
    rows = _rows(query_mask, n)
    out = np.zeros((len(attention), attention[0].shape[0], len(PART_NAMES)))
    near_slots = []  # per offset: (slots in `rows`, keys), each row at most once per offset
    for offset in (-1, 0, 1):
        keys = rows + offset
        ok = (keys >= 0) & (keys < n)
        ok[ok] &= ~special_mask[keys[ok]]
        near_slots.append((np.nonzero(ok)[0], keys[ok]))
    cls_keys, sep_keys = list(cls_positions), list(sep_positions)
    for layer, weights in enumerate(attention):
        to_cls = columns(weights, cls_keys)[:, rows].sum(axis=-1, dtype=np.float64)  # [H, R]
        to_sep = columns(weights, sep_keys)[:, rows].sum(axis=-1, dtype=np.float64)
        near = np.zeros_like(to_cls)
        for offset, (slots, _keys) in zip((-1, 0, 1), near_slots):
            near[:, slots] += offset_values(weights, offset)[:, rows[slots]]
        rest = np.maximum(1.0 - to_cls - to_sep - near, 0.0)
        parts = np.stack([to_cls, to_sep, near, rest], axis=-1)
        parts /= parts.sum(axis=-1, keepdims=True)
        out[layer] = parts.mean(axis=1)
    return out
