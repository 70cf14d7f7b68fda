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
returns them as the bias term).  Nothing here builds [H, N, N, D]: the four norms come from
per-key [H, H] Gram matrices (`gram_norms`), and only ALTI's L1 distance builds parts, for a
chunk of query rows at a time, [N, rows, D], within CHUNK_BYTES.

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

    → name → [N, N] tensor, in the state's dtype.  The four norms come from per-key Gram
    matrices (`gram_norms`, no [N, N, D] at all); ALTI's L1 distance needs the parts
    themselves, built a chunk of query rows at a time (`alti_rows`) within `budget`.
    """
    wanted = [name for name in measures if name in CHUNKED]
    out = gram_norms(state, [name for name in wanted if name != "alti"])
    if "alti" in wanted:
        n, width = state.inputs.shape
        alti = torch.empty((n, n), dtype=state.inputs.dtype)
        for rows in row_chunks(n, width, state.inputs.element_size(), budget):
            alti[rows.start : rows.stop] = alti_rows(state, rows)
        out["alti"] = alti
    return out


def norm_vectors(gamma1: torch.Tensor, gamma2: torch.Tensor) -> dict[str, torch.Tensor]:
    """The weight vectors [D] of the quadratic and linear forms `norm_squares` asks for."""
    width = gamma1.numel()
    ones = torch.ones(width, dtype=gamma1.dtype)
    return {
        "one": ones,
        "mean": ones / width,
        "g1sq": gamma1**2,
        "g1_mean": gamma1 / width,
        "c": gamma1**2 * gamma2**2,
        "g2sq_g1": gamma2**2 * gamma1,
    }


def norm_squares(measures: Sequence[Measure], quadratic, linear, gamma1: torch.Tensor, gamma2: torch.Tensor) -> dict:
    """The squared norms of attention_norm, attention_norm_res, attention_norm_res_ln and
    globenc off the diagonal (where z_ij = a_ij = Σ_h α^h_ij f_h(x_j)), from forms in a_ij,
    before LayerNorm's per-row divisors (attention_norm_res_ln: ÷ s₁ᵢ², globenc: ÷ (s₁ᵢ s₂ᵢ)²).

    quadratic(name) → Σ_d w_d a_ijd², linear(name) → Σ_d w_d a_ijd, for w = norm_vectors()[name],
    over whatever pairs (i, j) the caller holds (a dense [N, N], or one band column [N]).
    """
    out = {}
    wanted = set(measures)
    if {"attention_norm", "attention_norm_res"} & wanted:
        plain = quadratic("one")
        out.update({name: plain for name in ("attention_norm", "attention_norm_res") if name in wanted})
    if not {"attention_norm_res_ln", "globenc"} & wanted:
        return out
    mean = linear("mean")  # m_ij = mean over D of a_ij
    if "attention_norm_res_ln" in wanted:  # ‖γ₁ ⊙ (a − m)‖²
        g2 = gamma1**2
        out["attention_norm_res_ln"] = quadratic("g1sq") - 2 * mean * linear("g1sq") + mean**2 * g2.sum()
    if "globenc" in wanted:  # ‖γ₂ ⊙ (w − μ_w)‖², w = γ₁ ⊙ (a − m)
        c = gamma1**2 * gamma2**2
        mu = linear("g1_mean") - mean * gamma1.mean()  # μ_w, the mean over D of w
        w_squared = quadratic("c") - 2 * mean * linear("c") + mean**2 * c.sum()  # Σ γ₂² w²
        w_linear = linear("g2sq_g1") - mean * (gamma2**2 * gamma1).sum()  # Σ γ₂² w
        out["globenc"] = w_squared - 2 * mu * w_linear + mu**2 * (gamma2**2).sum()
    return out


def diagonal_norms(
    measures: Sequence[Measure],
    diagonal: torch.Tensor,
    inputs: torch.Tensor,
    gamma1: torch.Tensor,
    gamma2: torch.Tensor,
    scale1: torch.Tensor,
    scale2: torch.Tensor,
) -> dict:
    """The four norms at the pairs (i, i), where the residual enters: a_ii [R, D], x_i [R, D],
    the rows' LayerNorm divisors [R] → name → [R]."""
    z = diagonal + inputs  # z_ii = a_ii + x_i
    out = {}
    if "attention_norm" in measures:
        out["attention_norm"] = torch.linalg.vector_norm(diagonal, dim=-1)
    if "attention_norm_res" in measures:
        out["attention_norm_res"] = torch.linalg.vector_norm(z, dim=-1)
    if "attention_norm_res_ln" in measures:
        out["attention_norm_res_ln"] = torch.linalg.vector_norm(gamma1 * _centred(z), dim=-1) / scale1
    if "globenc" in measures:
        carried = gamma2 * _centred(gamma1 * _centred(z))
        out["globenc"] = torch.linalg.vector_norm(carried, dim=-1) / (scale1 * scale2)
    return out


def row_divisors(scale1: torch.Tensor, scale2: torch.Tensor) -> dict:
    """norm_squares' per-row divisors, shaped as `scale1` (broadcast them as the forms are)."""
    return {"attention_norm_res_ln": scale1**2, "globenc": (scale1 * scale2) ** 2}


