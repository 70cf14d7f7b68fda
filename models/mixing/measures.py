"""Context mixing: how much of each token's new representation comes from each token.

Per layer l of a BERT-like encoder (X = the layer's input [N, D]; heads h; α^h [N, N]):

  f_h(x_j)  = (x_j W_V^h + b_V^h) W_O^h                what head h moves from token j  [D]
  z_ij      = Σ_h α^h_ij f_h(x_j) + [i = j] x_i        token j's part of LayerNorm 1's input  [D]
  y_i       = Σ_j z_ij + b_O                           the real input of LayerNorm 1  [D]
  g_i(z)    = γ₁ ⊙ (z − mean z) / sqrt(var(y_i) + ε₁)  LayerNorm 1's linear part at token i
  ŷ_i       = g_i(y_i) + β₁                            LayerNorm 1's output
  u_i       = ŷ_i + FFN(ŷ_i)                           the real input of LayerNorm 2

The measures, each a row-normalised [N, N] matrix per layer (row i: query, column j: key):

  attention              mean_h α^h_ij
  attention_norm         ‖Σ_h α^h_ij f_h(x_j)‖                       (Kobayashi et al. 2020)
  attention_norm_res     ‖z_ij‖                                      (Kobayashi et al. 2021)
  attention_norm_res_ln  ‖g_i(z_ij)‖                                 (Kobayashi et al. 2021)
  globenc                ‖g'_i(g_i(z_ij))‖, g'_i LayerNorm 2's linear part with var(u_i);
                         the feed-forward block is skipped          (Modarressi et al. 2022)
  alti                   max(0, ‖ŷ_i‖₁ − ‖ŷ_i − g_i(z_ij)‖₁)         (Ferrando et al. 2022)
  value_zeroing          1 − cos(h_i, h_i^(−j)) (models/mixing/value_zeroing.py; Mohebbi et al. 2023)

The output projection's bias b_O and β₁ are not attributed to any token (`ln1_parts`
returns them as the bias term).  Nothing here builds [H, N, N, D]: z is built for a chunk
of query rows at a time, [N, rows, D], within CHUNK_BYTES.

Across layers (`rollout`): attention and attention_norm hold no residual, so they roll out
as Abnar & Zuidema, R_l = renorm(0.5·M_l + 0.5·I) · R_{l−1}; the others hold it already,
R_l = M_l · R_{l−1}.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

import numpy as np
import torch

from models.types import Measure

MEASURES: tuple[Measure, ...] = get_args(Measure)
WITHOUT_RESIDUAL: tuple[Measure, ...] = ("attention", "attention_norm")  # rolled out with 0.5·I
CHUNKED: tuple[Measure, ...] = ("attention_norm", "attention_norm_res", "attention_norm_res_ln", "globenc", "alti")
SINK_EPSILON = 0.3  # Gu et al. 2024: a head is a sink head when one key gets > ε of its mean attention
CHUNK_BYTES = 32 * 2**20  # the most one [rows, N, D] temporary may take


@dataclass(frozen=True, eq=False)
class LayerNormParams:
    """One LayerNorm: weight γ [D], bias β [D], eps."""

    weight: torch.Tensor
    bias: torch.Tensor
    eps: float


@dataclass(frozen=True, eq=False)
class LayerState:
    """What one layer computed in the forward pass, in the compute dtype (N tokens, H heads).

    attention   [H, N, N] α^h, rows sum to 1
    moved       [N, H, D] f_h(x_j): what head h moves from token j (bias b_V included, b_O not)
    inputs      [N, D] x: the layer's input (hidden_states[l])
    out_bias    [D] b_O, the attention output projection's bias
    ln1, ln2    LayerNorm 1 (after attention) and LayerNorm 2 (after the feed-forward block)
    pre_ln1     [N, D] y: LayerNorm 1's input, Σ_j z_ij + b_O
    post_ln1    [N, D] ŷ: LayerNorm 1's output
    pre_ln2     [N, D] u: LayerNorm 2's input, ŷ + FFN(ŷ)
    """

    attention: torch.Tensor
    moved: torch.Tensor
    inputs: torch.Tensor
    out_bias: torch.Tensor
    ln1: LayerNormParams
    ln2: LayerNormParams
    pre_ln1: torch.Tensor
    post_ln1: torch.Tensor
    pre_ln2: torch.Tensor

    @property
    def ln1_scale(self) -> torch.Tensor:
        """[N] sqrt(var(y_i) + ε₁): LayerNorm 1's divisor at each token."""
        return _scale(self.pre_ln1, self.ln1.eps)

    @property
    def ln2_scale(self) -> torch.Tensor:
        """[N] sqrt(var(u_i) + ε₂): LayerNorm 2's divisor at each token."""
        return _scale(self.pre_ln2, self.ln2.eps)


