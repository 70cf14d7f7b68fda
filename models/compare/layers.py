"""Comparing two models whose heads cannot be paired: layer by layer at matching depth, and
word by word where both tokenizations cover the same words.  Pure numpy; nothing is modified.

Normalised depth of layer l of L is l / (L − 1) (0 = first layer, 1 = last; 0 for L = 1).
Each layer of model A is matched with the layer of B nearest in depth.
Word attention (Clark et al. 2019): attention *to* a word is summed over its tokens,
attention *from* a word is averaged over its tokens.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from models.extract.banded import block
from models.result import AttentionResult

WORD = re.compile(r"\w+|[^\w\s]")
CLS_WORD, SEP_WORD = "[CLS]", "[SEP]"
ROW_CHUNK = 256  # query rows per dense block when reading (possibly banded) layers


@dataclass(frozen=True, eq=False)
class LayerComparison:
    """Per-layer summaries of both models, and which layers meet at matching depth.

    depth_a, depth_b    [L_a], [L_b] normalised depth
    matched             (layer of A, layer of B) pairs, one per layer of A, 0-based
    scores_a, scores_b  score → [L] mean over heads (scores both analyses hold)
    roles_a, roles_b    [L, R] share of heads in each role (models.score.roles.ROLES)
    partition_a/_b      [L, 4] mass to-CLS / to-SEP / near-diagonal / rest
    """

    depth_a: np.ndarray
    depth_b: np.ndarray
    matched: tuple[tuple[int, int], ...]
    scores_a: dict[str, np.ndarray]
    scores_b: dict[str, np.ndarray]
    roles_a: np.ndarray
    roles_b: np.ndarray
    partition_a: np.ndarray
    partition_b: np.ndarray


@dataclass(frozen=True, eq=False)
class WordComparison:
    """Word-level attention of both models at matched depths.

    words        the aligned words in order ("[CLS]" and "[SEP]" stand for the special tokens)
    similarity   [P] per matched layer pair: mean over word rows of the cosine similarity of the
                 two head-averaged word-attention rows
    unaligned_a  tokens of A that map to no word B also has (or straddle two words)
    unaligned_b  the same for B
    """

    words: tuple[str, ...]
    similarity: np.ndarray
    unaligned_a: tuple[str, ...]
    unaligned_b: tuple[str, ...]


def depths(n_layers: int) -> np.ndarray:
    """[L] normalised depth l / (L − 1)."""
    return np.arange(n_layers) / max(n_layers - 1, 1)


def match_layers(n_a: int, n_b: int) -> tuple[tuple[int, int], ...]:
    """For each layer of A, the layer of B nearest in normalised depth (the lower one on a tie)."""
    depth_b = depths(n_b)
    return tuple((la, int(np.argmin(np.abs(depth_b - d)))) for la, d in enumerate(depths(n_a)))


def compare_layers(
    views_a: Mapping[str, np.ndarray], views_b: Mapping[str, np.ndarray], analysis_a, analysis_b
) -> LayerComparison:
    """Layer-level comparison from each side's per-head score views ([L, H] each)."""
    shared = [name for name in views_a if name in views_b]
    n_a, n_b = analysis_a.roles.shape[0], analysis_b.roles.shape[0]
    return LayerComparison(
        depth_a=depths(n_a),
        depth_b=depths(n_b),
        matched=match_layers(n_a, n_b),
        scores_a={name: views_a[name].mean(axis=1) for name in shared},
        scores_b={name: views_b[name].mean(axis=1) for name in shared},
        roles_a=analysis_a.layer_roles,
        roles_b=analysis_b.layer_roles,
        partition_a=analysis_a.layer_partition,
        partition_b=analysis_b.layer_partition,
    )


