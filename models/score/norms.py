"""Norm-based attention (Kobayashi et al. 2020, "Attention is Not Only a Weight").

A large weight α_ij can move almost nothing when token j's transformed value vector is
small.  Per layer l and head h (d = head size, D = hidden size):

  f_h(x_j)            = (x_j W_V^h + b_V^h) W_O^h      what head h moves from token j  [D]
  value_norms[l,h,j]  = ‖f_h(x_j)‖                                                 [L, H, N]
  T[i, j]             = α_ij ‖f_h(x_j)‖ = ‖α_ij f_h(x_j)‖   the norm-weighted matrix  [H, N, N]
  T̃[i, j]             = T[i, j] / Σ_k T[i, k]          row-normalised, used for scoring

W_O^h is head h's column slice weight[:, h·d:(h+1)·d] of the attention output projection
(its bias is left out, as in the paper).  Our deviation from the paper: scores are read
from T̃, so that every score keeps its meaning of "a share of row i"; the paper reports
the raw ‖α f‖, which `norm_weighted` returns and the JSON exports as `value_norms`.

Longformer: local query rows use `value` for every key, global keys included; the global
tokens' own rows use `value_global` (`global_norms`).

`norm_layer` gives T̃ in the layer's own form, dense [H, N, N] or banded (the weighting
only scales key columns, so a banded layer stays banded).  The analysis itself never
builds T̃: models/score/sweep.py and models/score/scores.py read the few entries they need from the
weights and scale them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from models.extract.banded import BandedLayer, Layer
from models.frozen import read_only


def value_norms(values: Sequence[torch.Tensor], factors: Sequence[torch.Tensor], heads: int) -> np.ndarray:
    """‖f_h(x_j)‖ for every layer, head and token → float32 [L, H, N], read-only.

    values:  L captured value-projection outputs [N, H·d] (bias included)
    factors: L transposed output-projection factors R_hᵀ [H, d, d] (models.load.capture)
    """
    norms = torch.stack([head_norms(value, factor, heads) for value, factor in zip(values, factors)]).numpy()
    norms.setflags(write=False)
    return norms


def head_norms(value: torch.Tensor, factor: torch.Tensor, heads: int) -> torch.Tensor:
    """‖f_h(x_j)‖ of one layer: value [..., N, H·d] (a batch [B, N, H·d] too) → float32 [..., H, N].

    ‖W_O^h v_h‖ = ‖v_h R_hᵀ‖ (models.load.capture.output_factors): a d×d product per token.
    """
    split = value.reshape(*value.shape[:-1], heads, -1).transpose(-3, -2)  # [..., H, N, d]
    return torch.linalg.vector_norm(torch.matmul(split, factor), dim=-1)  # R_h v_j


def norm_weighted(
    layer: Layer,
    norms: np.ndarray,
    global_norms: np.ndarray | None = None,
    global_positions: Sequence[int] = (),
) -> Layer:
    """The raw norm-weighted matrix T[i, j] = α_ij ‖f_h(x_j)‖, in the layer's own form.

    layer: [H, N, N] or BandedLayer (then T is banded too: the weighting scales each key,
    so the band keeps its shape and no N×N array is built).  norms [H, N]: this layer's
    value_norms; global_norms [H, N]: the `value_global` norms the rows of Longformer
    global tokens use (`global_positions` for a dense layer; a banded one knows its own).
    """
    if isinstance(layer, BandedLayer):
        x, half = layer.n_global, layer.window // 2
        padded = np.pad(norms, ((0, 0), (half, half)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, layer.window + 1, axis=-1)  # [H, N, w + 1]
        band = np.empty_like(layer.band)
        band[:, :, :x] = layer.band[:, :, :x] * norms[:, None, list(layer.global_positions)]
        band[:, :, x:] = layer.band[:, :, x:] * windows
        rows = None
        if layer.global_rows is not None:
            rows = layer.global_rows * (norms if global_norms is None else global_norms)[:, :, None]
        return BandedLayer(read_only(band), read_only(rows) if rows is not None else None, layer.global_positions)
    weighted = np.asarray(layer, dtype=np.float32) * norms[:, None, :]
    if global_norms is not None:
        for position in global_positions:
            weighted[:, position, :] = layer[:, position, :] * global_norms
    return read_only(weighted.astype(np.float32, copy=False))


def row_normalised(weighted: Layer) -> Layer:
    """T̃ = T / Σ_k T[i, k], in the layer's own form (rows of all zeros stay zero)."""
    if isinstance(weighted, BandedLayer):
        totals = weighted.band.sum(axis=-1, dtype=np.float64)  # [H, N]; global rows' band is 0
        rows = None
        if weighted.global_rows is not None:
            global_totals = weighted.global_rows.sum(axis=1, dtype=np.float64)  # [H, x]
            totals[:, list(weighted.global_positions)] = global_totals
            rows = _divide(weighted.global_rows, global_totals[:, None, :])
        band = _divide(weighted.band, totals[:, :, None])
        return BandedLayer(read_only(band), read_only(rows) if rows is not None else None, weighted.global_positions)
    return read_only(_divide(weighted, weighted.sum(axis=-1, dtype=np.float64)[:, :, None]))


def norm_layer(
    layer: Layer, norms: np.ndarray, global_norms: np.ndarray | None = None, global_positions: Sequence[int] = ()
) -> Layer:
    """The norm view of one layer: row-normalised T̃ ([H, N, N] or banded, as `layer`)."""
    return row_normalised(norm_weighted(layer, norms, global_norms, global_positions))


def _divide(values: np.ndarray, totals: np.ndarray) -> np.ndarray:
    out = np.zeros(values.shape, dtype=np.float32)
    np.divide(values, totals, out=out, where=totals > 0, casting="unsafe")
    return out
