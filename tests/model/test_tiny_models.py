"""Tiny random BERT and Longformer built from a config: extraction and the banded rebuild."""

from functools import partial

import numpy as np
import pytest
import torch
from tiny_encoders import reference_longformer_attention, tiny_config, tiny_loaded
from transformers import BertConfig, BertModel, LongformerConfig, LongformerModel

from models.extract.attention import extract
from models.load.loading import ModelLoadError, load_model

REBUILD_TOL = 1e-5
ROW_TOL = 1e-5
SENTENCE = "the quick brown fox jumps over the lazy dog , and then it runs far away into the dark forest ."
_tiny_config = partial(tiny_config, seed=0)
_loaded = partial(tiny_loaded, description="tiny test model")


@pytest.fixture(scope="module")
def tiny_bert(tokenizer):
    return _loaded(BertModel(_tiny_config(BertConfig)), tokenizer, "bert")


@pytest.fixture(scope="module")
def tiny_longformer(tokenizer):
    config = _tiny_config(LongformerConfig, attention_window=[4, 8, 6], pad_token_id=0)
    return _loaded(LongformerModel(config), tokenizer, "longformer", window=8)


def test_tiny_bert_shapes_and_rows(tiny_bert):
    result = extract(tiny_bert, SENTENCE)
    attention = result.attention
    assert attention.shape == (3, 4, result.n_tokens, result.n_tokens)
    assert attention.dtype == np.float32
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=ROW_TOL)
    assert not attention.flags.writeable


def _independent_longformer(model, input_ids, global_positions):
    """Dense masked softmax from each layer's own query/key(+global) weights: [L, H, N, N]."""
    global_mask = torch.zeros_like(input_ids)
    global_mask[0, list(global_positions)] = 1
    with torch.no_grad():
        out = model(input_ids=input_ids, global_attention_mask=global_mask, output_hidden_states=True)
        layers = []
        for index, layer in enumerate(model.encoder.layer):
            attn = layer.attention.self
            hidden = out.hidden_states[index][0]  # [N, hidden]
            probs = reference_longformer_attention(attn, hidden, model.config.attention_window[index], global_positions)
            layers.append(probs)
    return torch.stack(layers).numpy()


@pytest.mark.parametrize("global_positions", [(0,), (0, 5, 11), ()])
def test_longformer_rebuild_matches_independent_softmax(tiny_longformer, tokenizer, global_positions):
    result = extract(tiny_longformer, SENTENCE, global_positions=global_positions or None)
    if not global_positions:
        global_positions = (0,)  # the default: [CLS]
    assert result.global_positions == global_positions
    ids = torch.tensor([tokenizer(SENTENCE)["input_ids"]])
    expected = _independent_longformer(tiny_longformer.model, ids, global_positions)
    assert np.abs(result.attention - expected).max() <= REBUILD_TOL
    np.testing.assert_allclose(result.attention.sum(-1), 1.0, atol=ROW_TOL)


def test_longformer_windows_differ_per_layer(tiny_longformer):
    result = extract(tiny_longformer, SENTENCE, global_positions=[0])
    n = result.n_tokens
    distance = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    for layer, window in enumerate((4, 8, 6)):
        outside = distance > window // 2
        outside[:, 0] = False
        outside[0, :] = False
        assert result.attention[layer][:, outside].max() == 0.0
        assert result.attention[layer][:, distance == window // 2].min() > 0.0


def test_local_directory_round_trip(tmp_path, tiny_bert, tokenizer):
    tiny_bert.model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded = load_model(str(tmp_path))
    assert loaded.family == "bert" and loaded.layers == 3 and loaded.heads == 4
    assert loaded.spec.max_tokens == 128
    expected = extract(tiny_bert, "a small test").attention
    np.testing.assert_allclose(extract(loaded, "a small test").attention, expected, atol=1e-6)


def test_local_directory_without_safetensors(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="safetensors"):
        load_model(str(tmp_path))
