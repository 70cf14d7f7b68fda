"""The vectorised batch scorer on hand-built padded batches equals models.score.scores per sentence,
in the weight view and in the norm view (T̃ built per sentence by models.score.norms.norm_layer)."""

import numpy as np
import pytest
import torch

from models.corpus.scores import KeyNorms, TokenMasks, norm_sizes, score_batch, score_views
from models.score import scores as S
from models.score.norms import norm_layer

TOL = 1e-6
SENTENCES = [  # tokens, special flags
    (["[CLS]", "the", "dog", ",", "ran", ".", "[SEP]"], [1, 0, 0, 0, 0, 0, 1]),
    (["[CLS]", "hi", "[SEP]"], [1, 0, 1]),
    (["[CLS]", "a", "b", "[SEP]", "c", "##.", "d", "[SEP]"], [1, 0, 0, 1, 0, 0, 0, 1]),
]
LAYERS, HEADS = 2, 3


def _expected(block, tokens, flags, exclude_special):
    """Every score, the partition and the layer summary of one unpadded sentence (models.score.scores)."""
    special = np.array(flags, dtype=bool)
    cls_pos = tuple(i for i, t in enumerate(tokens) if t == "[CLS]")
    sep_pos = tuple(i for i, t in enumerate(tokens) if t == "[SEP]")
    rows = S.query_rows(special, exclude_special)
    scores = {
        "cls": S.cls_score(block, cls_pos, rows),
        "sep": S.sep_score(block, sep_pos, rows),
        "diagonal": S.diagonal_score(block, rows),
        "prev": S.prev_score(block, rows),
        "next": S.next_score(block, rows),
        "punct": S.punct_score(block, tokens, rows),
        "entropy": S.entropy_score(block, rows),
        "cls_out": S.cls_out_score(block, cls_pos, special),
    }
    partition = S.mass_partition(block, cls_pos, sep_pos, special, rows)
    summary = (scores["cls_out"] * S.cls_breadth(block, cls_pos, special)).mean(axis=1)
    return scores, partition, summary


def _norms(rng, masks, padding=0.0):
    """Random value norms [L, B, H, N] (some tiny, as [CLS]'s are), `padding` on padding keys."""
    values = rng.uniform(0.05, 5.0, size=(LAYERS, *masks.valid.shape[:1], HEADS, masks.valid.shape[1]))
    values = np.where(masks.valid[None, :, None, :], values, padding).astype(np.float32)
    return values


def _batch(rng):
    width = max(len(tokens) for tokens, _ in SENTENCES)
    attention = np.full((LAYERS, len(SENTENCES), HEADS, width, width), np.nan, dtype=np.float32)  # pad rows: NaN
    blocks = []
    for b, (tokens, _) in enumerate(SENTENCES):
        n = len(tokens)
        logits = rng.normal(size=(LAYERS, HEADS, n, n)) * 2
        block = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        blocks.append(block.astype(np.float32))
        attention[:, b, :, :n, :] = 0.0  # real rows put nothing on padding keys
        attention[:, b, :, :n, :n] = block
    valid = np.zeros((len(SENTENCES), width), dtype=bool)
    special, cls, sep, punct = (np.zeros_like(valid) for _ in range(4))
    for b, (tokens, flags) in enumerate(SENTENCES):
        n = len(tokens)
        valid[b, :n] = True
        special[b, :n] = flags
        cls[b, :n] = [t == "[CLS]" for t in tokens]
        sep[b, :n] = [t == "[SEP]" for t in tokens]
        punct[b, list(S.punctuation_positions(tokens))] = True
    masks = TokenMasks(valid, special, cls, sep, punct, np.where(cls.any(1), cls.argmax(1), -1))
    return [torch.from_numpy(layer) for layer in attention], masks, blocks


@pytest.mark.parametrize("exclude_special", [False, True])
def test_batch_scores_equal_the_score_functions_on_each_unpadded_sentence(exclude_special):
    attention, masks, blocks = _batch(np.random.default_rng(0))
    out = score_batch(attention, masks, exclude_special)
    for b, (tokens, flags) in enumerate(SENTENCES):
        scores, partition, summary = _expected(blocks[b], tokens, flags, exclude_special)
        for name, values in scores.items():
            np.testing.assert_allclose(out.scores[name][b], values, atol=TOL, err_msg=name)
        np.testing.assert_allclose(out.partition[b], partition, atol=TOL)
        np.testing.assert_allclose(out.layer_summary[b], summary, atol=TOL)
    assert np.isfinite(out.partition).all() and np.isfinite(out.scores["entropy"]).all()
    assert out.norm_sizes is None


