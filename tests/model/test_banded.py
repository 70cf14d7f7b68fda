"""Banded Longformer attention: every read and every score equals the dense rebuild."""

import math
from functools import partial

import numpy as np
import pytest
import torch
from tiny_encoders import tiny_config, tiny_loaded
from transformers import BertConfig, BertModel, LongformerConfig, LongformerModel

from models.extract import banded as B
from models.extract.attention import extract
from models.score import scores as S
from models.score.analysis import analyze

SCORE_TOL = 1e-6
READ_TOL = 1e-7
TEXT = " ".join(["the quick brown fox jumps over the lazy dog , and then it runs ."] * 4)
_config = partial(tiny_config, seed=1)


@pytest.fixture(scope="module")
def tiny_longformer(tokenizer):
    config = _config(LongformerConfig, attention_window=[4, 8, 4], pad_token_id=0)
    return tiny_loaded(LongformerModel(config), tokenizer, "longformer", window=8)


@pytest.fixture(scope="module", params=[(0,), (0, 7, 20), (3, 40)], ids=["cls", "three", "no-cls"])
def pair(request, tiny_longformer):
    """The same input extracted banded and dense."""
    globals_ = request.param
    return (
        extract(tiny_longformer, TEXT, global_positions=globals_, banded=True),
        extract(tiny_longformer, TEXT, global_positions=globals_, banded=False),
    )


def test_banded_result_holds_no_square_matrix(pair):
    banded, dense = pair
    assert banded.is_banded and not dense.is_banded
    layer = banded.layer_attention[0]
    assert isinstance(layer, B.BandedLayer) and layer.band.ndim == 3
    assert layer.band.shape[-1] < banded.n_tokens  # narrower than N: truly banded
    with pytest.raises(ValueError):
        _ = banded.attention


def test_banded_reads_equal_dense(pair):
    banded, dense = pair
    n = dense.n_tokens
    for layer_b, layer_d in zip(banded.layer_attention, dense.layer_attention):
        np.testing.assert_allclose(layer_b.dense(), layer_d, atol=READ_TOL)
        keys = [0, 1, 7, n // 2, n - 1]
        np.testing.assert_allclose(B.columns(layer_b, keys), layer_d[:, :, keys], atol=READ_TOL)
        for offset in (-3, -1, 0, 1, 2, 5):
            np.testing.assert_allclose(
                B.offset_values(layer_b, offset), B.offset_values(layer_d, offset), atol=READ_TOL
            )
        for query in (0, 7, n - 1):
            np.testing.assert_allclose(B.query_row(layer_b, query), layer_d[:, query], atol=READ_TOL)
        np.testing.assert_allclose(S.row_entropy(layer_b), S.row_entropy(layer_d), atol=1e-5)
        np.testing.assert_allclose(
            B.block(layer_b, slice(5, 19), slice(2, 30), head=1), layer_d[1, 5:19, 2:30], atol=READ_TOL
        )
        pooled_b, edges_b = B.pooled(layer_b, head=2, cells=7)
        pooled_d, edges_d = B.pooled(layer_d, head=2, cells=7)
        np.testing.assert_array_equal(edges_b, edges_d)
        np.testing.assert_allclose(pooled_b, pooled_d, atol=1e-6)
        mask = np.random.default_rng(3).random((n, n)) < 0.3
        expected = (layer_d * mask).sum(-1)
        np.testing.assert_allclose(B.masked_mass(layer_b, mask), expected, atol=1e-5)


@pytest.mark.parametrize("exclude_special", [False, True])
def test_banded_scores_equal_dense_scores(pair, exclude_special):
    banded, dense = pair
    a, b = analyze(banded, exclude_special), analyze(dense, exclude_special)
    for name in a.scores:
        np.testing.assert_allclose(a.scores[name], b.scores[name], atol=SCORE_TOL, err_msg=name)
    np.testing.assert_allclose(a.partition, b.partition, atol=SCORE_TOL)
    np.testing.assert_allclose(a.layer_summary, b.layer_summary, atol=SCORE_TOL)
    assert (a.roles == b.roles).all()


def test_pooled_is_a_block_mean_and_keeps_mass():
    weights = np.arange(2 * 6 * 6, dtype=np.float32).reshape(2, 6, 6)
    pooled, edges = B.pooled(weights, head=1, cells=3)
    assert edges.tolist() == [0, 2, 4, 6]
    assert pooled[0, 1] == pytest.approx(weights[1, 0:2, 2:4].mean())
    assert pooled[2, 0] == pytest.approx(weights[1, 4:6, 0:2].mean())
    assert (pooled * 4).sum() == pytest.approx(weights[1].sum())


def test_captured_queries_and_keys_reproduce_the_attention(tokenizer):
    """softmax(Q Kᵀ / √d) from the hooked projections equals the model's own attention."""
    bert = tiny_loaded(BertModel(_config(BertConfig)), tokenizer, "bert")
    result = extract(bert, "a short test sentence .")
    assert result.queries is not None and len(result.queries) == 3
    for layer in range(3):
        q, k = torch.from_numpy(result.queries[layer]), torch.from_numpy(result.keys[layer])
        assert q.shape == (4, result.n_tokens, 8)
        expected = (q @ k.transpose(1, 2) / math.sqrt(8)).softmax(-1).numpy()
        np.testing.assert_allclose(result.layer_attention[layer], expected, atol=1e-5)
