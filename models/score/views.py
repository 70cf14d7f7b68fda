"""What a figure draws: one input's attention in a view (weights or norm) and a unit
(tokens or words), as plain arrays.

  view  "weight"  the attention weights α
        "norm"    T̃, the row-normalised α·‖f(x)‖ (models/score/norms.py): what each head moves
  unit  "tokens"  one row and column per token
        "words"   word pieces merged (models/score/words.py): rows averaged, columns summed;
                  inputs up to WORD_LIMIT tokens (banded inputs stay token-level)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import get_args

import numpy as np

from models.extract.banded import Layer, block
from models.result import AttentionResult
from models.score.norms import norm_layer
from models.score.sweep import View
from models.score.words import WordGroups, merge_words, result_words
from models.types import Unit

UNITS: tuple[Unit, ...] = get_args(Unit)
WORD_LIMIT = 512
ERR_NO_NORMS = "The norm view needs the value vectors' norms, which this model's family does not capture."
ERR_WORDS = "The word-level view works on inputs up to {limit} tokens; this one has {n}."


@dataclass(frozen=True, eq=False)
class Shown:
    """One input as a figure shows it.

    labels            [M] token or word labels (M = N tokens or W words)
    special_mask      [M] bool: special tokens (a special token stays a word of its own)
    global_positions  positions (in this unit) holding a Longformer global token
    words             the word groups when unit is "words", else None
    """

    result: AttentionResult
    view: View
    unit: Unit
    labels: tuple[str, ...]
    special_mask: np.ndarray
    global_positions: tuple[int, ...]
    words: WordGroups | None

    @property
    def size(self) -> int:
        return len(self.labels)

    def layer(self, index: int) -> Layer:
        """0-based layer in this view, token level: [H, N, N] or banded."""
        return view_layer(self.result, index, self.view)

    def heads(self, index: int) -> np.ndarray:
        """0-based layer as dense [H, M, M] in this view and unit (inputs up to 512 tokens)."""
        layer = self.layer(index)
        n = self.result.n_tokens
        dense = block(layer, slice(0, n), slice(0, n))
        return merge_words(dense, self.words).astype(np.float32) if self.words is not None else dense

    def head(self, index: int, head: int) -> np.ndarray:
        """[M, M] one head (0-based layer and head)."""
        if self.words is None:
            n = self.result.n_tokens
            return block(self.layer(index), slice(0, n), slice(0, n), head=head)
        return self.heads(index)[head]

    @cached_property
    def value_norms(self) -> np.ndarray:
        """[L, M] mean over heads of ‖f_h(x_j)‖ (summed over a word's pieces for words)."""
        if self.result.value_norms is None:
            raise ValueError(ERR_NO_NORMS)
        per_layer = np.asarray(self.result.value_norms, dtype=np.float64).mean(axis=1)  # [L, N]
        return per_layer @ self.words.merge if self.words is not None else per_layer


def view_layer(result: AttentionResult, index: int, view: View) -> Layer:
    """0-based layer `index` of `result` in `view` ([H, N, N] or banded, as the result)."""
    layer = result.layer_attention[index]
    if view == "weight":
        return layer
    if result.value_norms is None:
        raise ValueError(ERR_NO_NORMS)
    globals_ = result.global_value_norms
    return norm_layer(
        layer, result.value_norms[index], globals_[index] if globals_ is not None else None, result.global_positions
    )


def shown(result: AttentionResult, view: View = "weight", unit: Unit = "tokens") -> Shown:
    """The input in `view` and `unit`; ValueError with a plain message when not available."""
    if view == "norm" and result.value_norms is None:
        raise ValueError(ERR_NO_NORMS)
    if unit == "tokens":
        special = np.asarray(result.special_mask, dtype=bool)
        return Shown(result, view, unit, result.tokens, special, result.global_positions, None)
    if result.is_banded or result.n_tokens > WORD_LIMIT:
        raise ValueError(ERR_WORDS.format(limit=WORD_LIMIT, n=result.n_tokens))
    words = result_words(result)
    special = np.array([len(g) == 1 and bool(result.special_mask[g[0]]) for g in words.groups])
    globals_ = tuple(w for w, group in enumerate(words.groups) if set(group) & set(result.global_positions))
    return Shown(result, view, unit, words.labels, special, globals_, words)