def _words(result: AttentionResult) -> list[tuple[int, int, int, str]]:
    """(segment, start, end, word) of every word of the input, in order."""
    found = []
    sources = [(0, result.text)] + ([(1, result.text_b)] if result.text_b is not None else [])
    for segment, source in sources:
        found.extend((segment, m.start(), m.end(), m.group()) for m in WORD.finditer(source))
    return found


def token_words(result: AttentionResult) -> list[object]:
    """The word key of every token: (segment, start) of its word, CLS_WORD, SEP_WORD, or None
    (other special tokens, and tokens that straddle two words)."""
    words = _words(result)
    cls, sep = set(result.cls_positions), set(result.sep_positions)
    explicit_pair = result.text_b is not None
    keys: list[object] = []
    for position, (start, end) in enumerate(result.spans):
        if position in cls:
            keys.append(CLS_WORD)
            continue
        if position in sep:
            keys.append(SEP_WORD)
            continue
        if start == end:
            keys.append(None)
            continue
        segment = 1 if explicit_pair and result.segment_ids[position] == 1 else 0
        hits = [(s, w_start) for s, w_start, w_end, _ in words if s == segment and w_start < end and start < w_end]
        keys.append(hits[0] if len(hits) == 1 else None)
    return keys


def _word_matrices(keys: list[object], order: list[object]) -> tuple[np.ndarray, np.ndarray]:
    """to-word [N, W] (1 where token → word) and from-word [W, N] (1 / tokens of the word)."""
    index = {key: k for k, key in enumerate(order)}
    to_word = np.zeros((len(keys), len(order)))
    for position, key in enumerate(keys):
        if key in index:
            to_word[position, index[key]] = 1.0
    counts = to_word.sum(axis=0)
    from_word = (to_word / np.where(counts > 0, counts, 1.0)).T
    return to_word, from_word


def _head_mean(layer) -> np.ndarray:
    """[N, N] float64 mean over heads of one (dense or banded) layer."""
    n = layer.shape[-1]
    out = np.zeros((n, n))
    for start in range(0, n, ROW_CHUNK):
        rows = slice(start, min(n, start + ROW_CHUNK))
        out[rows] = block(layer, rows, slice(0, n)).mean(axis=0, dtype=np.float64)
    return out


def row_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[..., R] cosine similarity of matching rows of a and b [..., R, K]; two zero rows count 1,
    one zero row 0."""
    dot = (a * b).sum(axis=-1)
    norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    both_zero = (np.linalg.norm(a, axis=-1) == 0) & (np.linalg.norm(b, axis=-1) == 0)
    cosine = np.divide(dot, norms, out=np.zeros_like(dot, dtype=np.float64), where=norms > 0)
    return np.where(both_zero, 1.0, cosine)


def compare_words(result_a: AttentionResult, result_b: AttentionResult, matched) -> WordComparison:
    """Word-level similarity of the head-averaged attention at each matched layer pair."""
    keys_a, keys_b = token_words(result_a), token_words(result_b)
    shared = set(keys_a) & set(keys_b) - {None}
    order = [key for key in dict.fromkeys(keys_a) if key in shared]
    labels = {key: word for (segment, start, _end, word) in _words(result_a) for key in [(segment, start)]}
    words = tuple(key if isinstance(key, str) else labels[key] for key in order)
    unaligned_a = tuple(t for t, key in zip(result_a.tokens, keys_a) if key not in shared)
    unaligned_b = tuple(t for t, key in zip(result_b.tokens, keys_b) if key not in shared)
    to_a, from_a = _word_matrices(keys_a, order)
    to_b, from_b = _word_matrices(keys_b, order)
    similarity = np.zeros(len(matched))
    for k, (la, lb) in enumerate(matched):
        word_a = from_a @ _head_mean(result_a.layer_attention[la]) @ to_a  # [W, W]
        word_b = from_b @ _head_mean(result_b.layer_attention[lb]) @ to_b
        similarity[k] = row_cosine(word_a, word_b).mean() if order else 0.0
    return WordComparison(words, similarity, unaligned_a, unaligned_b)
