"""A model already in memory (models.load.loading.from_objects): the same numbers as the same
weights saved to a folder and loaded by path, and plain refusals for what cannot be read."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_encoders import tiny_bert_config
from tiny_families import SENTENCES, build_model, build_tokenizer
from transformers import AutoConfig, AutoModel, BertForSequenceClassification

from models.extract.attention import extract
from models.load.loading import ModelLoadError, from_objects, load_model
from models.score.analysis import analyze

TEXT, PAIR = SENTENCES[0], SENTENCES[2]


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer("bert")


def _assert_same_analysis(ours, theirs) -> None:
    """Exact equality of every attention array, score, partition, role and diagnosis."""
    (result, analysis), (folder_result, folder_analysis) = ours, theirs
    assert result.tokens == folder_result.tokens
    assert len(result.layer_attention) == len(folder_result.layer_attention) == 3
    for layer, folder_layer in zip(result.layer_attention, folder_result.layer_attention):
        assert layer.shape == folder_layer.shape  # [H, N, N]
        np.testing.assert_array_equal(layer, folder_layer)
    np.testing.assert_array_equal(result.value_norms, folder_result.value_norms)
    assert analysis.scores.keys() == folder_analysis.scores.keys()
    for name in analysis.scores:
        np.testing.assert_array_equal(analysis.scores[name], folder_analysis.scores[name])
    np.testing.assert_array_equal(analysis.partition, folder_analysis.partition)
    np.testing.assert_array_equal(analysis.roles, folder_analysis.roles)
    assert [str(d.message) for d in analysis.diagnosis] == [str(d.message) for d in folder_analysis.diagnosis]


def _run(loaded):
    result = extract(loaded, TEXT, PAIR)
    return result, analyze(result)


def test_in_memory_bert_gives_the_numbers_of_its_saved_folder(tokenizer, tmp_path):
    model = build_model("bert", tokenizer, initializer_range=0.3)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded = from_objects(model, tokenizer, name="my-bert")
    folder = load_model(str(tmp_path))
    assert (loaded.name, loaded.family, loaded.window) == ("my-bert", "bert", None)
    assert loaded.spec.max_tokens == folder.spec.max_tokens == 130
    assert (loaded.layers, loaded.heads) == (3, 4)
    _assert_same_analysis(_run(loaded), _run(folder))


def test_sdpa_model_with_a_task_head_is_read_through_its_eager_encoder(tokenizer, tmp_path):
    """transformers 5 builds SDPA models by default; a task-head model's encoder is what is read."""
    torch.manual_seed(1)
    model = BertForSequenceClassification(tiny_bert_config(tokenizer)).train()
    assert model.config._attn_implementation != "eager"
    model.base_model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded = from_objects(model, tokenizer)
    assert loaded.model is model.base_model and loaded.model.config._attn_implementation == "eager"
    assert not loaded.model.training
    assert loaded.name == "in-memory"
    _assert_same_analysis(_run(loaded), _run(load_model(str(tmp_path))))


def test_a_model_that_cannot_run_eager_attention_is_refused_with_the_fix(tokenizer, monkeypatch):
    model = AutoModel.from_config(tiny_bert_config(tokenizer), attn_implementation="sdpa")

    def refuse(*_args, **_kwargs):
        raise ValueError("eager attention is not available for this model")

    monkeypatch.setattr(type(model), "set_attn_implementation", refuse)
    with pytest.raises(ModelLoadError) as caught:
        from_objects(model, tokenizer, name="fast-bert")
    message = str(caught.value)
    assert "'fast-bert' runs sdpa attention" in message
    assert 'attn_implementation="eager"' in message and "eager attention is not available" in message


@pytest.mark.parametrize(
    ("model_type", "expected"),
    [
        ("gpt2", "Model type 'gpt2' is not supported; supported families are BERT, RoBERTa"),
        ("fnet", "Model type 'fnet' cannot show attention: FNet mixes tokens with a Fourier transform"),
    ],
)
def test_an_unsupported_family_gets_the_folder_rules_message(tokenizer, model_type, expected):
    sizes = dict(n_embd=32, n_layer=1, n_head=4) if model_type == "gpt2" else dict(hidden_size=32, intermediate_size=64)
    model = AutoModel.from_config(
        AutoConfig.for_model(model_type, vocab_size=len(tokenizer), num_hidden_layers=1, **sizes)
    )
    with pytest.raises(ModelLoadError) as caught:
        from_objects(model, tokenizer)
    assert expected in str(caught.value)


def test_objects_that_are_not_a_model_and_tokenizer_are_refused(tokenizer):
    with pytest.raises(ModelLoadError, match=r"needs a transformers PreTrainedModel .* got str"):
        from_objects("bert-base-uncased", tokenizer)
    model = build_model("bert", tokenizer)
    with pytest.raises(ModelLoadError, match=r"needs the model's tokenizer .* got NoneType"):
        from_objects(model, None)
