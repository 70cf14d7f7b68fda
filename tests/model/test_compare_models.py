"""Two tiny random models through compare_models: a re-initialised layer, another tokenizer,
another depth."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tiny_encoders import with_layer_redrawn
from tiny_families import SENTENCES, build_model, build_tokenizer, save_family

from models.compare.heads import compare_models, to_json_dict
from models.load.loading import load_model

UNCHANGED = 1e-6


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bert")
    return load_model(str(save_family("bert", folder, initializer_range=0.3)))  # peaked, input-dependent heads


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_reinitialising_a_layer_changes_it_and_what_follows(bert, tmp_path, layer):
    changed = with_layer_redrawn(bert, layer, tmp_path)
    result = compare_models(bert, changed, SENTENCES[0], SENTENCES[1])
    assert result.aligned
    for earlier in range(layer):
        assert (1 - result.similarity[earlier] < UNCHANGED).all()
        assert all(np.abs(diff[earlier]).max() < UNCHANGED for diff in result.diff.values())
        assert np.array_equal(result.result_a.attention[earlier], result.result_b.attention[earlier])
    for later in range(layer, 3):
        assert (result.similarity[later] < 1 - 1e-3).any()
        assert not np.allclose(result.result_a.attention[later], result.result_b.attention[later])
    assert {change.layer for change in result.changed} <= set(range(layer, 3))
    assert result.changed[0].layer >= layer


def test_a_model_against_itself_through_the_loader(bert):
    result = compare_models(bert, bert, SENTENCES[0])
    np.testing.assert_allclose(result.similarity, 1.0, atol=1e-9)
    assert all(np.abs(diff).max() == 0 for diff in result.diff.values())
    assert result.changed == ()


def test_other_tokenizer_compares_layers_with_a_notice(bert, tmp_path):
    roberta = load_model(str(save_family("roberta", tmp_path)))
    result = compare_models(bert, roberta, SENTENCES[0], SENTENCES[1])
    assert not result.aligned and result.diff is None
    assert any("split this input differently" in notice for notice in result.notices)
    assert len(result.layers.matched) == 3 and result.words is not None
    assert result.words.words[0] == "[CLS]" and "forest" in result.words.words
    assert result.words.similarity.shape == (3,) and (result.words.similarity > 0).all()
    document = json.loads(json.dumps(to_json_dict(result)))
    assert document["aligned"] is False and document["similarity"] is None
    assert document["a"]["model"]["family"] == "bert" and document["b"]["model"]["family"] == "roberta"


def test_other_depth_with_the_same_tokens(bert, tmp_path):
    tokenizer = build_tokenizer("bert")
    deeper = build_model("bert", tokenizer)
    config = deeper.config
    config.num_hidden_layers = 5
    torch.manual_seed(1)
    from transformers import BertModel

    BertModel(config).eval().save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    result = compare_models(bert, load_model(str(tmp_path)), SENTENCES[0])
    assert not result.aligned
    assert any("different shapes (3 × 4 and 5 × 4" in notice for notice in result.notices)
    assert result.layers.matched == ((0, 0), (1, 2), (2, 4))
    assert result.words.unaligned_a == () and result.words.unaligned_b == ()
