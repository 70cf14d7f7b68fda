"""Value zeroing (Mohebbi et al. 2023): how much token i's layer output changes when token j's
value vector is set to 0 in every head of that layer.

  VZ_ij = 1 − cos(h_i, h_i^(−j))       h: the layer's output [D]; h^(−j): the rerun without v_j

Only what changes is rerun.  Zeroing v_j leaves the attention weights alone and removes
Σ_h α^h_ij f_h(x_j) from LayerNorm 1's input, so the rerun of a batch of keys J is

  y^(−j)_i = y_i − Σ_h α^h_ij f_h(x_j)      [J, N, D], then the layer's own LayerNorm 1,
                                            feed-forward block and LayerNorm 2 on the batch

(queries, keys and softmax are not recomputed).  The keys go in chunks whose feed-forward
temporary [J, N, width] stays within CHUNK_BYTES.

1 − cos is computed as ½‖â − b̂‖² of the unit vectors: `1 − cosine_similarity` in float32
rounds a change of 1e-8 to 0 or to 1.2e-7, and the rows that barely move (minilm's [CLS])
become rounding noise after row normalisation.  A row is row-normalised only where its
total change is above the dtype's noise floor (`noise_floor`); the other rows are set to 0
and reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from models.mixing.measures import CHUNK_BYTES, LayerState

NOISE_MARGIN = 100.0  # a row's total change must exceed this many times the rounding floor


@dataclass(frozen=True, eq=False)
class ValueZeroing:
    """One layer's value zeroing.

    matrix        [N, N] row-normalised VZ (rows in `unnormalised` are 0)
    raw           [N, N] 1 − cos(h_i, h_i^(−j)) before normalisation
    unnormalised  query rows whose total change was not above `noise_floor` (ascending)
    """

    matrix: np.ndarray
    raw: np.ndarray
    unnormalised: tuple[int, ...]

    def __post_init__(self):
        for array in (self.matrix, self.raw):
            array.setflags(write=False)


def one_minus_cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """1 − cos(a, b) over the last dimension, as ½‖â − b̂‖² of the unit vectors → [...].

    Stable where a and b are nearly parallel, unlike 1 − a·b / (‖a‖‖b‖).
    """
    unit_a = a / torch.linalg.vector_norm(a, dim=-1, keepdim=True).clamp_min(torch.finfo(a.dtype).tiny)
    unit_b = b / torch.linalg.vector_norm(b, dim=-1, keepdim=True).clamp_min(torch.finfo(b.dtype).tiny)
    return 0.5 * torch.linalg.vector_norm(unit_a - unit_b, dim=-1).square()


def noise_floor(n: int, width: int, dtype: torch.dtype) -> float:
    """The smallest row total of 1 − cos that is measurably above rounding: NOISE_MARGIN times
    N entries of ½·D·ε², the 1 − cos of two unit vectors that differ by rounding alone."""
    eps = torch.finfo(dtype).eps
    return NOISE_MARGIN * n * 0.5 * width * eps**2


@torch.inference_mode()
def zeroed_pre_ln1(state: LayerState, keys: range) -> torch.Tensor:
    """LayerNorm 1's input with each key's value vector zeroed → [keys, N, D] (batch item k: key keys[k])."""
    block = slice(keys.start, keys.stop)
    removed = torch.bmm(state.attention[:, :, block].permute(2, 1, 0), state.moved[block])  # [keys, N, D]
    return state.pre_ln1.unsqueeze(0) - removed


@torch.inference_mode()
def zeroed_outputs(state: LayerState, finish: Callable[[torch.Tensor], torch.Tensor], keys: range) -> torch.Tensor:
    """The layer's output h^(−j) for every key j in `keys` → [keys, N, D].

    finish: LayerNorm 1's input [..., N, D] → the layer's output [..., N, D], through the
    layer's own LayerNorm 1, feed-forward block and LayerNorm 2.
    """
    return finish(zeroed_pre_ln1(state, keys))


@torch.inference_mode()
def value_zeroing(
    state: LayerState,
    finish: Callable[[torch.Tensor], torch.Tensor],
    width: int,
    budget: int = CHUNK_BYTES,
) -> ValueZeroing:
    """VZ of one layer, the keys batched in chunks.

    width: the feed-forward block's inner size (its [keys, N, width] temporary sets the chunk).
    """
    n, hidden = state.inputs.shape
    baseline = finish(state.pre_ln1)  # [N, D] through the same route as the reruns
    raw = torch.empty((n, n), dtype=state.inputs.dtype)
    step = max(1, budget // max(1, n * max(width, hidden) * state.inputs.element_size()))
    for start in range(0, n, step):
        keys = range(start, min(start + step, n))
        changed = zeroed_outputs(state, finish, keys)  # [keys, N, D]
        raw[:, keys.start : keys.stop] = one_minus_cos(baseline.unsqueeze(0), changed).T
    raw_np = raw.numpy()
    totals = raw_np.sum(axis=-1)
    measurable = totals > noise_floor(n, hidden, state.inputs.dtype)
    matrix = np.zeros_like(raw_np)
    matrix[measurable] = raw_np[measurable] / totals[measurable, None]
    return ValueZeroing(matrix, raw_np, tuple(int(i) for i in np.nonzero(~measurable)[0]))
