"""`from models import analyze_text, load_model`: the notebook's front door gives the numbers of
the lower-level path (load_model / from_objects → extract → analyze) and of transformers' own
forward pass, for a registry key and for a tiny random BERT held in memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_encoders import tiny_bert_config
from tiny_families import SENTENCES, build_tokenizer
from transformers import BertModel

from models.extract.attention import InputError, extract
from models.load.loading import LoadedModel, from_objects
from models.score.analysis import analyze

ROW_SUM_TOLERANCE = 1e-5  # float32 attention rows
FORWARD_TOLERANCE = 1e-6  # the same float32 forward pass, read through another route
TEXT, PAIR = SENTENCES[0], SENTENCES[2]


def _assert_same(ours, theirs) -> None:
    """Exact equality of every attention array, score, partition and role."""
    (result, analysis), (their_result, their_analysis) = ours, theirs
    assert result.tokens == their_result.tokens
    for layer, their_layer in zip(result.layer_attention, their_result.layer_attention, strict=True):
        np.testing.assert_array_equal(layer, their_layer)  # [H, N, N]
    assert analysis.view == their_analysis.view
    assert analysis.scores.keys() == their_analysis.scores.keys()
    for name in analysis.scores:
        np.testing.assert_array_equal(analysis.scores[name], their_analysis.scores[name])  # [L, H]
    np.testing.assert_array_equal(analysis.partition, their_analysis.partition)  # [L, H, 4]
    np.testing.assert_array_equal(analysis.roles, their_analysis.roles)  # [L, H]


def _tiny_bert():
    """A random 3-layer, 4-head BERT and its WordPiece tokenizer, built in memory (SDPA by default)."""
    tokenizer = build_tokenizer("bert")
    torch.manual_seed(3)
    return BertModel(tiny_bert_config(tokenizer)), tokenizer


def test_the_front_door_names_load_lazily():
    import models

    assert models.analyze_text.__module__ == "models.api"
    assert models.load_model.__module__ == "models.load.loading"
    from models import analyze_text, load_model  # noqa: F401  (the notebook's import works)

    with pytest.raises(AttributeError):
        models.no_such_name  # noqa: B018


def test_a_registry_key_gives_the_lower_level_path_numbers(minilm):
    from models import analyze_text

    text = "The cat sat on the mat because it was tired."
    result, analysis = analyze_text(text, "minilm", view="norm")
    assert isinstance(minilm, LoadedModel) and result.model.key == "minilm"
    lower = extract(minilm, text)
    _assert_same((result, analysis), (lower, analyze(lower, view="norm")))
    for layer in result.layer_attention:  # [H, N, N]
        np.testing.assert_allclose(layer.sum(axis=-1), 1.0, atol=ROW_SUM_TOLERANCE)
    assert not result.layer_attention[0].flags.writeable  # the app's frozen results


def test_a_loaded_model_is_used_as_it_is(minilm):
    from models import analyze_text

    done = analyze_text("A small test.", minilm, pair="And another one.")
    assert done.result.text_b == "And another one." and done.analysis.view == "weight"
    lower = extract(minilm, "A small test.", "And another one.")
    _assert_same(done, (lower, analyze(lower)))


def test_a_model_and_tokenizer_in_memory_give_transformers_own_attention():
    from models import analyze_text

    model, tokenizer = _tiny_bert()
    result, analysis = analyze_text(TEXT, (model, tokenizer), pair=PAIR, exclude_special=True)
    assert result.model.family == "bert" and (result.model.layers, result.model.heads) == (3, 4)
    assert analysis.exclude_special

    lower = extract(from_objects(model, tokenizer), TEXT, PAIR)  # the same objects, the lower path
    _assert_same((result, analysis), (lower, analyze(lower, exclude_special=True)))

    encoding = tokenizer(TEXT, PAIR, return_tensors="pt")
    with torch.no_grad():
        theirs = model(**encoding, output_attentions=True).attentions  # L × [1, H, N, N]
    assert result.tokens == tuple(tokenizer.convert_ids_to_tokens(encoding["input_ids"][0].tolist()))
    for layer, their_layer in zip(result.layer_attention, theirs, strict=True):
        np.testing.assert_allclose(layer, their_layer[0].numpy(), atol=FORWARD_TOLERANCE)
        np.testing.assert_allclose(layer.sum(axis=-1), 1.0, atol=ROW_SUM_TOLERANCE)


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_text_is_refused_before_any_model_loads(text):
    from models import analyze_text
    from models.extract.attention import ERR_EMPTY

    with pytest.raises(InputError) as caught:
        analyze_text(text, "no-such-model")  # an empty text says so; the model is never read
    assert str(caught.value) == str(ERR_EMPTY)


def test_an_argument_that_is_no_model_is_refused_plainly():
    from models import analyze_text
    from models.load.loading import ModelLoadError

    with pytest.raises(ModelLoadError, match="registry key, a local folder"):
        analyze_text("A sentence.", 42)
