"""The norm view on hand-built attention and value norms: T̃ worked out by hand."""

import math

import numpy as np
import pytest

from models.extract.banded import BandedLayer
from models.result import AttentionResult, ModelInfo
from models.score.analysis import analyze, analyze_views
from models.score.norms import norm_layer, norm_weighted, row_normalised

TOL = 1e-6
TOKENS = ("[CLS]", "dog", ",", "[SEP]")
MIXED = np.array(
    [
        [0.1, 0.4, 0.3, 0.2],
        [0.5, 0.2, 0.2, 0.1],
        [0.2, 0.2, 0.2, 0.4],
        [0.3, 0.3, 0.3, 0.1],
    ],
    dtype=np.float32,
)
NORMS = np.array([0.1, 2.0, 1.0, 4.0], dtype=np.float32)  # ‖f(x_j)‖: [CLS] tiny


def _result(layers, norms, global_norms=None, global_positions=()):
    n = layers[0].shape[-1]
    return AttentionResult(
        text="dog ,",
        text_b=None,
        tokens=TOKENS[:n],
        spans=((0, 0),) * n,
        segment_ids=(0,) * n,
        special_mask=np.array([True] + [False] * (n - 2) + [True]),
        cls_positions=(0,),
        sep_positions=(n - 1,),
        global_positions=global_positions,
        truncated=False,
        typed_markers=(),
        notices=(),
        model=ModelInfo("hand", "bert", len(layers), layers[0].shape[0], None, "hand-built"),
        layer_attention=tuple(layers),
        word_ids=(None, 0, 1, None),
        value_norms=norms,
        global_value_norms=global_norms,
    )


def _by_hand():
    """T̃ with loops: row i is α_i· ‖f‖ / Σ."""
    out = np.zeros((4, 4))
    for i in range(4):
        row = [float(MIXED[i, j]) * float(NORMS[j]) for j in range(4)]
        out[i] = [value / sum(row) for value in row]
    return out


def test_first_row_by_hand():
    # row 0: α·‖f‖ = [0.01, 0.8, 0.3, 0.8], sum 1.91
    matrix = norm_layer(MIXED[None], NORMS[None])[0]
    assert matrix[0, 0] == pytest.approx(0.01 / 1.91, abs=TOL)
    assert matrix[0, 3] == pytest.approx(0.8 / 1.91, abs=TOL)
    np.testing.assert_allclose(matrix, _by_hand(), atol=TOL)
    np.testing.assert_allclose(norm_weighted(MIXED[None], NORMS[None])[0, 2], MIXED[2] * NORMS, atol=TOL)


def test_norm_view_scores_by_hand():
    expected = _by_hand()
    result = _result([MIXED[None]], NORMS[None, None])
    views = analyze_views(result)
    norm = views["norm"].scores
    assert norm["cls"][0, 0] == pytest.approx(expected[:, 0].mean(), abs=TOL)
    assert norm["sep"][0, 0] == pytest.approx(expected[:, 3].mean(), abs=TOL)
    assert norm["diagonal"][0, 0] == pytest.approx(np.diag(expected).mean(), abs=TOL)
    assert norm["prev"][0, 0] == pytest.approx((expected[1, 0] + expected[2, 1] + expected[3, 2]) / 4, abs=TOL)
    assert norm["punct"][0, 0] == pytest.approx(expected[:, 2].mean(), abs=TOL)
    assert norm["cls_out"][0, 0] == pytest.approx(expected[0, 1] + expected[0, 2], abs=TOL)
    entropy = -(expected * np.log(expected)).sum(-1).mean() / math.log(4)
    assert norm["entropy"][0, 0] == pytest.approx(entropy, abs=TOL)
    weight = views["weight"].scores
    assert weight["cls"][0, 0] == pytest.approx(MIXED[:, 0].mean(), abs=TOL)
    assert norm["cls"][0, 0] < weight["cls"][0, 0] / 3  # a tiny [CLS] value moves little
    np.testing.assert_allclose(views["norm"].partition.sum(-1), 1.0, atol=1e-12)


def test_view_argument():
    result = _result([MIXED[None]], NORMS[None, None])
    assert analyze(result).view == "weight" and analyze(result, view="norm").view == "norm"
    with pytest.raises(ValueError, match="Unknown view"):
        analyze(result, view="value")


def test_norm_rollout_uses_the_norm_matrix():
    result = _result([MIXED[None], MIXED[None]], np.stack([NORMS[None], NORMS[None]]))
    mixed = 0.5 * _by_hand() + 0.5 * np.eye(4)
    expected = mixed @ mixed  # rows already sum to 1
    np.testing.assert_allclose(analyze(result, view="norm").rollout[1], expected[0], atol=TOL)


def test_banded_norm_layer_equals_dense():
    """A 5-token layer, window 2 (one key each side), global token 0, two heads."""
    rng = np.random.default_rng(2)
    n, globals_ = 5, (0,)
    distance = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    allowed = (distance <= 1) | (np.arange(n)[None, :] == 0) | (np.arange(n)[:, None] == 0)
    dense = rng.random((2, n, n)) * allowed
    dense = (dense / dense.sum(-1, keepdims=True)).astype(np.float32)
    band = np.zeros((2, n, 1 + 3), dtype=np.float32)
    rows = np.zeros((2, n, 1), dtype=np.float32)
    for i in range(1, n):
        band[:, i, 0] = dense[:, i, 0]
        for j in range(3):
            key = i - 1 + j
            if 0 < key < n:
                band[:, i, 1 + j] = dense[:, i, key]
    rows[:, :, 0] = dense[:, 0]
    banded = BandedLayer(band, rows, globals_)
    np.testing.assert_allclose(banded.dense(), dense, atol=1e-7)
    norms = rng.random((2, n)).astype(np.float32) + 0.1
    global_norms = rng.random((2, n)).astype(np.float32) + 0.1
    expected = norm_layer(dense, norms, global_norms, globals_)
    got = norm_layer(banded, norms, global_norms)
    assert isinstance(got, BandedLayer)
    np.testing.assert_allclose(got.dense(), expected, atol=1e-6)
    # global row 0 uses the global norms, the others the local ones
    assert expected[1, 0, 2] == pytest.approx(
        dense[1, 0, 2] * global_norms[1, 2] / (dense[1, 0] * global_norms[1]).sum(), abs=1e-6
    )
    assert expected[1, 3, 0] == pytest.approx(dense[1, 3, 0] * norms[1, 0] / (dense[1, 3] * norms[1]).sum(), abs=1e-6)
    np.testing.assert_allclose(
        row_normalised(norm_weighted(banded, norms, global_norms)).dense().sum(-1), 1.0, atol=1e-6
    )
