"""Attention rollout on hand-built matrices whose products are worked out by hand."""

import numpy as np
import pytest

from models.extract.banded import BandedLayer
from models.score.rollout import head_mean, rollout_matrices, rollout_rows

TOL = 1e-12
A1 = np.array([[1.0, 0, 0], [0.5, 0.5, 0], [0, 0.5, 0.5]])
A2 = np.array([[0.0, 1, 0], [0, 0, 1], [1, 0, 0]])
# Â1 = 0.5·A1 + 0.5·I = [[1, 0, 0], [.25, .75, 0], [0, .25, .75]]
# Â2 = 0.5·A2 + 0.5·I = [[.5, .5, 0], [0, .5, .5], [.5, 0, .5]]
# R2 = Â2 · Â1, row by row:
R2 = np.array([[0.625, 0.375, 0.0], [0.125, 0.5, 0.375], [0.5, 0.125, 0.375]])
R1 = np.array([[1.0, 0, 0], [0.25, 0.75, 0], [0, 0.25, 0.75]])


def test_two_layers_three_tokens_by_hand():
    rollout = rollout_matrices([A1, A2])
    np.testing.assert_allclose(rollout[0], R1, atol=TOL)
    np.testing.assert_allclose(rollout[1], R2, atol=TOL)
    np.testing.assert_allclose(rollout.sum(-1), 1.0, atol=TOL)


def test_heads_are_averaged_first():
    # two heads per layer whose mean is A1 and A2
    layer1 = np.stack([np.eye(3)[[0, 0, 1]], np.eye(3)[[0, 1, 2]]]).astype(np.float32)
    layer2 = np.stack([A2, A2]).astype(np.float32)
    np.testing.assert_allclose(head_mean(layer1), A1, atol=TOL)
    np.testing.assert_allclose(rollout_matrices([head_mean(layer1), head_mean(layer2)])[1], R2, atol=1e-7)


def test_rows_are_renormalised():
    # a layer whose rows sum to 0.5 (e.g. a truncated attention): 0.5·M + 0.5·I sums to 0.75
    half = np.full((2, 2), 0.25)
    expected = (0.5 * half + 0.5 * np.eye(2)) / 0.75  # [[.6667, .1667] ...]
    np.testing.assert_allclose(rollout_matrices([half])[0], expected, atol=TOL)
    assert expected[0, 0] == pytest.approx(0.625 / 0.75)


def test_query_rows_equal_the_full_rollout():
    rows = rollout_rows([A1, A2], [2, 0])
    assert rows.shape == (2, 2, 3)
    np.testing.assert_allclose(rows[0], np.stack([R1[2], R2[2]]), atol=TOL)
    np.testing.assert_allclose(rows[1], np.stack([R1[0], R2[0]]), atol=TOL)


def _banded(dense: np.ndarray, window: int, global_positions: tuple[int, ...]) -> BandedLayer:
    """Longformer's layout of a one-head dense [N, N] (written here, independently)."""
    n, half, x = dense.shape[0], window // 2, len(global_positions)
    band = np.zeros((1, n, x + window + 1), dtype=np.float32)
    rows = np.zeros((1, n, x), dtype=np.float32)
    for i in range(n):
        if i in global_positions:
            rows[0, :, global_positions.index(i)] = dense[i]
            continue
        for k, g in enumerate(global_positions):
            band[0, i, k] = dense[i, g]
        for j in range(window + 1):
            key = i - half + j
            if 0 <= key < n and key not in global_positions:
                band[0, i, x + j] = dense[i, key]
    return BandedLayer(band, rows if x else None, global_positions)


def test_banded_row_vectors_equal_dense_rollout():
    rng = np.random.default_rng(4)
    n, window, globals_ = 9, 4, (0, 5)
    distance = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    layers = []
    for _ in range(3):
        allowed = distance <= window // 2
        allowed[:, list(globals_)] = True
        allowed[list(globals_), :] = True
        weights = rng.random((n, n)) * allowed
        layers.append((weights / weights.sum(-1, keepdims=True)).astype(np.float32))
    banded = [_banded(layer, window, globals_) for layer in layers]
    np.testing.assert_allclose(banded[1].dense()[0], layers[1], atol=1e-7)  # the layout is right
    dense = rollout_matrices([layer.astype(np.float64) for layer in layers])
    rows = rollout_rows([head_mean(layer) for layer in banded], [0, 3, 5, 8])
    for slot, query in enumerate([0, 3, 5, 8]):
        np.testing.assert_allclose(rows[slot], dense[:, query], atol=1e-6)
