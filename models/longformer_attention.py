"""Rebuild Longformer's banded attention output into exact N×N matrices.

Layout of one layer's output (x global tokens, window w, N tokens):
  banded       [H, N, x + w + 1]: columns [:x] hold attention to the k-th global
               token (ascending positions); column x + j is the key at i - w/2 + j.
               Global keys inside the band are 0 there; rows of global tokens are 0.
  global_rows  [H, N_padded, x]: column k is the k-th global token's full attention row.
"""

from __future__ import annotations

import numpy as np


def band_window(banded: np.ndarray, n_global: int) -> int:
    """The layer's window w, read off the banded shape [H, N, x + w + 1]."""
    return banded.shape[-1] - n_global - 1


def banded_to_dense(
    banded: np.ndarray,  # [H, N, x + w + 1]
    global_rows: np.ndarray | None,  # [H, N_padded, x] or None when x == 0
    global_positions: tuple[int, ...],
) -> np.ndarray:
    """The layer's dense attention [H, N, N] (float32); the inputs are not modified."""
    heads, n, _ = banded.shape
    n_global = len(global_positions)
    window = band_window(banded, n_global)
    dense = np.zeros((heads, n, n), dtype=np.float32)

    is_global = np.zeros(n, dtype=bool)
    is_global[list(global_positions)] = True

    offsets = np.arange(window + 1) - window // 2  # [w + 1]
    keys = np.arange(n)[:, None] + offsets[None, :]  # [N, w + 1]
    inside = (keys >= 0) & (keys < n)
    inside[inside] &= ~is_global[keys[inside]]
    query_idx, band_idx = np.nonzero(inside)
    dense[:, query_idx, keys[query_idx, band_idx]] = banded[:, query_idx, n_global + band_idx]

    if n_global:
        local_rows = np.nonzero(~is_global)[0]
        for k, position in enumerate(global_positions):
            dense[:, local_rows, position] = banded[:, local_rows, k]
            dense[:, position, :] = global_rows[:, :n, k]
    return dense
