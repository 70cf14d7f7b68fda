"""Norm view on tiny random models, against computations written here from the models' own
weights, hidden states and attentions, with explicit loops over heads."""

import math
from functools import partial

import numpy as np
import pytest
import torch
from tiny_encoders import reference_longformer_attention, tiny_config, tiny_loaded
from transformers import (
    BertConfig,
    BertModel,
    DistilBertConfig,
    DistilBertModel,
    LongformerConfig,
    LongformerModel,
)

from models.extract.attention import extract
from models.score.analysis import analyze

NORM_TOL = 1e-5
SCORE_TOL = 1e-5
SENTENCE = "the quick brown fox jumps over the lazy dog , and then it runs far away ."
PAIR = ("a dog barked at the mailman .", "the cat ran up the old tree .")
HEADS, HIDDEN = 4, 32
_config = partial(tiny_config, seed=3)


@pytest.fixture(scope="module")
def tiny_bert(tokenizer):
    return tiny_loaded(BertModel(_config(BertConfig)), tokenizer, "bert")


@pytest.fixture(scope="module")
def tiny_longformer(tokenizer):
    model = LongformerModel(_config(LongformerConfig, attention_window=[4, 8, 6], pad_token_id=0))
    generator = torch.Generator().manual_seed(11)
    with torch.no_grad():  # global value projection differs from the local one
        for layer in model.encoder.layer:
            attn = layer.attention.self
            attn.value_global.weight.copy_(torch.randn(attn.value_global.weight.shape, generator=generator) * 0.3)
            attn.value_global.bias.copy_(torch.randn(attn.value_global.bias.shape, generator=generator))
    return tiny_loaded(model, tokenizer, "longformer", window=8)


def _head_norms(hidden, value, output, heads):
    """‖(x W_V^h + b_V^h) W_O^h‖ for every head and token → [H, N], one head at a time."""
    d = value.weight.shape[0] // heads
    out = np.zeros((heads, hidden.shape[0]))
    for h in range(heads):
        w_v, b_v = value.weight[h * d : (h + 1) * d], value.bias[h * d : (h + 1) * d]  # [d, D], [d]
        w_o = output.weight[:, h * d : (h + 1) * d]  # [D, d]
        for j in range(hidden.shape[0]):
            moved = w_o @ (w_v @ hidden[j] + b_v)
            out[h, j] = float(torch.linalg.vector_norm(moved.double()))
    return out


def _bert_reference(model, inputs):
    """(attention [L, H, N, N], value norms [L, H, N]) from the model's own outputs and weights."""
    with torch.no_grad():
        out = model(**inputs, output_attentions=True, output_hidden_states=True)
        norms = [
            _head_norms(out.hidden_states[index][0], layer.attention.self.value, layer.attention.output.dense, HEADS)
            for index, layer in enumerate(model.encoder.layer)
        ]
    return torch.stack([a[0] for a in out.attentions]).double().numpy(), np.stack(norms)


def _norm_matrix(attention, norms, global_norms=None, global_positions=()):
    """T̃ = α·‖f‖ / row sum, with each row's key norms chosen explicitly → [L, H, N, N]."""
    out = np.zeros_like(attention)
    for layer in range(attention.shape[0]):
        for h in range(attention.shape[1]):
            for i in range(attention.shape[2]):
                keys = global_norms[layer, h] if i in global_positions else norms[layer, h]
                row = attention[layer, h, i] * keys
                out[layer, h, i] = row / row.sum()
    return out


def _expected_scores(matrix, cls, seps):
    """cls / sep / diagonal / entropy means over all query rows → [L, H] each."""
    n = matrix.shape[-1]
    logs = np.log(np.where(matrix > 0, matrix, 1.0))
    return {
        "cls": matrix[:, :, :, cls].mean(-1),
        "sep": matrix[:, :, :, list(seps)].sum(-1).mean(-1),
        "diagonal": np.diagonal(matrix, axis1=2, axis2=3).mean(-1),
        "entropy": -(matrix * logs).sum(-1).mean(-1) / math.log(n),
    }


