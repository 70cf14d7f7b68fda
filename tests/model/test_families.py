"""Every encoder family through the registry path: a tiny random model saved to a folder,
loaded by `load_model`, run by `extract`, checked against the raw model and by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from tiny_families import FAMILIES, LONG_SENTENCE, SENTENCES, save_family

from models.extract.attention import extract
from models.load.families import FAMILIES as TABLE
from models.load.families import family_info
from models.load.loading import ERR_OFFLINE, ModelLoadError, load_model
from models.load.registry import REGISTRY, find_spec
from models.score.analysis import analyze

ROW_TOL = 1e-5
RAW_TOL = 1e-6
SCORE_SLACK = 1e-6  # float32 rows: an even row's normalised entropy can read 1 + 2e-8
# written out here, not read from models/load/families.py: (cls, sep, number of seps in a pair)
EXPECTED_SPECIALS = {
    "bert": ("[CLS]", "[SEP]", 2),
    "distilbert": ("[CLS]", "[SEP]", 2),
    "electra": ("[CLS]", "[SEP]", 2),
    "albert": ("[CLS]", "[SEP]", 2),
    "deberta-v2": ("[CLS]", "[SEP]", 2),
    "bigbird": ("[CLS]", "[SEP]", 2),
    "modernbert": ("[CLS]", "[SEP]", 2),
    "roberta": ("<s>", "</s>", 3),
    "xlm-roberta": ("<s>", "</s>", 3),
    "mpnet": ("<s>", "</s>", 3),
    "longformer": ("<s>", "</s>", 3),
}
PLAIN_QK = ("bert", "distilbert", "electra", "albert", "roberta", "xlm-roberta")  # scores = softmax(q·k/√d)
NO_QK = ("deberta-v2", "mpnet", "modernbert")


def _first(family: str) -> str:
    return LONG_SENTENCE if family == "bigbird" else SENTENCES[0]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return {family: save_family(family, tmp_path_factory.mktemp(family)) for family in FAMILIES}


@pytest.fixture(scope="module")
def loaded(folders):
    return {family: load_model(str(folder)) for family, folder in folders.items()}


def test_every_family_of_the_issue_is_in_the_table():
    assert set(FAMILIES) == set(TABLE) == set(EXPECTED_SPECIALS)


@pytest.mark.parametrize("family", FAMILIES)
def test_loads_as_its_family(loaded, family):
    model = loaded[family]
    assert model.family == family
    assert (model.layers, model.heads) == (4 if family == "modernbert" else 3, 4)
    assert not model.model.training


@pytest.mark.parametrize("family", FAMILIES)
def test_rows_specials_and_scores(loaded, family):
    result = extract(loaded[family], _first(family), SENTENCES[1])
    attention = result.attention
    n = result.n_tokens
    assert attention.shape == (loaded[family].layers, 4, n, n)
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=ROW_TOL)
    cls, sep, pair_seps = EXPECTED_SPECIALS[family]
    assert result.tokens[0] == cls and result.tokens[-1] == sep
    assert result.cls_positions == (0,)
    assert len(result.sep_positions) == pair_seps
    assert all(result.tokens[p] == sep for p in result.sep_positions)
    assert result.sep_positions[-1] == n - 1
    assert set(result.segment_ids) == {0, 1}
    assert (family_info(family).cls_token, family_info(family).sep_token) == (cls, sep)
    analysis = analyze(result)
    for name, values in analysis.scores.items():
        assert values.shape == attention.shape[:2]
        assert values.min() >= -SCORE_SLACK and values.max() <= 1 + SCORE_SLACK, name


@pytest.mark.parametrize("family", [f for f in FAMILIES if f not in ("bigbird", "longformer")])
def test_extract_equals_the_raw_model(loaded, family):
    """The model run directly on its tokenizer's own encoding (token_type_ids passed only
    when its forward takes them) gives the same attention."""
    model = loaded[family]
    encoding = model.tokenizer(SENTENCES[0], SENTENCES[1], return_tensors="pt")
    import inspect

    takes = inspect.signature(model.model.forward).parameters
    inputs = {k: v for k, v in encoding.items() if k in takes}
    with torch.no_grad():
        raw = torch.stack(model.model(**inputs, output_attentions=True).attentions)[:, 0].numpy()
    result = extract(model, SENTENCES[0], SENTENCES[1])
    assert np.abs(result.attention - raw).max() <= RAW_TOL


@pytest.mark.parametrize("family", PLAIN_QK)
def test_captured_queries_and_keys_give_the_attention(loaded, family):
    """softmax(q kᵀ / √d) from the captured projections equals the attention, layer by layer
    (ALBERT's one shared module is captured once per layer, in order)."""
    result = extract(loaded[family], SENTENCES[0])
    assert result.queries is not None and len(result.queries) == loaded[family].layers
    for layer, (q, k) in enumerate(zip(result.queries, result.keys)):
        d = q.shape[-1]
        scores = torch.from_numpy(q @ np.swapaxes(k, 1, 2) / math.sqrt(d))
        np.testing.assert_allclose(scores.softmax(-1).numpy(), result.attention[layer], atol=1e-5)


@pytest.mark.parametrize("family", NO_QK)
def test_families_without_plain_scores_skip_queries_and_keys(loaded, family):
    result = extract(loaded[family], SENTENCES[0])
    assert result.queries is None and result.keys is None
    assert family_info(family).query_key_note


def test_position_offset_and_cap_set_max_tokens(tmp_path):
    roberta = load_model(str(save_family("roberta", tmp_path / "roberta", max_positions=130)))
    assert roberta.spec.max_tokens == 128  # positions start after the pad id
    modern = load_model(str(save_family("modernbert", tmp_path / "modern", max_positions=2048)))
    assert modern.spec.max_tokens == 1024  # N×N attention is capped
    long_input = " ".join(["the dog ran ."] * 400)
    result = extract(modern, long_input)
    assert result.n_tokens == 1024 and result.truncated


HUB_KEYS = (
    "albert-base-v2",
    "electra-base-discriminator",
    "xlm-roberta-base",
    "deberta-v3-base",
    "mpnet-base",
    "modernbert-base",
    "bigbird-roberta-base",
)


@pytest.mark.parametrize("key", HUB_KEYS)
def test_hub_entries_fail_offline_with_the_plain_message(key):
    spec = REGISTRY[key]
    assert find_spec(spec.hub_id) is spec
    with pytest.raises(ModelLoadError) as caught:
        load_model(key)
    assert str(caught.value) == ERR_OFFLINE.format(name=spec.hub_id)


@pytest.mark.parametrize(
    "model_type,needle",
    [("fnet", "has no attention weights"), ("gpt2", "supported families are BERT, RoBERTa")],
)
def test_unsupported_types_say_why(tmp_path, model_type, needle):
    from transformers import AutoConfig

    AutoConfig.for_model(model_type).save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelLoadError) as caught:
        load_model(str(tmp_path))
    assert needle in str(caught.value) and len(str(caught.value).splitlines()) == 1
    assert json.loads((tmp_path / "config.json").read_text())["model_type"] == model_type
