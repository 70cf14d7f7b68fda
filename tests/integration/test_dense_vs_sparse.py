"""Dense vs windowed attention on the shared MiniLM weights."""

import numpy as np
import pytest

from models.extract.attention import extract
from models.load.loading import ModelLoadError, with_window
from models.sparse.dense_vs_sparse import window_sweep, windowed_extract

SENTENCE = "The old lighthouse keeper watched the storm roll in over the dark , restless sea ."
SAME_TOL = 1e-4


def test_wide_window_changes_nothing_narrow_window_moves_mass(minilm):
    dense = extract(minilm, SENTENCE)
    wide = 2 * dense.n_tokens + 2  # every key is inside the window
    calls = []

    def run(window):
        return windowed_extract(with_window(minilm, window), minilm.spec.max_tokens, SENTENCE)

    points = window_sweep(dense, run, windows=(4, wide), progress=lambda f, m: calls.append(f))
    assert [p.window for p in points] == [None, 4, wide]
    assert calls[0] == 0.0 and calls[-1] == 1.0
    dense_point, narrow, full = points
    assert full.moved.max() < SAME_TOL
    for name in ("cls", "sep", "diagonal", "entropy"):
        np.testing.assert_allclose(full.layer_scores[name], dense_point.layer_scores[name], atol=SAME_TOL)
    # window 4: each query sees itself, two neighbours each side and the global [CLS] only
    assert narrow.moved.mean() > 0.1
    assert (narrow.layer_scores["sep"] < dense_point.layer_scores["sep"]).all()  # [SEP] is out of reach


def test_windowed_rows_match_an_independent_renormalisation_in_layer_one(minilm):
    """Layer 1 sees the same embeddings under both models, so the windowed row is the
    dense row's pre-softmax scores renormalised over the allowed keys."""
    import torch

    dense = extract(minilm, SENTENCE)
    windowed = extract(with_window(minilm, 4), SENTENCE, global_positions=(0,))
    q, k = (torch.from_numpy(x[0]).double() for x in (dense.queries, dense.keys))
    scores = q @ k.transpose(1, 2) / np.sqrt(q.shape[-1])  # [H, N, N]
    n = dense.n_tokens
    distance = (torch.arange(n)[:, None] - torch.arange(n)[None, :]).abs()
    allowed = (distance <= 2) | (torch.arange(n)[None, :] == 0)
    expected = scores.masked_fill(~allowed, float("-inf")).softmax(-1).numpy()
    expected[:, 0] = dense.layer_attention[0][:, 0]  # the global [CLS] row attends to everything
    np.testing.assert_allclose(windowed.layer_attention[0], expected, atol=1e-4)


def test_only_bert_converts(minilm_longformer):
    with pytest.raises(ModelLoadError, match="takes no attention window"):
        with_window(minilm_longformer, 8)
