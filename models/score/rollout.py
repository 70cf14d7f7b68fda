"""Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers").

Each layer mixes what the previous layer produced; the residual connection keeps half of
each token where it was.  Per layer l (M_l = mean over heads of the layer's matrix):

  Â_l = (0.5 · M_l + 0.5 · I), each row divided by its sum
  R_1 = Â_1,   R_l = Â_l · R_{l−1}

R_l[i, j] is how much of token i's representation after layer l traces back to input
token j.  Dense inputs give the full [L, N, N].  For a few query rows only, row q of R_l
is e_q · Â_l · Â_{l−1} ⋯ Â_1: row vectors times matrices, taken from the top layer down,
so a banded Longformer layer is never expanded to N × N (O(L · N · (w + g)) per row).

Views: "weight" rolls out the attention weights; "norm" rolls out the row-normalised norm
matrices T̃ (models/score/norms.py) instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from i18n import N_
from models.extract.banded import BandedLayer, Layer
from models.result import AttentionResult
from models.score.norms import norm_layer
from models.score.sweep import View

RESIDUAL = 0.5  # the identity's share in Â

ERR_NO_NORMS = N_("This result has no value norms, so the norm view is not available; use the weight view.")


def head_mean(layer: Layer) -> Layer:
    """Mean over heads: dense [N, N] float64, or a one-head BandedLayer for banded input."""
    if isinstance(layer, BandedLayer):
        rows = layer.global_rows.mean(axis=0, keepdims=True) if layer.global_rows is not None else None
        return BandedLayer(layer.band.mean(axis=0, keepdims=True), rows, layer.global_positions)
    return np.asarray(layer, dtype=np.float64).mean(axis=0)


def view_means(result: AttentionResult, view: View = "weight") -> tuple[Layer, ...]:
    """Each layer's head mean M_l in the chosen view (see `head_mean`)."""
    if view == "weight":
        return tuple(head_mean(layer) for layer in result.layer_attention)
    if result.value_norms is None:
        raise ValueError(ERR_NO_NORMS)
    globals_ = result.global_value_norms
    return tuple(
        head_mean(
            norm_layer(
                layer,
                result.value_norms[index],
                globals_[index] if globals_ is not None else None,
                result.global_positions,
            )
        )
        for index, layer in enumerate(result.layer_attention)
    )


def rollout_matrices(means: Sequence[np.ndarray]) -> np.ndarray:
    """[L, N, N] float64: R_l for every layer, from dense head means M_l [N, N]."""
    out = np.empty((len(means), means[0].shape[-1], means[0].shape[-1]))
    for index, mean in enumerate(means):
        mixed = _mixed(np.asarray(mean, dtype=np.float64))
        out[index] = mixed if index == 0 else mixed @ out[index - 1]
    return out


def rollout_rows(means: Sequence[Layer], queries: Sequence[int]) -> np.ndarray:
    """[Q, L, N] float64: row q of R_l for each query q and layer l.

    means: L head means, dense [N, N] or one-head BandedLayer (`head_mean`).  Layers are
    taken from the top down: at layer l every chain that starts at or above l is
    multiplied by Â_l, so each layer is read once for all Q·L chains.
    """
    n_layers, n = len(means), means[0].shape[-1]
    queries = list(queries)
    chains = np.zeros((0, n))  # rows: chain (layer l, query q) for the layers above
    for index in range(n_layers - 1, -1, -1):
        starts = np.zeros((len(queries), n))
        starts[np.arange(len(queries)), queries] = 1.0
        chains = np.concatenate([chains, starts])  # chains of layer `index` come last
        chains = _times_mixed(chains, means[index])
    # chains were added top layer first: chain block b belongs to layer L − 1 − b
    per_layer = chains.reshape(n_layers, len(queries), n)[::-1]  # [L, Q, N]
    return np.ascontiguousarray(per_layer.transpose(1, 0, 2))


def attention_rollout(result: AttentionResult, view: View = "weight") -> np.ndarray:
    """[L, N, N] float64 rollout of a dense result (up to 512 tokens)."""
    if result.is_banded:
        raise ValueError(
            N_(
                "This input has {n} tokens and keeps its attention banded: the full N × N rollout is only "
                "built up to 512 tokens. Ask for the rows of a few query tokens instead."
            ).format(n=result.n_tokens)
        )
    return rollout_matrices(view_means(result, view))


