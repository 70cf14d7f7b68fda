"""Word-level view: merge word pieces into the words the reader typed.

Following Clark et al. 2019: attention *to* a word is the sum over its pieces' key
columns, attention *from* a word is the mean of its pieces' query rows, so every merged
row still sums to 1.  Special tokens stay single.  A word is the tokenizer's word id
within its segment, so the same id in the two sentences of a pair is two words.  For
Japanese BERT models the words are MeCab's (models/compare/alignment.py), so a Japanese sentence
reads word by word.
For dense inputs (up to 512 tokens).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from i18n import N_
from models.pieces import bare
from models.result import AttentionResult
from models.score.rollout import query_rollout
from models.score.sweep import View


@dataclass(frozen=True)
class WordGroups:
    """How N tokens merge into W words.

    labels  [W] the word as read: its pieces joined, subword marks ("##", "Ġ", "▁") removed
    groups  [W] the token positions of each word, ascending
    merge   [N, W] float64 0/1: token j belongs to word w (columns sum pieces: A @ merge)
    """

    labels: tuple[str, ...]
    groups: tuple[tuple[int, ...], ...]
    merge: np.ndarray

    @property
    def averaging(self) -> np.ndarray:
        """[W, N]: row w averages the query rows of word w's pieces."""
        return (self.merge / self.merge.sum(axis=0, keepdims=True)).T


def word_groups(
    tokens: Sequence[str], word_ids: Sequence[int | None], segment_ids: Sequence[int] | None = None
) -> WordGroups:
    """Group tokens by (segment, word id); tokens without a word id (special) stay single."""
    if len(word_ids) != len(tokens):
        raise ValueError(
            N_("Word ids ({ids}) and tokens ({tokens}) differ in length; pass the result's own word_ids.").format(
                ids=len(word_ids), tokens=len(tokens)
            )
        )
    segments = segment_ids if segment_ids is not None else [0] * len(tokens)
    order: dict[object, list[int]] = {}
    for position, (word, segment) in enumerate(zip(word_ids, segments)):
        key = ("word", segment, word) if word is not None else ("single", position)
        order.setdefault(key, []).append(position)
    groups = tuple(tuple(positions) for positions in sorted(order.values(), key=lambda g: g[0]))
    merge = np.zeros((len(tokens), len(groups)))
    for w, positions in enumerate(groups):
        merge[list(positions), w] = 1.0
    labels = tuple(
        tokens[positions[0]] if word_ids[positions[0]] is None else _label([tokens[p] for p in positions])
        for positions in groups
    )
    return WordGroups(labels, groups, merge)


def merge_words(attention: np.ndarray, words: WordGroups) -> np.ndarray:
    """[..., N, N] → [..., W, W] float64: rows averaged over a word's pieces, columns summed.

    Works on one head [N, N], a layer [H, N, N] or all layers [L, H, N, N]; also on
    rollout matrices.  Rows that summed to 1 still do.
    """
    return words.averaging @ np.asarray(attention, dtype=np.float64) @ words.merge


def result_words(result: AttentionResult) -> WordGroups:
    """The word groups of an extracted input (its word ids and segments)."""
    return word_groups(result.tokens, result.word_ids, result.segment_ids)


def word_rollout(
    result: AttentionResult, word_queries: Sequence[int] | None = None, view: View = "weight"
) -> tuple[WordGroups, tuple[int, ...], np.ndarray]:
    """Rollout rows per word → (words, the word queries, [Q, L, W] float64).

    word_queries are word indices (default: the word holding the first cls token).  A word's
    row is the mean of its pieces' token rows (models.score.rollout), with key columns summed.
    """
    words = result_words(result)
    if not word_queries:
        first = result.cls_positions[0] if result.cls_positions else 0
        word_queries = [next(w for w, group in enumerate(words.groups) if first in group)]
    for word in word_queries:
        if isinstance(word, bool) or not isinstance(word, (int, np.integer)) or not 0 <= word < len(words.groups):
            raise ValueError(
                N_("Word {word} is out of range: this input has {count} words (0 to {last}).").format(
                    word=word, count=len(words.groups), last=len(words.groups) - 1
                )
            )
    pieces = sorted({p for word in word_queries for p in words.groups[word]})
    rows = dict(zip(pieces, query_rollout(result, pieces, view)))  # position → [L, N]
    merged = np.stack([np.mean([rows[p] for p in words.groups[word]], axis=0) for word in word_queries])
    return words, tuple(int(word) for word in word_queries), merged @ words.merge


def _label(pieces: list[str]) -> str:
    """The pieces joined, each without its subword mark ("##", "Ġ", "▁")."""
    return "".join(bare(piece) for piece in pieces)
