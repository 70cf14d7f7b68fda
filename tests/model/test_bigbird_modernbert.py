"""BigBird's block-sparse rebuild and real pattern, and ModernBERT's per-layer windows, checked
against computations written here from the layers' own weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tiny_families import LONG_SENTENCE, SENTENCES, save_family

from models.extract.attention import extract
from models.extract.bigbird import min_tokens
from models.load.loading import load_model
from models.sparse.own_pattern import layer_windows, overlap, overlap_view, real_mask
from models.sparse.patterns import bigbird_mask

REBUILD_TOL = 1e-6
ROW_TOL = 1e-5
BLOCK, RANDOM = 4, 2


@pytest.fixture(scope="module")
def bigbird(tmp_path_factory):
    return load_model(str(save_family("bigbird", tmp_path_factory.mktemp("bigbird"))))


@pytest.fixture(scope="module")
def modernbert(tmp_path_factory):
    return load_model(str(save_family("modernbert", tmp_path_factory.mktemp("modernbert"))))


def _independent_block_sparse(model, input_ids) -> np.ndarray:
    """[L, H, N, N] the weights that multiply the values, computed from each layer's query and
    key projections: every query block's own key list (copies of a key counted each time, as in
    the model's softmax; eval mode draws random block 0), one softmax per row, copies summed."""
    n = input_ids.shape[1]
    padded = -(-n // BLOCK) * BLOCK
    ids = torch.nn.functional.pad(input_ids, (0, padded - n), value=model.config.pad_token_id)
    key_mask = torch.zeros(padded)
    key_mask[:n] = 1
    nb = padded // BLOCK
    with torch.no_grad():
        hidden_states = model(
            input_ids=ids, attention_mask=(key_mask[None] > 0).long(), output_hidden_states=True
        ).hidden_states
        layers = []
        for index, layer in enumerate(model.encoder.layer):
            attention = layer.attention.self
            heads = model.config.num_attention_heads
            d = model.config.hidden_size // heads
            x = hidden_states[index][0]
            q = attention.query(x).view(padded, heads, d).transpose(0, 1)
            k = attention.key(x).view(padded, heads, d).transpose(0, 1)
            dense = torch.zeros(heads, padded, padded)
            for qb in range(nb):
                if qb in (0, nb - 1):
                    blocks = list(range(nb))
                elif qb == 1:
                    blocks = [0, 1, 2, nb - 1] + [0] * RANDOM
                elif qb == nb - 2:
                    blocks = [0, nb - 3, nb - 2, nb - 1] + [0] * RANDOM
                else:
                    blocks = [0, qb - 1, qb, qb + 1, nb - 1] + [0] * RANDOM
                keys = torch.cat([torch.arange(b * BLOCK, (b + 1) * BLOCK) for b in blocks])
                rows = slice(qb * BLOCK, (qb + 1) * BLOCK)
                scores = q[:, rows] @ k[:, keys].transpose(1, 2) / math.sqrt(d)
                probs = (scores + (1 - key_mask[keys]) * -10000.0).softmax(-1)
                for head in range(heads):
                    dense[head, rows].index_add_(1, keys, probs[head])
            layers.append(dense[:, :n, :n])
    return torch.stack(layers).numpy()


def test_bigbird_rebuild_equals_independent_computation(bigbird):
    result = extract(bigbird, LONG_SENTENCE)
    note = result.pattern.block_sparse
    assert note.ran == "block_sparse" and note.rebuilt
    assert result.n_tokens > min_tokens(BLOCK, RANDOM)
    ids = torch.tensor([bigbird.tokenizer(LONG_SENTENCE)["input_ids"]])
    expected = _independent_block_sparse(bigbird.model, ids)
    assert np.abs(result.attention - expected).max() <= REBUILD_TOL
    np.testing.assert_allclose(result.attention.sum(-1), 1.0, atol=ROW_TOL)


def test_bigbird_note_says_what_transformers_left_out(bigbird):
    result = extract(bigbird, LONG_SENTENCE)
    note = result.pattern.block_sparse
    assert note.random_ids.shape == (3, 4, note.padded_length // BLOCK - 2, RANDOM)
    assert (note.random_ids == 0).all()  # eval mode: every random block is block 0
    mass = note.returned_mass  # [L, H, N]
    np.testing.assert_allclose(mass[..., :BLOCK], 1.0, atol=ROW_TOL)  # global rows are complete
    inner = mass[..., BLOCK : note.padded_length - BLOCK]
    assert inner.max() < 0.95
    # what is missing is exactly r more copies of the block-0 weight
    block0 = result.attention[..., BLOCK : note.padded_length - BLOCK, :BLOCK].sum(-1)
    np.testing.assert_allclose(inner + block0 * RANDOM / (1 + RANDOM), 1.0, atol=ROW_TOL)
    assert any("block-sparse" in notice and "sums to 1" in notice for notice in result.notices)


def test_bigbird_real_mask_is_the_block_layout(bigbird):
    result = extract(bigbird, LONG_SENTENCE)
    n = result.n_tokens
    nb = result.pattern.block_sparse.padded_length // BLOCK
    block_of = np.arange(n) // BLOCK
    is_global = (block_of == 0) | (block_of == nb - 1)
    expected = is_global[:, None] | is_global[None, :] | (np.abs(block_of[:, None] - block_of[None, :]) <= 1)
    mask = real_mask(result)
    assert mask.shape == result.attention.shape
    assert (mask == expected).all()
    assert (result.attention[~mask] == 0).all() and (result.attention[mask] > 0).all()


def test_bigbird_overlap_with_the_simulated_mask(bigbird):
    result = extract(bigbird, LONG_SENTENCE)
    n = result.n_tokens
    real = real_mask(result)
    simulated = bigbird_mask(n, 8, (0,), BLOCK, RANDOM, seed=0)
    found = overlap(real, simulated)
    r, s = real[0, 0], simulated
    both, either = (r & s).sum(), (r | s).sum()
    np.testing.assert_allclose(found.jaccard, both / either)
    np.testing.assert_allclose(found.both + found.real_only + found.simulated_only, either / n**2)
    np.testing.assert_allclose(found.real_covered, both / r.sum())
    view = overlap_view(r, s)
    assert (view == 3).sum() == both and (view == 1).sum() == (r & ~s).sum() and (view == 2).sum() == (~r & s).sum()


def test_bigbird_short_input_runs_full_and_leaves_the_model_as_configured(bigbird):
    before = extract(bigbird, LONG_SENTENCE)
    short = extract(bigbird, SENTENCES[1])
    assert short.n_tokens <= min_tokens(BLOCK, RANDOM)
    note = short.pattern.block_sparse
    assert note.ran == "original_full" and not note.rebuilt and note.random_ids is None
    np.testing.assert_allclose(short.attention.sum(-1), 1.0, atol=ROW_TOL)
    assert real_mask(short).all()
    assert any("full attention" in notice for notice in short.notices)
    assert bigbird.model.attention_type == "block_sparse"  # transformers would have left it switched
    after = extract(bigbird, LONG_SENTENCE)
    assert after.pattern.block_sparse.ran == "block_sparse"
    assert np.array_equal(after.attention, before.attention)  # same layers, hooked once each


def test_modernbert_layer_windows(modernbert):
    config = modernbert.model.config
    every = 3
    expected = tuple(None if layer % every == 0 else 8 for layer in range(4))
    assert layer_windows(config) == expected == (None, 8, 8, None)
    result = extract(modernbert, SENTENCES[0])
    assert result.pattern.form == "local_global" and result.pattern.layer_windows == expected


def test_modernbert_local_layers_are_zero_outside_their_window(modernbert):
    result = extract(modernbert, SENTENCES[0])
    n = result.n_tokens
    distance = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    mask = real_mask(result)
    for layer, window in enumerate(result.pattern.layer_windows):
        attention = result.attention[layer]
        if window is None:
            assert attention[:, distance > 4].min() > 0
            assert mask[layer].all()
        else:
            assert attention[:, distance > window // 2].max() == 0.0
            assert attention[:, distance == window // 2].min() > 0.0
            assert (mask[layer] == (distance <= window // 2)).all()


def test_dense_families_have_no_windows(tmp_path):
    model = load_model(str(save_family("bert", tmp_path)))
    result = extract(model, SENTENCES[1])
    assert result.pattern.form == "dense" and result.pattern.layer_windows == (None, None, None)
    assert real_mask(result).all()