def query_rollout(result: AttentionResult, queries: Sequence[int] | None = None, view: View = "weight") -> np.ndarray:
    """[Q, L, N] float64 rollout rows of the chosen query tokens (default: the first cls)."""
    queries = check_queries(result, queries)
    return rollout_rows(view_means(result, view), queries)


def check_queries(result: AttentionResult, queries: Sequence[int] | None) -> tuple[int, ...]:
    """The query positions asked for, checked (default: the first cls token, else 0)."""
    if queries is None or len(queries) == 0:
        return (result.cls_positions[0] if result.cls_positions else 0,)
    n = result.n_tokens
    for position in queries:
        if isinstance(position, bool) or not isinstance(position, (int, np.integer)) or not 0 <= position < n:
            raise ValueError(
                N_(
                    "Query position {position} is out of range: this input has {n} tokens (positions 0 to {last})."
                ).format(position=position, n=n, last=n - 1)
            )
    return tuple(int(position) for position in queries)


def _mixed(mean: np.ndarray) -> np.ndarray:
    """Â = (0.5 M + 0.5 I) with rows renormalised, from a dense [N, N] head mean."""
    mixed = RESIDUAL * np.eye(mean.shape[0]) + (1 - RESIDUAL) * mean
    return mixed / mixed.sum(axis=-1, keepdims=True)


def _times_mixed(vectors: np.ndarray, mean: Layer) -> np.ndarray:
    """[K, N] row vectors times Â of one layer, never building a banded layer densely."""
    row_sums = RESIDUAL + (1 - RESIDUAL) * _row_sums(mean)  # [N]
    scaled = vectors / row_sums
    return RESIDUAL * scaled + (1 - RESIDUAL) * _left_multiply(scaled, mean)


def _by_key(local: np.ndarray, half: int) -> np.ndarray:
    """The band turned around: [N, w + 1] with row j holding what key j receives.

    local [N, w + 1]: band column k of row i is the weight on key i − half + k.  Row j of
    the result holds, at column k, the weight of query j + half − k on key j (0 outside).
    One strided copy of a zero-padded band.
    """
    n, width = local.shape
    padded = np.zeros((n + 2 * width, width), dtype=local.dtype)
    padded[width : width + n] = local
    row_step, column_step = padded.strides
    start = padded[width + half :]  # element (j, k) sits at row width + half + j − k
    view = np.lib.stride_tricks.as_strided(start, shape=(n, width), strides=(row_step, column_step - row_step))
    return np.ascontiguousarray(view)


def _row_sums(mean: Layer) -> np.ndarray:
    if not isinstance(mean, BandedLayer):
        return mean.sum(axis=-1)
    sums = mean.band[0].sum(axis=-1, dtype=np.float64)  # global rows' band is 0
    for k, position in enumerate(mean.global_positions):
        sums[position] = mean.global_rows[0, :, k].sum(dtype=np.float64)
    return sums


def _left_multiply(vectors: np.ndarray, mean: Layer) -> np.ndarray:
    """[K, N] @ M for a dense [N, N] or one-head banded M."""
    if not isinstance(mean, BandedLayer):
        return vectors.astype(mean.dtype) @ mean  # one dtype: numpy's BLAS path
    x, half = mean.n_global, mean.window // 2
    band = mean.band[0]  # [N, x + w + 1]
    received = _by_key(band[:, x:], half)  # [N, w + 1]
    padded = np.pad(vectors.astype(np.float32), ((0, 0), (half, half)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=-1)[..., ::-1]  # [K, N, w + 1]
    out = np.einsum("jk,cjk->cj", received, windows).astype(np.float64)  # Σ_k vector[j + half − k] · received[j, k]
    for k, position in enumerate(mean.global_positions):
        out[:, position] += vectors @ band[:, k].astype(np.float64)  # local rows → global key
        out += vectors[:, position, None] * mean.global_rows[0, :, k]  # the global token's own row
    return out
