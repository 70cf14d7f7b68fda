"""Integration on the embedded, trained MiniLM (offline)."""

import json
import math

import numpy as np
import pytest
import torch
from cli_process import run_cli
from transformers import AutoModel, AutoTokenizer

from models.extract.attention import InputError, extract
from models.load.loading import ModelLoadError, embedded_model_path, load_model
from models.score.analysis import analyze, to_json_dict

SAME_WEIGHTS_TOL = 1e-5
CLI_TOL = 1e-4
SENTENCE = "The dog chased the cat, because it was hungry."


def test_embedded_model_is_the_trained_minilm(minilm):
    assert (minilm.family, minilm.layers, minilm.heads) == ("bert", 6, 12)
    assert minilm.model.config._attn_implementation == "eager"
    assert not minilm.model.training


def test_rows_sum_to_one_and_specials_from_mask(minilm):
    result = extract(minilm, SENTENCE)
    assert result.tokens[0] == "[CLS]" and result.tokens[-1] == "[SEP]"
    assert result.cls_positions == (0,) and result.sep_positions == (result.n_tokens - 1,)
    np.testing.assert_allclose(result.attention.sum(-1), 1.0, atol=1e-5)
    assert [SENTENCE[a:b] for a, b in result.spans[1:4]] == ["The", "dog", "chased"]


@pytest.mark.parametrize("window,text", [(16, "The dog chased the cat."), (64, SENTENCE + " It ran off, far away.")])
def test_longformer_conversion_equals_bert_below_window(minilm, window, text):
    longformer = load_model("minilm-longformer", window)
    dense = extract(minilm, text).attention
    sparse = extract(longformer, text).attention
    assert dense.shape[-1] < window
    assert np.abs(dense - sparse).max() <= SAME_WEIGHTS_TOL


def test_longformer_window_limits_attention(minilm_longformer):
    result = extract(minilm_longformer, " ".join(["word"] * 40))
    n = result.n_tokens
    distance = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    far = distance > 8
    far[0, :] = far[:, 0] = False  # [CLS] is global by default
    assert result.global_positions == (0,)
    assert result.attention[:, :, far].max() == 0.0


def test_typed_markers_are_not_doubled(minilm):
    result = extract(minilm, "[CLS] The dog chased the cat . [SEP]")
    assert result.tokens.count("[CLS]") == 1 and result.tokens.count("[SEP]") == 1
    assert result.typed_markers == ("[CLS]", "[SEP]")
    assert any("typed" in notice for notice in result.notices)
    plain = extract(minilm, "The dog chased the cat .")
    np.testing.assert_allclose(result.attention, plain.attention, atol=1e-6)


def test_sentence_pair_segments(minilm):
    result = extract(minilm, "The dog barked.", "The cat ran.")
    assert len(result.sep_positions) == 2
    first_sep = result.sep_positions[0]
    assert set(result.segment_ids[: first_sep + 1]) == {0}
    assert set(result.segment_ids[first_sep + 1 :]) == {1}
    assert "cat" in [result.text_b[a:b] for (a, b), s in zip(result.spans, result.segment_ids) if s == 1]


def test_long_text_is_truncated_with_notice(minilm):
    result = extract(minilm, "word " * 2000)
    assert result.n_tokens == 512 and result.truncated
    assert "512" in result.notices[0]
    assert (result.notices[0].kind, result.notices[0].level) == ("truncated", "info")


@pytest.mark.parametrize("text", ["", "   \n\t", "\u200b\u200b"])
def test_empty_text_is_a_clear_error(minilm, text):
    with pytest.raises(InputError):
        extract(minilm, text)


@pytest.mark.parametrize("text", ["</script><script>alert(1)</script>", "naïve café 😀 東京 \u202e", "a\x00b"])
def test_odd_text_is_analysed(minilm, text):
    result = extract(minilm, text)
    analysis = analyze(result)
    assert analysis.roles.shape == (6, 12)


def test_hub_model_offline_is_a_plain_error():
    with pytest.raises(ModelLoadError, match="not reachable"):
        load_model("bert-base-uncased")


def test_unknown_model_and_bad_window():
    with pytest.raises(ModelLoadError, match="Unknown model"):
        load_model("no-such-model")
    for window in (3, 0, -2, 2048, "abc", 7.5):
        with pytest.raises(ModelLoadError, match="even whole number"):
            load_model("minilm-longformer", window)


def _independent_scores(text):
    """cls / sep / diagonal / normalised entropy straight from transformers, [L, H]."""
    path = str(embedded_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation="eager", use_safetensors=True).eval()
    encoded = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        attention = torch.cat(model(**encoded, output_attentions=True).attentions).double()  # [L, H, N, N]
    n = attention.shape[-1]
    ids = encoded["input_ids"][0]
    sep = (ids == tokenizer.sep_token_id).nonzero().flatten()
    entropy = -(attention * torch.log(attention)).sum(-1).mean(-1) / math.log(n)
    return {
        "cls": attention[..., 0].mean(-1),
        "sep": attention[..., sep].sum(-1).mean(-1),
        "diagonal": torch.diagonal(attention, dim1=-2, dim2=-1).mean(-1),
        "entropy": entropy,
    }


def test_cli_scores_equal_an_independent_computation():
    completed = run_cli("analyze", SENTENCE, "--format", "json", check=True)
    document = json.loads(completed.stdout)
    expected = _independent_scores(SENTENCE)
    for name, values in expected.items():
        assert np.abs(np.array(document["scores"][name]) - values.numpy()).max() <= CLI_TOL, name


def test_analysis_json_shape(minilm):
    result = extract(minilm, SENTENCE)
    document = to_json_dict(result, analyze(result))
    assert document["model"] == {"key": "minilm", "family": "bert", "layers": 6, "heads": 12, "window": None}
    assert set(document["scores"]) >= {"cls", "sep", "diagonal", "prev", "next", "punct", "entropy", "cls_out"}
    assert all(len(rows) == 6 and len(rows[0]) == 12 for rows in document["scores"].values())
    for layer in document["layers"]:
        assert sum(layer["partition"].values()) == pytest.approx(1.0, abs=1e-5)
        assert sum(layer["roles"].values()) == pytest.approx(1.0, abs=1e-5)
    assert document["diagnosis"]
