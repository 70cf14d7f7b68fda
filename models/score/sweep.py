"""One sweep over every attention weight: the per-row numbers that need the whole row.

Most scores read a few columns, diagonals or one row (models/score/scores.py).  The entropy
(weight view) and everything the norm view needs per row read every weight, so they are
computed together here, head by head while the head's [N, N] block sits in cache:

  entropy       H(A[i, :]) = −Σ_j α_ij ln α_ij                                   (nats)
  norm_totals   Z_i = Σ_j α_ij ‖f(x_j)‖                      the norm view's row normaliser
  norm_entropy  H(T̃[i, :]) = ln Z_i − (Σ_j α_ij v_j ln α_ij + Σ_j α_ij v_j ln v_j) / Z_i

(v_j = ‖f(x_j)‖; the last line is −Σ t̃ ln t̃ with t̃_ij = α_ij v_j / Z_i, expanded so that
one logarithm of A serves both views.)  On request it also sums the head means used by
attention rollout (models/score/rollout.py): mean_h A and mean_h T̃, [N, N] per layer (dense only).

Heads are split over a small thread pool: numpy releases the GIL in its loops.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import get_args

import numpy as np

from models.extract.banded import LOG_FLOOR, BandedLayer, Layer, entries
from models.frozen import read_only
from models.types import View

VIEWS: tuple[View, ...] = get_args(View)
TINY = np.float32(LOG_FLOOR)  # added before log2: 0 · log 0 is 0, weights above 1e-23 stay exact
LN2 = math.log(2.0)
WORKERS = max(1, min(4, os.cpu_count() or 1))  # threads that share a layer's heads, at most (see workers)
CHUNK_VALUES = 1 << 18  # weights per block of heads (1 MiB of float32): stays in a core's cache
PARALLEL_VALUES = 1 << 20  # layers with fewer weights than this run on the calling thread
_WORKERS: ContextVar[int] = ContextVar("sweep_workers", default=WORKERS)  # per caller, never global
_POOL_LOCK = threading.Lock()
_POOL: list[ThreadPoolExecutor] = []  # made on first use, never shut down: sessions share it safely


@dataclass(frozen=True, eq=False)
class RowStats:
    """Per layer, head and query row (L layers, H heads, N tokens), read-only.

    entropy        [L, H, N] float64  H(A[i, :]) in nats
    norm_totals    [L, H, N] float64  Σ_j α_ij ‖f_h(x_j)‖ (global rows use `value_global`)
    norm_entropy   [L, H, N] float64  H(T̃[i, :]) in nats
    head_means     view → [L, N, N] float32: mean_h A ("weight") or mean_h T̃ ("norm");
                   only the views asked for, and only for dense layers
    entries        [L, H, G] float32: A[:, queries[g], keys[g]] for the `pairs` asked for
                   (as models.extract.banded.entries), taken while each head is in cache; or None
    """

    entropy: np.ndarray
    norm_totals: np.ndarray
    norm_entropy: np.ndarray
    head_means: dict[View, np.ndarray]
    entries: np.ndarray | None = None


def sweep(
    layers: Sequence[Layer],
    norms: np.ndarray,
    global_norms: np.ndarray | None = None,
    global_positions: Sequence[int] = (),
    means: Sequence[View] = (),
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
) -> RowStats:
    """RowStats of every layer.

    layers: L × [H, N, N] or BandedLayer; norms [L, H, N] value norms; global_norms
    [L, H, N] (Longformer global rows) or None; global_positions: the global tokens of a
    dense Longformer layer (banded layers carry their own); means: which head means to sum;
    pairs: (queries [G], keys [G]) whose weights to gather (`RowStats.entries`).
    """
    n_layers, heads, n = len(layers), layers[0].shape[0], layers[0].shape[-1]
    plogp, pvlogp, totals, vlogv_sums = (np.zeros((n_layers, heads, n), dtype=np.float32) for _ in range(4))
    dense = not isinstance(layers[0], BandedLayer)
    head_means = {view: np.zeros((n_layers, n, n), dtype=np.float32) for view in means} if dense else {}
    parts = [part for part in np.array_split(np.arange(heads), _WORKERS.get()) if part.size]
    gathered = np.empty((n_layers, heads, pairs[0].size), dtype=np.float32) if pairs is not None else None
    entropy_weights = np.stack([np.ones_like(norms), norms], axis=-1)  # [L, H, N, 2]: Σ p log p, Σ p v log p
    total_weights = np.stack([norms, _xlogx_weights(norms)], axis=-1)  # [L, H, N, 2]: Σ p v, Σ p v ln v
    flat = pairs[0] * n + pairs[1] if pairs is not None else None  # positions in a head's [N, N]
    for index, layer in enumerate(layers):
        v = norms[index]
        gv = global_norms[index] if global_norms is not None else None
        out = (plogp[index], pvlogp[index], totals[index], vlogv_sums[index])
        mean_out = {view: head_means[view][index] for view in head_means}
        picks = None
        if pairs is not None and dense and layer.flags.c_contiguous:
            picks = (flat, gathered[index])  # taken head by head, while in cache
        elif pairs is not None:
            gathered[index] = entries(layer, *pairs)
        if dense:
            weights = (entropy_weights[index], total_weights[index])
            work = partial(_dense_heads, layer, weights, gv, tuple(global_positions), out, picks)
        else:
            work = partial(_banded_heads, layer, v, gv, out)
        _split(work, parts, mean_out, parallel=heads * n * n >= PARALLEL_VALUES)
    entropy = -LN2 * plogp.astype(np.float64)
    z = totals.astype(np.float64)
    safe = np.where(z > 0, z, 1.0)
    norm_entropy = np.where(z > 0, np.log(safe) - (LN2 * pvlogp.astype(np.float64) + vlogv_sums) / safe, 0.0)
    for mean in head_means.values():
        mean /= heads
    return RowStats(
        read_only(entropy),
        read_only(z),
        read_only(norm_entropy),
        {k: read_only(m) for k, m in head_means.items()},
        read_only(gathered) if gathered is not None else None,
    )


def set_workers(count: int) -> None:
    """Use `count` threads (1 = the calling thread only, at most WORKERS) for this caller's
    sweeps from now on: a context variable, so one session or thread never changes another's."""
    _WORKERS.set(max(1, min(WORKERS, int(count))))