@torch.inference_mode()
def head_moved(values: torch.Tensor, out_weight: torch.Tensor, heads: int) -> torch.Tensor:
    """f_h(x_j) for every token and head → [N, H, D] (key-major, as the products here read it).

    values: [N, H·d] the value projection's output (bias included); out_weight: [D, H·d] the
    attention output projection's weight (y = x Wᵀ), head h's slice is columns h·d:(h+1)·d.
    """
    n, inner = values.shape
    split = values.reshape(n, heads, inner // heads)  # [N, H, d]
    return torch.einsum("jhk,ehk->jhe", split, out_weight.reshape(-1, heads, inner // heads))


@torch.inference_mode()
def layer_state(
    attention: torch.Tensor,
    values: torch.Tensor,
    inputs: torch.Tensor,
    out_weight: torch.Tensor,
    out_bias: torch.Tensor,
    ln1: LayerNormParams,
    ln2: LayerNormParams,
    feed_forward,
) -> LayerState:
    """One layer's state from what its forward pass computed.

    attention [H, N, N]; values [N, H·d]; inputs [N, D]; out_weight [D, H·d]; out_bias [D].
    feed_forward: ŷ [..., D] → FFN(ŷ) [..., D], the layer's own feed-forward block without
    LayerNorm 2 (the residual is added here).
    """
    heads = attention.shape[0]
    moved = head_moved(values, out_weight, heads)
    pre_ln1 = torch.einsum("hij,jhe->ie", attention, moved) + out_bias + inputs
    post_ln1 = torch.nn.functional.layer_norm(pre_ln1, pre_ln1.shape[-1:], ln1.weight, ln1.bias, ln1.eps)
    pre_ln2 = post_ln1 + feed_forward(post_ln1)
    return LayerState(attention, moved, inputs, out_bias, ln1, ln2, pre_ln1, post_ln1, pre_ln2)


def _scale(vectors: torch.Tensor, eps: float) -> torch.Tensor:
    return torch.sqrt(vectors.var(dim=-1, unbiased=False) + eps)


def _centre_(vectors: torch.Tensor) -> torch.Tensor:
    """vectors − their mean over the last dimension, in place."""
    return vectors.sub_(vectors.mean(dim=-1, keepdim=True))


def row_chunks(n: int, width: int, itemsize: int, budget: int = CHUNK_BYTES) -> list[range]:
    """Query rows in chunks whose [N, rows, width] temporary stays within `budget` bytes."""
    rows = max(1, budget // max(1, n * width * itemsize))
    return [range(start, min(start + rows, n)) for start in range(0, n, rows)]


def mixed_parts(state: LayerState, rows: range) -> torch.Tensor:
    """Σ_h α^h_ij f_h(x_j) for the query rows `rows`, key-major → [N keys, rows, D] (no residual).

    One batched product per key j: α[:, rows, j]ᵀ [rows, H] · f(x_j) [H, D].
    """
    weights = state.attention[:, rows.start : rows.stop].permute(2, 1, 0)  # [N keys, rows, H]
    return torch.bmm(weights, state.moved)


def _add_residual_(parts: torch.Tensor, state: LayerState, rows: range) -> torch.Tensor:
    """z_ij: key-major `parts` [N, rows, D] with x_i added at key j = i, in place."""
    positions = torch.arange(rows.start, rows.stop)
    parts[positions, torch.arange(len(rows))] += state.inputs[positions]
    return parts


def _ln1_parts_(z: torch.Tensor, state: LayerState, rows: range) -> torch.Tensor:
    """g_i(z_ij) of key-major z [N, rows, D], in place."""
    scale = state.ln1_scale[rows.start : rows.stop]
    return _centre_(z).mul_(state.ln1.weight).div_(scale[None, :, None])


@torch.inference_mode()
def ln1_parts(state: LayerState, rows: range) -> tuple[torch.Tensor, torch.Tensor]:
    """LayerNorm 1's output split by source token: (g_i(z_ij) [rows, N, D], bias [rows, D]).

    Σ_j parts[i, j] + bias[i] = ŷ_i, the real LayerNorm-1 output; the bias term is
    g_i(b_O) + β₁, attributed to no token.
    """
    parts = _ln1_parts_(_add_residual_(mixed_parts(state, rows), state, rows), state, rows).transpose(0, 1)
    scale = state.ln1_scale[rows.start : rows.stop]
    centred_bias = state.out_bias - state.out_bias.mean()
    bias = centred_bias * state.ln1.weight / scale[:, None] + state.ln1.bias
    return parts, bias


@torch.inference_mode()
def chunked_measures(state: LayerState, measures: Sequence[Measure], budget: int = CHUNK_BYTES) -> dict:
    """The raw (not yet row-normalised) matrices of the CHUNKED measures in `measures`.

    → name → [N, N] tensor, in the state's dtype.  Each chunk of query rows builds its
    key-major parts [N, rows, D] once and turns them in place into z, then g(z), reading
    every wanted measure on the way; ALTI adds one temporary of the same size, so a chunk
    is sized for two of them within `budget`.
    """
    wanted = [name for name in measures if name in CHUNKED]
    n, width = state.inputs.shape
    out = {name: torch.empty((n, n), dtype=state.inputs.dtype) for name in wanted}
    if not wanted:
        return out
    ln2_scale = state.ln2_scale
    for rows in row_chunks(n, width, state.inputs.element_size(), budget // 2):
        block = slice(rows.start, rows.stop)
        parts = mixed_parts(state, rows)  # [N keys, rows, D]
        if "attention_norm" in out:
            out["attention_norm"][block] = torch.linalg.vector_norm(parts, dim=-1).T
        if wanted == ["attention_norm"]:
            continue
        z = _add_residual_(parts, state, rows)
        if "attention_norm_res" in out:
            out["attention_norm_res"][block] = torch.linalg.vector_norm(z, dim=-1).T
        if not {"attention_norm_res_ln", "globenc", "alti"} & out.keys():
            continue
        g = _ln1_parts_(z, state, rows)  # g_i(z_ij)
        if "attention_norm_res_ln" in out:
            out["attention_norm_res_ln"][block] = torch.linalg.vector_norm(g, dim=-1).T
        if "alti" in out:
            target = state.post_ln1[block]  # ŷ_i  [rows, D]
            distance = torch.linalg.vector_norm(target.unsqueeze(0) - g, ord=1, dim=-1).T
            own = torch.linalg.vector_norm(target, ord=1, dim=-1)
            out["alti"][block] = torch.clamp(own[:, None] - distance, min=0)
        if "globenc" in out:  # last: it changes g in place
            carried = _centre_(g).mul_(state.ln2.weight).div_(ln2_scale[None, block, None])
            out["globenc"][block] = torch.linalg.vector_norm(carried, dim=-1).T
    return out


def row_normalised(matrix: np.ndarray) -> np.ndarray:
    """[..., N, N] → each row divided by its sum (rows summing to 0 stay 0)."""
    totals = matrix.sum(axis=-1, keepdims=True)
    out = np.zeros_like(matrix)
    np.divide(matrix, totals, out=out, where=totals > 0)
    return out


def rollout(layers: np.ndarray, residual: bool) -> np.ndarray:
    """[L, N, N] per-layer matrices → [L, N, N] rollout (R_l: what layer l's output traces to).

    residual=False (the matrix holds no residual): R_l = renorm(0.5·M_l + 0.5·I) · R_{l−1}
    (Abnar & Zuidema 2020); residual=True: R_l = M_l · R_{l−1}.  R_0 = I.
    """
    n = layers.shape[-1]
    eye = np.eye(n, dtype=np.float64)
    current = eye
    out = np.empty(layers.shape, dtype=np.float64)
    for index, layer in enumerate(np.asarray(layers, dtype=np.float64)):
        step = layer if residual else row_normalised(0.5 * layer + 0.5 * eye)
        current = step @ current
        out[index] = current
    return out.astype(layers.dtype, copy=False)


def mixing_ratio(layers: np.ndarray) -> np.ndarray:
    """[L, N, N] → [L]: mean over query rows of 1 − M[i, i], the share that comes from other tokens."""
    return 1.0 - np.diagonal(layers, axis1=-2, axis2=-1).mean(axis=-1)


def share_to(layers: np.ndarray, positions: Sequence[int]) -> np.ndarray:
    """[L, N, N] → [L]: mean over query rows of the mass on the keys `positions` together."""
    if not positions:
        return np.zeros(layers.shape[0], dtype=layers.dtype)
    return layers[:, :, list(positions)].sum(axis=-1).mean(axis=-1)


def sink_heads(attention: np.ndarray, epsilon: float = SINK_EPSILON) -> tuple[np.ndarray, np.ndarray]:
    """Gu et al. 2024's sink rate of each layer, and each head's sink key.

    attention [..., H, N, N] (one layer or a stack) → (rate [...]: share of heads whose mean
    attention received by some key is above ε; key [..., H] int: that key, the one receiving
    most, or −1 for a head with none).
    """
    received = attention.mean(axis=-2)  # [L, H, N]: mean over query rows
    top = received.argmax(axis=-1)
    is_sink = received.max(axis=-1) > epsilon
    return is_sink.mean(axis=-1), np.where(is_sink, top, -1)