def _centred(v: torch.Tensor) -> torch.Tensor:
    return v - v.mean(-1, keepdim=True)


@torch.inference_mode()
def gram_norms(state: LayerState, measures: Sequence[Measure]) -> dict:
    """attention_norm, attention_norm_res, attention_norm_res_ln and globenc without building z.

    Off the diagonal z_ij = a_ij = Σ_h α^h_ij f_h(x_j), and each norm is a quadratic form in
    a_ij: for weights w [D], Σ_d w_d a_ijd² = α_ijᵀ G^w_j α_ij with the per-key Gram matrix
    G^w_j[h, h'] = Σ_d w_d f_h(x_j)_d f_h'(x_j)_d [N, H, H]; LayerNorm's centring adds linear
    terms Σ_d v_d a_ijd = α_ijᵀ (F_j v) (`norm_squares`).  Those cost O(N·H²·D + N²·H²), in
    float64 against the cancellation of the centring.  The diagonal (where the residual x_i
    enters) is computed from the [N, D] vectors z_ii themselves.  → name → [N, N], the state's dtype.
    """
    wanted = [name for name in measures if name in CHUNKED and name != "alti"]
    if not wanted:
        return {}
    f64 = torch.float64
    moved, inputs = state.moved.to(f64), state.inputs.to(f64)  # [N, H, D], [N, D]
    n = moved.shape[0]
    weights = state.attention.to(f64).permute(1, 2, 0).contiguous()  # α [N i, N j, H]
    gamma1, gamma2 = state.ln1.weight.to(f64), state.ln2.weight.to(f64)
    scale1, scale2 = state.ln1_scale.to(f64), state.ln2_scale.to(f64)  # [N]
    vectors = norm_vectors(gamma1, gamma2)

    def quadratic(name: str) -> torch.Tensor:  # [N, N] Σ_d w_d a_ijd²
        gram = torch.einsum("jhd,jkd->jhk", moved * vectors[name], moved)  # [N, H, H]
        return (torch.einsum("ijh,jhk->ijk", weights, gram) * weights).sum(-1)

    def linear(name: str) -> torch.Tensor:  # [N, N] Σ_d w_d a_ijd
        return torch.einsum("ijh,jh->ij", weights, moved @ vectors[name])

    squares = norm_squares(wanted, quadratic, linear, gamma1, gamma2)
    diagonal = torch.einsum("hii,ihd->id", state.attention.to(f64), moved)  # a_ii [N, D]
    on_diagonal = diagonal_norms(wanted, diagonal, inputs, gamma1, gamma2, scale1, scale2)
    divisors = row_divisors(scale1[:, None], scale2[:, None])
    index = torch.arange(n)
    out = {}
    for name in wanted:
        squared = squares[name] / divisors[name] if name in divisors else squares[name]
        matrix = torch.sqrt(torch.clamp(squared, min=0))
        matrix[index, index] = on_diagonal[name]
        out[name] = matrix.to(state.inputs.dtype)
    return out


@torch.inference_mode()
def alti_rows(state: LayerState, rows: range) -> torch.Tensor:
    """ALTI for the query rows `rows` → [rows, N]: max(0, ‖ŷ_i‖₁ − ‖ŷ_i − g_i(z_ij)‖₁).

    LayerNorm 1's centring and γ₁ are linear, so they are applied to f_h(x_j) once
    ([N, H, D]) and one batched product gives s₁ᵢ·g_i(a_ij) for the chunk; the distance is
    taken against s₁ᵢ·ŷ_i and divided back.
    """
    gamma = state.ln1.weight
    prepared = (state.moved - state.moved.mean(-1, keepdim=True)) * gamma  # [N, H, D]
    weights = state.attention[:, rows.start : rows.stop].permute(2, 1, 0).contiguous()  # [N keys, rows, H]
    parts = torch.bmm(weights, prepared)  # [N keys, rows, D]: s₁ᵢ·g_i(a_ij); contiguous: 2× faster
    positions = torch.arange(rows.start, rows.stop)
    own_inputs = state.inputs[positions]
    parts[positions, torch.arange(len(rows))] += (own_inputs - own_inputs.mean(-1, keepdim=True)) * gamma
    scale = state.ln1_scale[rows.start : rows.stop]  # [rows]
    target = state.post_ln1[rows.start : rows.stop]  # ŷ_i [rows, D]
    distance = torch.linalg.vector_norm(parts.sub_((target * scale[:, None]).unsqueeze(0)), ord=1, dim=-1).T
    own = torch.linalg.vector_norm(target, ord=1, dim=-1)
    return torch.clamp(own[:, None] - distance / scale[:, None], min=0)


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
    return sinks_of(attention.mean(axis=-2), epsilon)  # [..., H, N]: mean over query rows


def sinks_of(received: np.ndarray, epsilon: float = SINK_EPSILON) -> tuple[np.ndarray, np.ndarray]:
    """`sink_heads` from the mean attention each key receives, [..., H, N]."""
    top = received.argmax(axis=-1)
    is_sink = received.max(axis=-1) > epsilon
    return is_sink.mean(axis=-1), np.where(is_sink, top, -1)