def _pool() -> ThreadPoolExecutor:
    with _POOL_LOCK:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="attention-sweep"))
        return _POOL[0]


def _split(work, parts: list[np.ndarray], means: dict, parallel: bool) -> None:
    """Run work(heads_part, means_part) on the parts of the heads at once (the caller's
    workers, set_workers).  Each part sums its own head means; they are added up at the end.
    """
    if len(parts) == 1 or not parallel:
        work(np.concatenate(parts), means)
        return
    partials = [{view: np.zeros_like(mean) for view, mean in means.items()} for _ in parts[1:]]
    pool = _pool()
    futures = [pool.submit(work, part, own) for part, own in zip(parts[1:], partials)]
    work(parts[0], means)
    for future, own in zip(futures, partials):
        future.result()
        for view, mean in own.items():
            means[view] += mean


def _dense_heads(layer: np.ndarray, weights, gv, global_positions, out, picks, part, means) -> None:
    """Fill out = (Σ p log2 p, Σ p v log2 p, Σ p v, Σ p v ln v), each [H, N], for the heads in part.

    weights: ([H, N, 2] columns 1 and v, [H, N, 2] columns v and v ln v) for the row sums,
    with v the value norms; gv [H, N] the global rows' norms or None; means: view → [N, N]
    sums; picks: (flat positions [G] in a head's [N, N], out [H, G]) to gather, or None.
    Heads go in chunks of about CHUNK_VALUES weights, small enough to stay in cache.
    log2 is about twice as fast as ln here; `sweep` converts.  Softmax weights are rarely
    exactly 0, so the log is taken directly; a chunk where a 0 made 0 · log 0 a NaN is
    redone with TINY added first, which leaves every weight above 1e-23 unchanged.
    """
    n = layer.shape[-1]
    chunk = max(1, CHUNK_VALUES // (n * n))
    buf = np.empty((min(chunk, len(part)), n, n), dtype=np.float32)
    pair = np.empty((buf.shape[0], n, 2), dtype=np.float32)
    globals_ = global_positions if gv is not None else ()
    entropy_weights, total_weights = weights
    v = entropy_weights[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(int(part[0]), int(part[-1]) + 1, chunk):
            heads = slice(start, min(start + chunk, int(part[-1]) + 1))
            if picks is not None:
                flat, gathered = picks
                np.take(layer[heads].reshape(heads.stop - start, n * n), flat, axis=1, out=gathered[heads])
            _dense_chunk(
                layer[heads],
                heads,
                v,
                gv,
                globals_,
                out,
                means,
                buf[: heads.stop - start],
                pair[: heads.stop - start],
                entropy_weights[heads],
                total_weights[heads],
            )


def _dense_chunk(a, heads, v, gv, globals_, out, means, work, sums, entropy_weights, total_weights) -> None:
    """`_dense_heads` for one chunk of heads a [c, N, N] (work [c, N, N], sums [c, N, 2] buffers)."""
    plogp, pvlogp, totals, vlogv_sums = out
    np.log2(a, out=work)
    np.multiply(work, a, out=work)  # p log2 p
    np.matmul(work, entropy_weights, out=sums)
    if np.isnan(sums).any():
        np.add(a, TINY, out=work)
        np.log2(work, out=work)
        np.multiply(work, a, out=work)
        np.matmul(work, entropy_weights, out=sums)
    plogp[heads], pvlogp[heads] = sums[..., 0], sums[..., 1]
    np.matmul(a, total_weights, out=sums)
    totals[heads], vlogv_sums[heads] = sums[..., 0], sums[..., 1]
    for position in globals_:
        row, row_norms = a[:, position], gv[heads]  # [c, N] each
        totals[heads, position] = np.einsum("cj,cj->c", row, row_norms)
        vlogv_sums[heads, position] = np.einsum("cj,cj->c", row, _xlogx_weights(row_norms))
        pvlogp[heads, position] = np.einsum("cj,cj->c", work[:, position], row_norms)
    if "weight" in means:
        means["weight"] += a[0] if len(a) == 1 else a.sum(axis=0)
    if "norm" in means:
        np.multiply(a, v[heads, None, :], out=work)
        for position in globals_:
            work[:, position] = a[:, position] * gv[heads]
        scale = np.divide(1.0, totals[heads], out=np.zeros_like(totals[heads]), where=totals[heads] > 0)
        work *= scale[..., None]
        means["norm"] += work[0] if len(work) == 1 else work.sum(axis=0)


def _banded_heads(layer: BandedLayer, v, gv, out, part, _means) -> None:
    """The same four sums (log2, as `_dense_heads`) over a banded layer's band and global
    rows, one head at a time.  A band row's keys are a sliding window of the positions, so
    the key norms of every row are one strided view of the padded norms (no copy)."""
    plogp, pvlogp, totals, vlogv_sums = out
    x, half = layer.n_global, layer.window // 2
    positions = list(layer.global_positions)
    logs = _xlogx_weights(v)  # [H, N]
    key_norms, key_logs = _windows(v, half), _windows(logs, half)  # [H, N, w + 1] views
    ones = np.ones(layer.band.shape[-1], dtype=np.float32)
    for h in part:
        band, norms = layer.band[h], v[h]  # [N, x + w + 1], [N]
        p_log_p = np.add(band, TINY)
        np.log2(p_log_p, out=p_log_p)
        np.multiply(p_log_p, band, out=p_log_p)  # p log2 p
        plogp[h] = p_log_p @ ones
        local = band[:, x:]
        pvlogp[h] = np.einsum("ij,ij->i", p_log_p[:, x:], key_norms[h]) + p_log_p[:, :x] @ norms[positions]
        totals[h] = np.einsum("ij,ij->i", local, key_norms[h]) + band[:, :x] @ norms[positions]
        vlogv_sums[h] = np.einsum("ij,ij->i", local, key_logs[h]) + band[:, :x] @ logs[h, positions]
        for k, position in enumerate(positions):
            row = np.ascontiguousarray(layer.global_rows[h, :, k])  # the global token's own row [N]
            row_norms = gv[h] if gv is not None else norms
            row_log = np.log2(row + TINY) * row
            plogp[h, position] = row_log.sum()
            pvlogp[h, position] = row_log @ row_norms
            totals[h, position] = row @ row_norms
            vlogv_sums[h, position] = row @ _xlogx_weights(row_norms)


def _windows(values: np.ndarray, half: int) -> np.ndarray:
    """[..., N, 2·half + 1] view of values [..., N]: row i holds values[i − half .. i + half]
    (0 outside)."""
    padded = np.pad(values, [(0, 0)] * (values.ndim - 1) + [(half, half)])
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=-1)


def _xlogx_weights(norms: np.ndarray) -> np.ndarray:
    """v ln v per key (0 where v is 0)."""
    return norms * np.log(np.maximum(norms, LOG_FLOOR))
