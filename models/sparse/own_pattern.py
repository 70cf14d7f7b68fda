"""A model's own attention pattern: which (query, key) pairs it can attend to at all.

Dense families attend everywhere.  ModernBERT's local layers see W/2 tokens on each side
(W = `local_attention`), its global layers everything.  Longformer sees its window plus
the global tokens.  BigBird's block-sparse layers see the block layout of models/extract/bigbird.py.
The sparse explorer draws `real_mask` beside a simulated pattern (models/sparse/patterns.py) and
`overlap` says how far the two agree.  Pure numpy; nothing is modified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from models.extract.bigbird import BlockSparseNote, layout_mask
from models.load.families import AttentionForm

if TYPE_CHECKING:
    from models.result import AttentionResult


@dataclass(frozen=True, eq=False)
class OwnPattern:
    """How the model's attention was restricted on one input.

    form           the family's attention form (models.load.families.AttentionForm)
    layer_windows  [L] full window W of each windowed layer (W/2 keys on each side), None for
                   a layer that attends to every token
    block_sparse   BigBird only: how its block-sparse attention ran (else None)
    """

    form: AttentionForm
    layer_windows: tuple[int | None, ...]
    block_sparse: BlockSparseNote | None = None


@dataclass(frozen=True, eq=False)
class MaskOverlap:
    """Agreement of a real and a simulated pattern, each [L, H] (shares of the N² pairs).

    both            allowed by both
    real_only       allowed by the model only
    simulated_only  allowed by the simulation only
    jaccard         both / (allowed by either); 1 when both masks are empty
    real_covered    share of the model's pairs that the simulation also allows
    """

    both: np.ndarray
    real_only: np.ndarray
    simulated_only: np.ndarray
    jaccard: np.ndarray
    real_covered: np.ndarray


def layer_windows(config, n_layers: int | None = None) -> tuple[int | None, ...]:
    """[L] the window W (W/2 keys each side) of every layer from a model config; None = global.

    ModernBERT: `local_attention` on its "sliding_attention" layers (every
    `global_attn_every_n_layers`-th layer, the first included, is global).  Longformer:
    `attention_window` per layer.  Every other family: all None.
    """
    n_layers = n_layers or getattr(config, "num_hidden_layers", None) or config.n_layers
    layer_types = getattr(config, "layer_types", None)
    if layer_types is not None and hasattr(config, "local_attention"):
        local = int(config.local_attention)
        return tuple(local if kind == "sliding_attention" else None for kind in layer_types[:n_layers])
    windows = getattr(config, "attention_window", None)
    if windows is not None:
        per_layer = windows if isinstance(windows, (list, tuple)) else [windows] * n_layers
        return tuple(int(w) for w in per_layer[:n_layers])
    return (None,) * n_layers


def window_band(n: int, window: int | None) -> np.ndarray:
    """bool [N, N]: |i − j| ≤ W/2, or everything when `window` is None."""
    if window is None:
        return np.ones((n, n), dtype=bool)
    positions = np.arange(n)
    return np.abs(positions[:, None] - positions[None, :]) <= window // 2


def real_mask(result: AttentionResult) -> np.ndarray:
    """bool [L, H, N, N], read-only: the pairs the model could attend to on this input.

    A pattern shared by every head (all but BigBird's per-head random blocks) is a broadcast
    view over heads, so a long input costs L·N² booleans, not L·H·N².
    """
    n, layers, heads = result.n_tokens, result.model.layers, result.model.heads
    pattern = getattr(result, "pattern", None)
    windows = pattern.layer_windows if pattern is not None else (None,) * layers
    note = pattern.block_sparse if pattern is not None else None
    per_layer = []  # [N, N] shared by the heads, or [H, N, N]
    for layer in range(layers):
        if note is not None and note.random_ids is not None:
            ids = note.random_ids[layer]
            same = (ids == ids[:1]).all()
            mask = layout_mask(note.block, ids[:1] if same else ids, n)
            per_layer.append(mask[0] if same else mask)
            continue
        mask = window_band(n, windows[layer])
        if pattern is not None and pattern.form == "banded":
            mask[list(result.global_positions), :] = True
            mask[:, list(result.global_positions)] = True
        per_layer.append(mask)
    if all(mask.ndim == 2 for mask in per_layer):
        stacked = np.broadcast_to(np.stack(per_layer)[:, None], (layers, heads, n, n))
    else:
        stacked = np.stack([np.broadcast_to(mask, (heads, n, n)) for mask in per_layer])
        stacked.setflags(write=False)
    return stacked


def overlap(real: np.ndarray, simulated: np.ndarray) -> MaskOverlap:
    """How two masks agree, per layer and head: real [L, H, N, N]; simulated [N, N] or [L, H, N, N]."""
    real = np.asarray(real, dtype=bool)
    simulated = np.broadcast_to(np.asarray(simulated, dtype=bool), real.shape)
    cells = real.shape[-1] * real.shape[-2]
    both = (real & simulated).sum(axis=(-2, -1)) / cells
    real_share = real.sum(axis=(-2, -1)) / cells
    simulated_share = simulated.sum(axis=(-2, -1)) / cells
    either = real_share + simulated_share - both
    return MaskOverlap(
        both=both,
        real_only=real_share - both,
        simulated_only=simulated_share - both,
        jaccard=np.divide(both, either, out=np.ones_like(both), where=either > 0),
        real_covered=np.divide(both, real_share, out=np.ones_like(both), where=real_share > 0),
    )


def overlap_view(real: np.ndarray, simulated: np.ndarray) -> np.ndarray:
    """int8 [N, N] for one head, to draw: 0 neither, 1 model only, 2 simulation only, 3 both."""
    real, simulated = np.asarray(real, dtype=bool), np.asarray(simulated, dtype=bool)
    return (real.astype(np.int8) + 2 * simulated.astype(np.int8)).astype(np.int8)
