"""Context mixing on Longformer inputs, kept banded: O(N·(w + x)·H·D) per layer, never [N, N].

A Longformer layer (window w, x global tokens; models.extract.banded's layout) mixes tokens two ways:

  a local query i   reads the keys i − w/2 … i + w/2 and the x global tokens, through `value`;
  a global query g  reads every key, through `value_global`.

Every pair (i, j) a query reads is a column of its row here, so the definitions of
models/mixing/measures.py apply pair by pair, with the same f_h(x_j) (`value_global`'s for the
rows of global queries).  Each query's parts Σ_h α^h_ij f_h(x_j) are built for a chunk of rows
at a time, [rows, x + w + 1, D] within CHUNK_BYTES; the same parts give LayerNorm 1's input
y_i = Σ_j parts_ij + x_i + b_O of those rows, so one pass gives measures 1–6 and, where it
runs, value zeroing (y_i − parts_ij through the layer's own LayerNorm 1, feed-forward block
and LayerNorm 2).

Each measure's matrix of one layer is a BandedMatrix: a row-normalised band in the column
layout of models.extract.banded plus the global tokens' full rows, in the model's dtype.
Rollout keeps only the rows of chosen queries (the global tokens): a row of R_l is e_iᵀ M_l …
M_1, L band products per layer, instead of [N, N] per layer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from models.mixing import measures as M
from models.mixing.readings import MixingReadings
from models.mixing.value_zeroing import noise_floor, one_minus_cos
from models.types import Measure

BANDED_MEASURES: tuple[Measure, ...] = tuple(name for name in M.MEASURES if name != "value_zeroing")
ZEROING_LIMIT = 512  # value zeroing on a banded input: one feed-forward pass per (query, key) pair


@dataclass(frozen=True, eq=False)
class BandedMatrix:
    """One layer's [N, N] matrix of a measure, in banded form (read-only arrays, rows sum to 1
    or are all 0).

    band         [N, x + w + 1]  columns [:x]: the weight on the k-th global token; column
                                 x + c: on the key i − w/2 + c (0 outside 0..N−1 and at
                                 global keys; the rows of global queries are all 0)
    global_rows  [x, N]          row k: the k-th global token's full row
    global_positions             ascending
    """

    band: np.ndarray
    global_rows: np.ndarray
    global_positions: tuple[int, ...]

    def __post_init__(self):
        for array in (self.band, self.global_rows):
            array.setflags(write=False)

    @property
    def n(self) -> int:
        return self.band.shape[0]

    @property
    def half(self) -> int:
        return (self.band.shape[1] - len(self.global_positions) - 1) // 2

    def keys(self) -> np.ndarray:
        """[N, x + w + 1] the key of every band column (may fall outside 0..N−1)."""
        return band_keys(self.n, self.half, self.global_positions)

    def dense(self) -> np.ndarray:
        """The full [N, N] matrix.  For tests and short inputs only."""
        out = np.zeros((self.n, self.n), dtype=self.band.dtype)
        keys = self.keys()
        ok = inside(keys, self.n)
        rows = np.nonzero(ok)[0]
        np.add.at(out, (rows, keys[ok]), self.band[ok])
        out[list(self.global_positions)] = self.global_rows
        return out

    def diagonal(self) -> np.ndarray:
        """[N] M[i, i]."""
        out = self.band[:, len(self.global_positions) + self.half].copy()
        for k, position in enumerate(self.global_positions):
            out[position] = self.global_rows[k, position]
        return out

    def mass_on(self, positions: Sequence[int]) -> np.ndarray:
        """[N] Σ_{j ∈ positions} M[i, j] for every query i."""
        out = np.zeros(self.n, dtype=np.float64)
        wanted = np.zeros(self.n, dtype=bool)
        wanted[list(positions)] = True
        keys = self.keys()
        ok = inside(keys, self.n)
        ok[ok] &= wanted[keys[ok]]
        out += np.where(ok, self.band, 0).sum(axis=1)
        if len(positions):
            out[list(self.global_positions)] = self.global_rows[:, wanted].sum(axis=1)
        return out.astype(self.band.dtype)

    def left_multiply(self, vectors: np.ndarray) -> np.ndarray:
        """[R, N] vectors v → v · M [R, N] (float64)."""
        vectors = np.asarray(vectors, dtype=np.float64)
        out = np.zeros(vectors.shape, dtype=np.float64)
        keys = self.keys()
        ok = inside(keys, self.n)
        rows, columns = np.nonzero(ok)
        weights = self.band[rows, columns].astype(np.float64)
        for r in range(vectors.shape[0]):
            out[r] += np.bincount(keys[rows, columns], weights=vectors[r, rows] * weights, minlength=self.n)
        if self.global_positions:
            out += vectors[:, list(self.global_positions)] @ self.global_rows.astype(np.float64)
        return out


@dataclass(frozen=True, eq=False)
class BandedMixing(MixingReadings):
    """The context-mixing measures of one Longformer input (L layers, N tokens), banded.

    As models.mixing.run.ContextMixing, except:
    layers           measure → L BandedMatrix (rows sum to 1; value zeroing: except `unnormalised`)
    rollout          measure → [L, R, N]: the rows of `rollout_queries` (the global tokens and
                     the cls token) of each layer's rollout
    global_positions the global tokens; windows: each layer's full window w
    """

    global_positions: tuple[int, ...]
    windows: tuple[int, ...]
    rollout_queries: tuple[int, ...]
    unnormalised: tuple[tuple[int, int], ...] = ()
    truncated: bool = False
    notices: tuple[str, ...] = ()
    form = "banded"


def band_keys(n: int, half: int, global_positions: Sequence[int]) -> np.ndarray:
    """[N, x + w + 1] key position of every column: the global tokens, then i − w/2 … i + w/2."""
    x = len(global_positions)
    keys = np.empty((n, x + 2 * half + 1), dtype=np.int64)
    keys[:, :x] = np.asarray(global_positions, dtype=np.int64)[None, :]
    keys[:, x:] = np.arange(n)[:, None] + np.arange(-half, half + 1)[None, :]
    return keys


def inside(keys: np.ndarray, n: int) -> np.ndarray:
    return (keys >= 0) & (keys < n)


@dataclass(frozen=True, eq=False)
class BandedState:
    """What one Longformer layer computed in the forward pass, in the compute dtype.

    band          [H, N, x + w + 1] α^h of local queries (models.extract.banded's layout)
    global_rows   [H, N, x]         α^h of the k-th global query over every key
    values        [N, H·d]          the value projection's output (bias included)
    out_weight    [D, H·d]          the attention output projection's weight
    moved         [N, H, D]         f_h(x_j) through `value` (local queries read these)
    moved_global  [N, H, D]         f_h(x_j) through `value_global` (global queries), or None
    inputs        [N, D]            the layer's input
    finish        LayerNorm 1's input [..., D] → the layer's output (LayerNorm 1, FFN, LayerNorm 2)
    feed_forward  LayerNorm 1's output [..., D] → FFN of it, without LayerNorm 2
    """

    band: torch.Tensor
    global_rows: torch.Tensor | None
    global_positions: tuple[int, ...]
    values: torch.Tensor
    out_weight: torch.Tensor
    moved: torch.Tensor
    moved_global: torch.Tensor | None
    inputs: torch.Tensor
    out_bias: torch.Tensor
    ln1: M.LayerNormParams
    ln2: M.LayerNormParams
    finish: Callable[[torch.Tensor], torch.Tensor]
    feed_forward: Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True, eq=False)
class BandedLayerResult:
    """One layer: each measure's BandedMatrix, and value zeroing's unmeasurable rows."""

    matrices: dict[str, BandedMatrix]
    unnormalised: tuple[int, ...]


@torch.inference_mode()
def banded_layer(
    state: BandedState, measures: Sequence[Measure], width: int, budget: int = M.CHUNK_BYTES
) -> BandedLayerResult:
    """Every measure in `measures` (any of MEASURES) of one layer, banded.

    The local queries go one band column at a time (`_Columns`: all N rows of a column are
    one shift of the per-key tables, no gather); the global queries' full rows go through
    `_rows`.  width: the feed-forward block's inner size (value zeroing's temporaries).
    """
    _heads, n, columns = state.band.shape
    x = len(state.global_positions)
    half = (columns - x - 1) // 2
    keys_all = torch.from_numpy(band_keys(n, half, state.global_positions))
    valid = torch.from_numpy(inside(keys_all.numpy(), n))
    is_global = torch.zeros(n, dtype=torch.bool)
    is_global[list(state.global_positions)] = True
    valid[:, x:] &= ~is_global[keys_all[:, x:].clamp(0, n - 1)]  # a global key is read in its own column
    valid[is_global] = False  # global queries are the rows of global_rows
    wanted = [name for name in measures if name != "attention"]
    band_raw = {name: torch.zeros((n, columns), dtype=state.inputs.dtype) for name in wanted}
    if wanted:
        weights = (state.band.permute(1, 2, 0) * valid[:, :, None]).contiguous()  # α [N, K, H]
        _Columns(state, weights, half, width, budget).fill(wanted, band_raw)
    global_raw = {name: torch.zeros((x, n), dtype=state.inputs.dtype) for name in wanted}
    if x and wanted:
        rows = torch.tensor(state.global_positions)
        keys = torch.arange(n).expand(x, n)
        moved = state.moved_global if state.moved_global is not None else state.moved
        global_raw = _rows(state, rows, keys, state.global_rows.permute(2, 1, 0), moved, rows, wanted)
    matrices, unnormalised = {}, ()
    for name in wanted:
        band_raw[name][~valid] = 0
        band, rows_of_globals = band_raw[name].numpy(), global_raw[name].numpy()
        if name == "value_zeroing":
            band, rows_of_globals, unnormalised = _zeroing_normalised(band, rows_of_globals, state)
        else:
            band, rows_of_globals = _normalised(band, rows_of_globals)
        matrices[name] = BandedMatrix(band, rows_of_globals, state.global_positions)
    if "attention" in measures:
        mean_band = state.band.mean(dim=0).numpy().copy()
        mean_band[~valid.numpy()] = 0
        mean_rows = state.global_rows.mean(dim=0).T.numpy().copy() if x else np.zeros((0, n), dtype=mean_band.dtype)
        matrices["attention"] = BandedMatrix(mean_band, mean_rows, state.global_positions)
    return BandedLayerResult({name: matrices[name] for name in measures}, unnormalised)


class _Columns:
    """The local queries' raw measures, one band column c at a time, for all N rows at once.

    Column c's key for row i is a fixed global token (c < x) or i − w/2 + (c − x), so every
    per-key table T [N, ...] (f_h(x_j), the Gram matrices and linear forms of
    models.mixing.measures.norm_squares, LayerNorm-1-prepared parts for ALTI) is read for a
    column as one slice of T padded by w/2 zeros on each side.  LayerNorm 1's input of every
    row comes first, from the value vectors (d wide, not D): y_i = W_O Σ_j α_ij v_j + b_O + x_i.
    """

    def __init__(self, state: BandedState, weights: torch.Tensor, half: int, width: int, budget: int):
        self.state, self.weights, self.half, self.width, self.budget = state, weights, half, width, budget
        self.n, self.x = state.inputs.shape[0], len(state.global_positions)
        self.own = self.x + half  # the column of key i = i
        self._padded: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        values = state.values.reshape(self.n, state.moved.shape[1], -1)  # [N, H, d]
        context = torch.zeros_like(values)
        for c in range(weights.shape[1]):
            context.addcmul_(weights[:, c, :, None], self.shifted(values, c))
        self.pre_ln1 = context.reshape(self.n, -1) @ state.out_weight.T + state.out_bias + state.inputs  # y [N, D]
        ln1 = state.ln1
        self.scale1 = M._scale(self.pre_ln1, ln1.eps)
        self.post_ln1 = torch.nn.functional.layer_norm(
            self.pre_ln1, self.pre_ln1.shape[-1:], ln1.weight, ln1.bias, ln1.eps
        )
        self.scale2 = M._scale(self.post_ln1 + state.feed_forward(self.post_ln1), state.ln2.eps)

    def shifted(self, table: torch.Tensor, c: int) -> torch.Tensor:
        """table [N, ...] read at column c's key of every row → [N, ...] (zeros outside the
        input): a slice of the table padded once by w/2 zero rows on each side (a view)."""
        if c < self.x:
            return table[self.state.global_positions[c]].expand(self.n, *table.shape[1:])
        padded = self._padded.get(id(table))
        if padded is None or padded[0] is not table:
            rows = torch.zeros((self.half, *table.shape[1:]), dtype=table.dtype)
            padded = self._padded[id(table)] = (table, torch.cat([rows, table, rows]))
        start = c - self.x  # key = i − w/2 + start
        return padded[1][start : start + self.n]

    def fill(self, measures: Sequence[Measure], out: dict[str, torch.Tensor]) -> None:
        norms = [name for name in measures if name in M.CHUNKED and name != "alti"]
        if norms:
            self._norms(norms, out)
        if "alti" in measures:
            self._alti(out["alti"])
        if "value_zeroing" in measures:
            self._zeroing(out["value_zeroing"])

    def _norms(self, measures: Sequence[Measure], out: dict[str, torch.Tensor]) -> None:
        f64 = torch.float64
        state = self.state
        moved = state.moved.to(f64)
        gamma1, gamma2 = state.ln1.weight.to(f64), state.ln2.weight.to(f64)
        vectors = M.norm_vectors(gamma1, gamma2)
        grams: dict[str, torch.Tensor] = {}
        linears: dict[str, torch.Tensor] = {}
        scale1, scale2 = self.scale1.to(f64), self.scale2.to(f64)
        divisors = M.row_divisors(scale1, scale2)
        for c in range(self.weights.shape[1]):
            alpha = self.weights[:, c].to(f64)  # [N, H]

            def quadratic(name: str, c=c, alpha=alpha) -> torch.Tensor:
                if name not in grams:
                    grams[name] = torch.einsum("jhd,jkd->jhk", moved * vectors[name], moved)  # [N, H, H]
                return torch.einsum("ih,ihk,ik->i", alpha, self.shifted(grams[name], c), alpha)

            def linear(name: str, c=c, alpha=alpha) -> torch.Tensor:
                if name not in linears:
                    linears[name] = moved @ vectors[name]  # [N, H]
                return (alpha * self.shifted(linears[name], c)).sum(-1)

            for name, squared in M.norm_squares(measures, quadratic, linear, gamma1, gamma2).items():
                if name in divisors:
                    squared = squared / divisors[name]
                out[name][:, c] = torch.sqrt(torch.clamp(squared, min=0)).to(out[name].dtype)
        diagonal = torch.einsum("ih,ihd->id", self.weights[:, self.own].to(f64), moved)  # a_ii [N, D]
        own = M.diagonal_norms(measures, diagonal, state.inputs.to(f64), gamma1, gamma2, scale1, scale2)
        for name, values in own.items():
            out[name][:, self.own] = values.to(out[name].dtype)

    def _alti(self, out: torch.Tensor) -> None:
        """max(0, ‖ŷ_i‖₁ − ‖ŷ_i − g_i(z_ij)‖₁), with s₁ᵢ·g_i(a_ij) = Σ_h α^h_ij γ₁ ⊙ centre(f_h(x_j))."""
        state = self.state
        gamma = state.ln1.weight
        prepared = (state.moved - state.moved.mean(-1, keepdim=True)) * gamma  # [N, H, D]
        own_inputs = (state.inputs - state.inputs.mean(-1, keepdim=True)) * gamma
        target = self.post_ln1 * self.scale1[:, None]  # s₁ᵢ·ŷ_i
        own_l1 = torch.linalg.vector_norm(self.post_ln1, ord=1, dim=-1)
        for c in range(self.weights.shape[1]):
            parts = torch.bmm(self.weights[:, c, None, :], self.shifted(prepared, c)).squeeze(1)  # [N, D]
            if c == self.own:
                parts = parts + own_inputs
            distance = torch.linalg.vector_norm(target - parts, ord=1, dim=-1) / self.scale1
            out[:, c] = torch.clamp(own_l1 - distance, min=0)

    def _zeroing(self, out: torch.Tensor) -> None:
        """1 − cos(h_i, h_i^(−j)), h^(−j) from y_i − a_ij through the layer's own blocks, the
        columns batched within the budget."""
        state = self.state
        baseline = state.finish(self.pre_ln1)  # [N, D]
        hidden = state.inputs.shape[1]
        step = max(1, self.budget // max(1, self.n * max(self.width, hidden) * state.inputs.element_size()))
        columns = self.weights.shape[1]
        for start in range(0, columns, step):
            batch = range(start, min(start + step, columns))
            parts = torch.stack(
                [torch.bmm(self.weights[:, c, None, :], self.shifted(state.moved, c)).squeeze(1) for c in batch]
            )
            changed = state.finish(self.pre_ln1.unsqueeze(0) - parts)  # [columns, N, D]
            out[:, batch.start : batch.stop] = one_minus_cos(baseline.unsqueeze(0), changed).T


@torch.inference_mode()
def _rows(
    state: BandedState,
    rows: torch.Tensor,
    keys: torch.Tensor,
    weights: torch.Tensor,
    moved: torch.Tensor,
    own_column,
    measures: Sequence[str],
) -> dict[str, torch.Tensor]:
    """The raw measures of the query `rows` [R] over their key columns `keys` [R, K] (weights
    α [R, K, H], 0 where a column is not read) → name → [R, K].

    own_column: the column of each row's own key (an int, or a tensor [R]), where the
    residual x_i enters.
    """
    heads = moved.shape[1]
    parts = torch.zeros((*keys.shape, moved.shape[2]), dtype=moved.dtype)  # [R, K, D]
    for h in range(heads):
        parts.addcmul_(weights[:, :, h, None], moved[:, h][keys])
    positions = torch.arange(len(rows))
    own = torch.as_tensor(own_column).expand(len(rows))
    inputs = state.inputs[rows]
    pre_ln1 = parts.sum(dim=1) + inputs + state.out_bias  # y_i [R, D]
    scale1 = M._scale(pre_ln1, state.ln1.eps)  # [R]
    post_ln1 = torch.nn.functional.layer_norm(
        pre_ln1, pre_ln1.shape[-1:], state.ln1.weight, state.ln1.bias, state.ln1.eps
    )
    out = {}
    if "attention_norm" in measures:
        out["attention_norm"] = torch.linalg.vector_norm(parts, dim=-1)
    if "value_zeroing" in measures:
        baseline = state.finish(pre_ln1)  # [R, D]
        changed = state.finish(pre_ln1[:, None, :] - parts)  # [R, K, D]
        out["value_zeroing"] = one_minus_cos(baseline[:, None, :], changed)
    z = parts
    z[positions, own] += inputs  # z_ij, in place: parts are not needed after this
    if "attention_norm_res" in measures:
        out["attention_norm_res"] = torch.linalg.vector_norm(z, dim=-1)
    if {"attention_norm_res_ln", "globenc", "alti"} & set(measures):
        g = M._centre_(z).mul_(state.ln1.weight).div_(scale1[:, None, None])  # g_i(z_ij), in place
        if "attention_norm_res_ln" in measures:
            out["attention_norm_res_ln"] = torch.linalg.vector_norm(g, dim=-1)
        if "globenc" in measures:
            pre_ln2 = post_ln1 + state.feed_forward(post_ln1)
            scale2 = M._scale(pre_ln2, state.ln2.eps)
            carried = (g - g.mean(dim=-1, keepdim=True)) * state.ln2.weight / scale2[:, None, None]
            out["globenc"] = torch.linalg.vector_norm(carried, dim=-1)
        if "alti" in measures:
            distance = torch.linalg.vector_norm(post_ln1[:, None, :] - g, ord=1, dim=-1)
            own_l1 = torch.linalg.vector_norm(post_ln1, ord=1, dim=-1)
            out["alti"] = torch.clamp(own_l1[:, None] - distance, min=0)
    return out


def _normalised(band: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    totals = band.sum(axis=1, keepdims=True)
    out_band = np.zeros_like(band)
    np.divide(band, totals, out=out_band, where=totals > 0)
    row_totals = rows.sum(axis=1, keepdims=True)
    out_rows = np.zeros_like(rows)
    np.divide(rows, row_totals, out=out_rows, where=row_totals > 0)
    return out_band, out_rows


def _zeroing_normalised(band: np.ndarray, rows: np.ndarray, state: BandedState):
    """Value zeroing's rows normalised only where their total change is measurable
    (models/mixing/value_zeroing.py) → (band, global rows, the unmeasurable rows)."""
    n, hidden = state.inputs.shape
    floor = noise_floor(n, hidden, state.inputs.dtype)
    totals = band.sum(axis=1)
    for k, position in enumerate(state.global_positions):
        totals[position] = rows[k].sum()
    measurable = totals > floor
    out_band = np.zeros_like(band)
    out_band[measurable] = band[measurable] / totals[measurable, None]
    out_rows = np.zeros_like(rows)
    for k, position in enumerate(state.global_positions):
        if measurable[position]:
            out_rows[k] = rows[k] / totals[position]
    return out_band, out_rows, tuple(int(i) for i in np.nonzero(~measurable)[0])


def received(state: BandedState) -> np.ndarray:
    """[H, N] mean over query rows of the attention each key receives (for the sink rate)."""
    heads, n, columns = state.band.shape
    x = len(state.global_positions)
    keys = band_keys(n, (columns - x - 1) // 2, state.global_positions)
    ok = inside(keys, n)
    ok[list(state.global_positions)] = False  # global queries: their rows are global_rows
    rows, cols = np.nonzero(ok)
    band = state.band.numpy().astype(np.float64)
    out = np.stack([np.bincount(keys[rows, cols], weights=band[h, rows, cols], minlength=n) for h in range(heads)])
    if x:
        out += state.global_rows.numpy().astype(np.float64).sum(axis=2)
    return out / n


def rollout_rows(layers: Sequence[BandedMatrix], queries: Sequence[int], residual: bool) -> np.ndarray:
    """[L, R, N] row q of R_l for each query q and layer l (models.mixing.measures.rollout's rule).

    Row q of R_l = e_qᵀ S_l S_{l−1} … S_1, with S = M (residual) or renorm(0.5·M + 0.5·I).
    """
    n = layers[0].n if layers else 0
    out = np.empty((len(layers), len(queries), n), dtype=np.float64)
    start = np.zeros((len(queries), n))
    start[np.arange(len(queries)), list(queries)] = 1
    steps = [(layer, None if residual else 0.5 * layer.mass_on(range(n)).astype(np.float64) + 0.5) for layer in layers]
    for top in range(len(layers)):
        current = start
        for layer, totals in reversed(steps[: top + 1]):
            if totals is None:
                current = layer.left_multiply(current)
            else:
                scaled = current / totals[None, :]
                current = 0.5 * layer.left_multiply(scaled) + 0.5 * scaled
        out[top] = current
    return out
