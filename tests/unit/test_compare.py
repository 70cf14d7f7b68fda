"""models/compare/heads.py on hand-built attention (no model): similarity, differences, ranking,
views the analyses hold, and the layer/word fallback, each against a computation written here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pytest

from models.compare.heads import compare, score_views, to_json_dict
from models.compare.layers import match_layers
from models.result import AttentionResult, ModelInfo
from models.score.analysis import Analysis, analyze

EXACT = 1e-12
TEXT = "the dogs ran ."


def _result(attention: np.ndarray, tokens, spans, key="a", cls=0, seps=None) -> AttentionResult:
    layers, heads, n, _ = attention.shape
    seps = tuple(seps if seps is not None else [n - 1])
    special = np.zeros(n, dtype=bool)
    special[[cls, *seps]] = True
    special.setflags(write=False)
    return AttentionResult(
        text=TEXT,
        text_b=None,
        tokens=tuple(tokens),
        spans=tuple(spans),
        segment_ids=(0,) * n,
        special_mask=special,
        cls_positions=(cls,),
        sep_positions=seps,
        global_positions=(),
        truncated=False,
        typed_markers=(),
        notices=(),
        model=ModelInfo(key, "bert", layers, heads, None, "hand-built"),
        layer_attention=tuple(np.asarray(layer, dtype=np.float32) for layer in attention),
    )


def _random_attention(rng, layers, heads, n) -> np.ndarray:
    logits = rng.normal(size=(layers, heads, n, n)) * 2
    weights = np.exp(logits)
    return weights / weights.sum(-1, keepdims=True)


BERT_TOKENS = ["[CLS]", "the", "dog", "##s", "ran", ".", "[SEP]"]
BERT_SPANS = [(0, 0), (0, 3), (4, 7), (7, 8), (9, 12), (13, 14), (0, 0)]
BPE_TOKENS = ["<s>", "the", "Ġdogs", "Ġran", "Ġ.", "</s>"]
BPE_SPANS = [(0, 0), (0, 3), (4, 8), (9, 12), (13, 14), (0, 0)]


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    a = _random_attention(rng, 3, 4, 7)
    b = a.copy()
    b[1:, 2] = _random_attention(rng, 2, 1, 7)[:, 0]  # head 3 of layers 2 and 3 replaced
    b[2, 0] = 0.5 * a[2, 0] + 0.5 * np.eye(7)  # head 1 of layer 3 pulled towards the diagonal
    return _result(a, BERT_TOKENS, BERT_SPANS, "a"), _result(b, BERT_TOKENS, BERT_SPANS, "b")


def _independent_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    layers, heads, n, _ = a.shape
    out = np.zeros((layers, heads))
    for layer in range(layers):
        for h in range(heads):
            total = 0.0
            for i in range(n):
                x, y = a[layer, h, i].astype(np.float64), b[layer, h, i].astype(np.float64)
                total += float(np.dot(x, y) / (np.sqrt(np.dot(x, x)) * np.sqrt(np.dot(y, y))))
            out[layer, h] = total / n
    return out


def test_a_model_against_itself(pair):
    a, _b = pair
    result = compare(a, analyze(a), a, analyze(a))
    assert result.aligned and result.changed == ()
    assert all(np.abs(values).max() == 0 for values in result.diff.values())
    np.testing.assert_allclose(result.similarity, 1.0, atol=EXACT)
    assert len(result.summary) == 1 and "attends exactly like" in result.summary[0]


def test_similarity_equals_an_independent_computation(pair):
    a, b = pair
    result = compare(a, analyze(a), b, analyze(b))
    expected = _independent_similarity(a.attention, b.attention)
    np.testing.assert_allclose(result.similarity, expected, atol=1e-9)
    assert np.allclose(result.similarity[0], 1.0, atol=EXACT) and (expected[1:, 2] < 0.99).all()


def test_differences_are_b_minus_a_per_head(pair):
    a, b = pair
    result = compare(a, analyze(a), b, analyze(b))
    diagonal_a = np.einsum("lhii->lh", a.attention.astype(np.float64)) / 7
    diagonal_b = np.einsum("lhii->lh", b.attention.astype(np.float64)) / 7
    np.testing.assert_allclose(result.diff["diagonal"], diagonal_b - diagonal_a, atol=1e-6)
    cls_a, cls_b = a.attention[..., 0].mean(-1), b.attention[..., 0].mean(-1)
    np.testing.assert_allclose(result.diff["cls"], cls_b - cls_a, atol=1e-6)
    assert set(result.diff) >= {"cls", "sep", "entropy", "partition.to_sep"}


def test_changed_heads_are_ranked_least_similar_first(pair):
    a, b = pair
    result = compare(a, analyze(a), b, analyze(b))
    expected = _independent_similarity(a.attention, b.attention)
    moved = [(layer, h) for layer in range(3) for h in range(4) if expected[layer, h] < 1 - 1e-9]
    ranked = sorted(moved, key=lambda lh: expected[lh])
    assert [(c.layer, c.head) for c in result.changed] == ranked
    first = result.changed[0]
    assert first.before["cls"] == pytest.approx(float(a.attention[first.layer, first.head, :, 0].mean()), abs=1e-6)
    assert first.after["cls"] == pytest.approx(float(b.attention[first.layer, first.head, :, 0].mean()), abs=1e-6)
    assert "Layer 1 is unchanged" in " ".join(result.summary)


@dataclass(frozen=True, eq=False)
class _WithNorm(Analysis):
    norm: dict = field(default_factory=dict)


def test_every_view_the_analyses_hold_is_compared(pair):
    a, b = pair
    base_a, base_b = analyze(a), analyze(b)
    extra_a = _WithNorm(**base_a.__dict__, norm={"scores": {"cls": np.full((3, 4), 0.25)}})
    extra_b = _WithNorm(**base_b.__dict__, norm={"scores": {"cls": np.full((3, 4), 0.75)}})
    assert "norm.scores.cls" in score_views(extra_a)
    result = compare(a, extra_a, b, extra_b)
    np.testing.assert_allclose(result.diff["norm.scores.cls"], 0.5)


def test_other_tokenizer_gives_layers_words_and_a_notice():
    rng = np.random.default_rng(1)
    a = _result(_random_attention(rng, 3, 4, 7), BERT_TOKENS, BERT_SPANS, "bert")
    b_attention = _random_attention(rng, 6, 2, 6)
    b = _result(b_attention, BPE_TOKENS, BPE_SPANS, "roberta")
    result = compare(a, analyze(a), b, analyze(b))
    assert not result.aligned and result.diff is None and result.similarity is None
    assert any("split this input differently" in notice for notice in result.notices)
    assert result.layers.matched == ((0, 0), (1, 2), (2, 5)) and result.words.words == (
        "[CLS]",
        "the",
        "dogs",
        "ran",
        ".",
        "[SEP]",
    )
    # word level, by hand: A's "dog" + "##s" join into one word (keys summed, queries averaged)
    join = np.zeros((7, 6))
    for token, word in enumerate([0, 1, 2, 2, 3, 4, 5]):
        join[token, word] = 1
    average = join / join.sum(0)
    for k, (la, lb) in enumerate(result.layers.matched):
        word_a = average.T @ a.attention[la].astype(np.float64).mean(0) @ join
        word_b = b_attention[lb].astype(np.float32).astype(np.float64).mean(0)  # B's tokens are its words
        cosines = [np.dot(x, y) / np.linalg.norm(x) / np.linalg.norm(y) for x, y in zip(word_a, word_b)]
        assert result.words.similarity[k] == pytest.approx(np.mean(cosines), abs=1e-6)
    json.dumps(to_json_dict(result))


def test_words_missing_on_one_side_are_reported():
    rng = np.random.default_rng(2)
    tokens, spans = [*BERT_TOKENS[:4], "[SEP]"], [*BERT_SPANS[:4], (0, 0)]  # "ran ." cut off
    a = _result(_random_attention(rng, 2, 2, 5), tokens, spans, "short")
    b = _result(_random_attention(rng, 2, 2, 6), BPE_TOKENS, BPE_SPANS, "long")
    result = compare(a, analyze(a), b, analyze(b))
    assert result.words.unaligned_b == ("Ġran", "Ġ.") and result.words.unaligned_a == ()
    assert any("Could not align 2 tokens of long" in notice for notice in result.notices)


@pytest.mark.parametrize("n_a,n_b", [(6, 12), (12, 6), (3, 3), (1, 4)])
def test_layers_meet_at_the_nearest_depth(n_a, n_b):
    expected = []
    for la in range(n_a):
        depth = la / max(n_a - 1, 1)
        distances = [abs(lb / max(n_b - 1, 1) - depth) for lb in range(n_b)]
        expected.append((la, distances.index(min(distances))))
    assert match_layers(n_a, n_b) == tuple(expected)