@pytest.mark.parametrize("pair", [False, True], ids=["single", "pair"])
def test_bert_value_norms_and_norm_scores(tiny_bert, tokenizer, pair):
    text, text_b = PAIR if pair else (SENTENCE, None)
    result = extract(tiny_bert, text, text_b)
    attention, norms = _bert_reference(tiny_bert.model, tokenizer(text, text_b, return_tensors="pt"))
    assert result.value_norms.shape == norms.shape == (3, HEADS, result.n_tokens)
    np.testing.assert_allclose(result.value_norms, norms, atol=NORM_TOL, rtol=0)
    expected = _expected_scores(_norm_matrix(attention, norms), result.cls_positions[0], result.sep_positions)
    analysis = analyze(result, view="norm")
    assert analysis.view == "norm"
    for name, values in expected.items():
        np.testing.assert_allclose(analysis.scores[name], values, atol=SCORE_TOL, err_msg=name)
    weight = analyze(result).scores  # the weight view stays the plain attention
    np.testing.assert_allclose(weight["cls"], attention[:, :, :, 0].mean(-1), atol=SCORE_TOL)
    assert np.abs(weight["cls"] - analysis.scores["cls"]).max() > 1e-3  # the views differ


def test_distilbert_value_norms(tokenizer):
    model = DistilBertModel(DistilBertConfig(vocab_size=30522, dim=HIDDEN, n_layers=2, n_heads=HEADS, hidden_dim=64))
    loaded = tiny_loaded(model, tokenizer, "distilbert")
    result = extract(loaded, SENTENCE)
    inputs = tokenizer(SENTENCE, return_tensors="pt")
    with torch.no_grad():
        out = model(input_ids=inputs["input_ids"], output_hidden_states=True)
        norms = np.stack(
            [
                _head_norms(out.hidden_states[index][0], layer.attention.v_lin, layer.attention.out_lin, HEADS)
                for index, layer in enumerate(model.transformer.layer)
            ]
        )
    np.testing.assert_allclose(result.value_norms, norms, atol=NORM_TOL, rtol=0)


def _longformer_reference(model, input_ids, global_positions):
    """(attention [L, H, N, N], local norms, global norms), all computed here."""
    n = input_ids.shape[1]
    global_mask = torch.zeros_like(input_ids)
    global_mask[0, list(global_positions)] = 1
    layers, local_norms, global_norms = [], [], []
    with torch.no_grad():
        out = model(input_ids=input_ids, global_attention_mask=global_mask, output_hidden_states=True)
        for index, layer in enumerate(model.encoder.layer):
            attn, dense = layer.attention.self, layer.attention.output.dense
            hidden = out.hidden_states[index][0][:n]
            probs = reference_longformer_attention(attn, hidden, model.config.attention_window[index], global_positions)
            layers.append(probs.double().numpy())
            local_norms.append(_head_norms(hidden, attn.value, dense, HEADS))
            global_norms.append(_head_norms(hidden, attn.value_global, dense, HEADS))
    return np.stack(layers), np.stack(local_norms), np.stack(global_norms)


@pytest.mark.parametrize("banded", [False, True], ids=["dense", "banded"])
@pytest.mark.parametrize("global_positions", [(0,), (0, 6, 13)], ids=["cls", "three"])
def test_longformer_local_and_global_value_norms(tiny_longformer, tokenizer, banded, global_positions):
    result = extract(tiny_longformer, SENTENCE, global_positions=global_positions, banded=banded)
    assert result.is_banded == banded
    ids = torch.tensor([tokenizer(SENTENCE)["input_ids"]])
    attention, local_norms, global_norms = _longformer_reference(tiny_longformer.model, ids, global_positions)
    np.testing.assert_allclose(result.value_norms, local_norms, atol=NORM_TOL, rtol=0)
    np.testing.assert_allclose(result.global_value_norms, global_norms, atol=NORM_TOL, rtol=0)
    assert np.abs(local_norms - global_norms).max() > 0.1  # value and value_global really differ

    expected = _expected_scores(
        _norm_matrix(attention, local_norms, global_norms, global_positions), 0, result.sep_positions
    )
    scores = analyze(result, view="norm").scores
    for name, values in expected.items():
        np.testing.assert_allclose(scores[name], values, atol=SCORE_TOL, err_msg=name)
    # using `value` for the global rows too would give other scores: the test can tell
    wrong = _expected_scores(_norm_matrix(attention, local_norms), 0, result.sep_positions)
    assert max(np.abs(wrong[name] - expected[name]).max() for name in expected) > 1e-3


def test_banded_norm_view_equals_dense(tiny_longformer):
    dense = analyze(extract(tiny_longformer, SENTENCE, global_positions=(0, 9), banded=False), view="norm")
    banded = analyze(extract(tiny_longformer, SENTENCE, global_positions=(0, 9), banded=True), view="norm")
    for name in dense.scores:
        np.testing.assert_allclose(banded.scores[name], dense.scores[name], atol=SCORE_TOL, err_msg=name)
    np.testing.assert_allclose(banded.partition, dense.partition, atol=SCORE_TOL)
    np.testing.assert_allclose(banded.rollout, dense.rollout, atol=1e-6)  # dense head means are float32
