"""The corpus norm view on tiny random models: a Longformer whose `value_global` differs from
`value` (dense batches and a sentence over 512 tokens), and a family without a capture entry."""

from functools import partial

import numpy as np
import pytest
import torch
from tiny_encoders import tiny_config, tiny_loaded
from transformers import AlbertConfig, AlbertModel, LongformerConfig, LongformerModel

from models.corpus.engine import CorpusOptions, run_corpus
from models.corpus.result import to_json_dict
from models.corpus.source import open_upload
from models.extract.attention import DENSE_LIMIT, extract
from models.score.analysis import analyze_views
from models.score.scores import PART_NAMES, SCORE_NAMES

TOL = 1e-5  # a padded batch and one sentence alone differ in float32 rounding
HEADS, HIDDEN = 4, 32
TEXTS = [
    "the quick brown fox jumps over the lazy dog , and then it runs far away .",
    "a small test .",
    "the cat sat on the mat , and the dog ran after it because it was hungry .",
    "why ?",
]
LONG = " ".join(["the quick brown fox jumps over the lazy dog ."] * 60)  # over 512 tokens
_config = partial(tiny_config, seed=5, max_positions=1030, initializer_range=0.3)
_loaded = partial(tiny_loaded, max_tokens=1000)


@pytest.fixture(scope="module")
def tiny_longformer(tokenizer):
    model = LongformerModel(_config(LongformerConfig, attention_window=[4, 8, 4], pad_token_id=0))
    generator = torch.Generator().manual_seed(11)
    with torch.no_grad():  # the global rows' value projection differs from the local one
        for layer in model.encoder.layer:
            attn = layer.attention.self
            attn.value_global.weight.copy_(torch.randn(attn.value_global.weight.shape, generator=generator) * 0.3)
            attn.value_global.bias.copy_(torch.randn(attn.value_global.bias.shape, generator=generator))
    return _loaded(model, tokenizer, "longformer", window=8)


@pytest.fixture(scope="module")
def tiny_albert(tokenizer):
    return _loaded(AlbertModel(_config(AlbertConfig, embedding_size=16)), tokenizer, "albert")


def _assert_equal_to_single_analyses(result, loaded, texts, views):
    singles = [analyze_views(extract(loaded, text), rollout_views=()) for text in texts]
    for view in views:
        chosen = result.views[view]
        for name in SCORE_NAMES:
            values = np.stack([single[view].scores[name] for single in singles])
            np.testing.assert_allclose(chosen.scores[name].mean, values.mean(0), atol=TOL, err_msg=f"{view} {name}")
            np.testing.assert_allclose(
                chosen.scores[name].std, values.std(0, ddof=1), atol=TOL, err_msg=f"{view} {name}"
            )
        for k, part in enumerate(PART_NAMES):
            values = np.stack([single[view].partition[..., k] for single in singles])
            np.testing.assert_allclose(chosen.partition[part].mean, values.mean(0), atol=TOL, err_msg=f"{view} {part}")
        summaries = np.stack([single[view].layer_summary for single in singles])
        np.testing.assert_allclose(chosen.layer_summary.mean, summaries.mean(0), atol=TOL)


def test_longformer_norm_view_uses_value_global_on_the_global_rows(tiny_longformer):
    result = run_corpus(tiny_longformer, open_upload("\n".join(TEXTS).encode(), "c.txt"), CorpusOptions(batch_size=3))
    assert set(result.views) == {"weight", "norm"} and result.notices == ()
    _assert_equal_to_single_analyses(result, tiny_longformer, TEXTS, ("weight", "norm"))
    alone = extract(tiny_longformer, TEXTS[0])
    assert not np.allclose(alone.global_value_norms, alone.value_norms)  # the test means something


def test_longformer_sentence_over_512_tokens_gives_both_views(tiny_longformer):
    assert extract(tiny_longformer, LONG).n_tokens > DENSE_LIMIT
    texts = [TEXTS[1], LONG]
    result = run_corpus(tiny_longformer, open_upload("\n".join(texts).encode(), "c.txt"))
    assert result.sentences == 2 and set(result.views) == {"weight", "norm"}
    _assert_equal_to_single_analyses(result, tiny_longformer, texts, ("weight", "norm"))
    long_result = extract(tiny_longformer, LONG)
    cls_norms = long_result.value_norms[:, :, long_result.cls_positions[0]].mean(axis=1)
    short = extract(tiny_longformer, TEXTS[1])
    expected = (cls_norms + short.value_norms[:, :, short.cls_positions[0]].mean(axis=1)) / 2
    np.testing.assert_allclose(result.norm.norm_sizes["cls"].mean, expected, rtol=1e-5)


def test_a_family_without_capture_gives_the_weight_view_and_says_so(tiny_albert):
    result = run_corpus(tiny_albert, open_upload("\n".join(TEXTS).encode(), "c.txt"))
    assert set(result.views) == {"weight"} and result.norm is None and result.comparison == ()
    assert "The norm view is not available for albert models" in result.notices[0]
    _assert_equal_to_single_analyses(result, tiny_albert, TEXTS, ("weight",))
    document = to_json_dict(result)
    assert document["views"] == ["weight"] and document["norm"] is None
    assert document["notices"] == [str(result.notices[0])]