@pytest.mark.parametrize("exclude_special", [False, True])
def test_norm_view_equals_the_score_functions_on_each_sentences_own_norm_matrix(exclude_special):
    rng = np.random.default_rng(4)
    attention, masks, blocks = _batch(rng)
    values = _norms(rng, masks, padding=1e6)  # what padding keys carry must not matter
    out = score_views(attention, masks, exclude_special, KeyNorms([torch.from_numpy(v) for v in values]))
    assert set(out) == {"weight", "norm"}
    for b, (tokens, flags) in enumerate(SENTENCES):
        n = len(tokens)
        own = np.stack([norm_layer(blocks[b][layer], values[layer, b, :, :n]) for layer in range(LAYERS)])
        scores, partition, summary = _expected(own, tokens, flags, exclude_special)
        for name, expected in scores.items():
            np.testing.assert_allclose(out["norm"].scores[name][b], expected, atol=TOL, err_msg=name)
        np.testing.assert_allclose(out["norm"].partition[b], partition, atol=TOL)
        np.testing.assert_allclose(out["norm"].layer_summary[b], summary, atol=TOL)
        weight, _, _ = _expected(blocks[b], tokens, flags, exclude_special)
        np.testing.assert_allclose(out["weight"].scores["cls"][b], weight["cls"], atol=TOL)


def test_global_rows_use_the_global_value_norms():
    """Longformer: the global token's own row (the first cls) weighs its keys by value_global."""
    rng = np.random.default_rng(6)
    attention, masks, blocks = _batch(rng)
    values, global_values = _norms(rng, masks), _norms(rng, masks, padding=7.0)
    norms = KeyNorms([torch.from_numpy(v) for v in values], [torch.from_numpy(v) for v in global_values])
    out = score_views(attention, masks, False, norms)["norm"]
    for b, (tokens, flags) in enumerate(SENTENCES):
        n = len(tokens)
        own = np.stack(
            [
                norm_layer(blocks[b][layer], values[layer, b, :, :n], global_values[layer, b, :, :n], (0,))
                for layer in range(LAYERS)
            ]
        )
        scores, partition, summary = _expected(own, tokens, flags, False)
        for name, expected in scores.items():
            np.testing.assert_allclose(out.scores[name][b], expected, atol=TOL, err_msg=name)
        np.testing.assert_allclose(out.partition[b], partition, atol=TOL)
        np.testing.assert_allclose(out.layer_summary[b], summary, atol=TOL)


def test_norm_sizes_are_the_mean_norms_of_words_cls_and_sep():
    rng = np.random.default_rng(8)
    _attention, masks, _blocks = _batch(rng)
    values = _norms(rng, masks, padding=1e6)
    sizes = norm_sizes([torch.from_numpy(v) for v in values], masks)  # [B, L, 3]
    for b, (tokens, flags) in enumerate(SENTENCES):
        n, special = len(tokens), np.array(flags, dtype=bool)
        own = values[:, b, :, :n]  # [L, H, n]
        seps = [i for i, t in enumerate(tokens) if t == "[SEP]"]
        np.testing.assert_allclose(sizes[b, :, 0], own[:, :, ~special].mean(axis=(1, 2)), rtol=1e-6)
        np.testing.assert_allclose(sizes[b, :, 1], own[:, :, 0].mean(axis=1), rtol=1e-6)
        np.testing.assert_allclose(sizes[b, :, 2], own[:, :, seps].mean(axis=(1, 2)), rtol=1e-6)


def test_inputs_are_not_modified_and_shapes_follow_the_docstring():
    attention, masks, _ = _batch(np.random.default_rng(1))
    before = [layer.clone() for layer in attention]
    out = score_batch(attention, masks)
    for layer, copy in zip(attention, before):
        assert torch.equal(torch.nan_to_num(layer, nan=-1.0), torch.nan_to_num(copy, nan=-1.0))
    assert out.scores["cls"].shape == (len(SENTENCES), LAYERS, HEADS)
    assert out.partition.shape == (len(SENTENCES), LAYERS, HEADS, 4)
    assert out.layer_summary.shape == (len(SENTENCES), LAYERS)
    np.testing.assert_allclose(out.partition.sum(-1), 1.0, atol=1e-12)


def test_a_sentence_without_cls_scores_zero_on_cls_out():
    attention, masks, _ = _batch(np.random.default_rng(2))
    no_cls = TokenMasks(
        masks.valid, masks.special, np.zeros_like(masks.cls), masks.sep, masks.punct, np.full(len(SENTENCES), -1)
    )
    out = score_batch(attention, no_cls)
    assert np.all(out.scores["cls"] == 0) and np.all(out.scores["cls_out"] == 0) and np.all(out.layer_summary == 0)
