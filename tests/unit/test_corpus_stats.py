"""Mergeable aggregates: any split, merged in any order, equals the whole and numpy's answer."""

import math
import random

import numpy as np
import pytest

from models.corpus.scores import SentenceScores
from models.corpus.stats import CorpusStats, Moments, TopK, ViewStats, t_quantile
from models.score.roles import ROLES, RoleThresholds, classify_heads
from models.score.scores import SCORE_NAMES

L, H, K = 3, 4, 3
TOL = 1e-10


def _random_scores(rng: np.random.Generator, size: int, norm: bool = False) -> SentenceScores:
    scores = {name: rng.random((size, L, H)) for name in SCORE_NAMES}
    scores["cls"] = np.round(scores["cls"], 1)  # plenty of exact ties for the top-k lists
    parts = rng.random((size, L, H, 4))
    sizes = rng.uniform(0.1, 5.0, (size, L, 3)) if norm else None
    return SentenceScores(scores, parts / parts.sum(-1, keepdims=True), rng.random((size, L)), sizes)


def _stats(views: dict[str, SentenceScores], indices: np.ndarray, k: int = K) -> CorpusStats:
    stats = {name: ViewStats.of(scores, indices, RoleThresholds(), k) for name, scores in views.items()}
    texts = {int(i): (f"sentence {i}", None) for i in indices}
    n = len(indices)  # skips and truncations proportional to the part, so that parts add up
    return CorpusStats().merge(CorpusStats(4 * n, n, {"blank": n, "empty": 2 * n}, n, stats, texts))


def _slice(scores: SentenceScores, rows: np.ndarray) -> SentenceScores:
    return SentenceScores(
        {n: v[rows] for n, v in scores.scores.items()},
        scores.partition[rows],
        scores.layer_summary[rows],
        None if scores.norm_sizes is None else scores.norm_sizes[rows],
    )


def _assert_same(a: CorpusStats, b: CorpusStats) -> None:
    assert (a.records, a.sentences, a.skipped, a.truncated) == (b.records, b.sentences, b.skipped, b.truncated)
    assert set(a.views) == set(b.views)
    for view in a.views:
        va, vb = a.views[view], b.views[view]
        assert set(va.moments) == set(vb.moments)
        for name, moments in va.moments.items():
            other = vb.moments[name]
            assert moments.count == other.count
            np.testing.assert_allclose(moments.mean, other.mean, atol=TOL, rtol=0)
            np.testing.assert_allclose(moments.m2, other.m2, atol=TOL, rtol=0)
        np.testing.assert_array_equal(va.role_counts, vb.role_counts)
        for field in ("high_value", "high_index", "low_value", "low_index"):
            np.testing.assert_array_equal(getattr(va.top, field), getattr(vb.top, field))
    assert a.texts == b.texts


def test_random_splits_merged_in_random_order_equal_the_whole():
    """Both views: the weight view, and the norm view with its value-norm sizes."""
    rng, shuffler = np.random.default_rng(7), random.Random(7)
    size = 41
    views = {"weight": _random_scores(rng, size), "norm": _random_scores(rng, size, norm=True)}
    indices = rng.permutation(1000)[:size]  # sentence indices need not be contiguous
    whole = _stats(views, indices)
    assert "norm_sizes" in whole.views["norm"].moments and "norm_sizes" not in whole.views["weight"].moments
    np.testing.assert_allclose(whole.views["norm"].moments["norm_sizes"].mean, views["norm"].norm_sizes.mean(0))
    for _trial in range(40):
        cuts = sorted(shuffler.sample(range(1, size), shuffler.randint(1, 8)))
        order = rng.permutation(size)  # which sentences land in which part is random too
        parts = [
            _stats({name: _slice(scores, rows) for name, scores in views.items()}, indices[rows])
            for rows in np.split(order, cuts)
        ]
        shuffler.shuffle(parts)
        merged = CorpusStats()
        for part in parts:
            merged = merged.merge(part) if shuffler.random() < 0.5 else part.merge(merged)
        _assert_same(merged, whole)


def test_moments_equal_numpy_mean_std_and_the_t_interval():
    rng = np.random.default_rng(3)
    values = rng.normal(0.4, 0.1, size=(57, L, H))
    merged = Moments.of(values[:20]).merge(Moments.of(values[20:21])).merge(Moments.of(values[21:]))
    np.testing.assert_allclose(merged.mean, values.mean(0), atol=TOL)
    np.testing.assert_allclose(merged.std, values.std(0, ddof=1), atol=TOL)
    np.testing.assert_allclose(merged.ci, 2.0032 * values.std(0, ddof=1) / math.sqrt(57), rtol=1e-4)
    one = Moments.of(values[:1])
    assert np.all(one.std == 0) and np.all(np.isnan(one.ci))


@pytest.mark.parametrize(
    "dof,expected", [(1, 12.706), (10, 2.228), (30, 2.042), (56, 2.0032), (100, 1.984), (10_000, 1.9602)]
)
def test_t_quantile(dof, expected):
    assert t_quantile(dof) == pytest.approx(expected, abs=2e-4)


def test_top_k_equals_a_sort_with_ties_broken_by_index():
    rng = np.random.default_rng(11)
    values = np.round(rng.random((30, 2, L, H)), 1)  # [B, S, L, H] with ties
    indices = rng.permutation(30) + 100
    top = TopK.empty((2, L, H), K).add(values[:13], indices[:13]).add(values[13:], indices[13:])
    for s in range(2):
        for layer in range(L):
            for head in range(H):
                pairs = [(values[b, s, layer, head], indices[b]) for b in range(30)]
                high = sorted(pairs, key=lambda p: (-p[0], p[1]))[:K]
                low = sorted(pairs, key=lambda p: (p[0], p[1]))[:K]
                assert [i for _, i in high] == top.high_index[s, layer, head].tolist()
                assert [v for v, _ in low] == top.low_value[s, layer, head].tolist()


def test_role_counts_count_sentences_per_head_and_role():
    rng = np.random.default_rng(5)
    scores = _random_scores(rng, 25)
    stats = _stats({"weight": scores}, np.arange(25))
    roles = classify_heads(scores.scores, RoleThresholds())
    expected = np.stack([(roles == role).sum(0) for role in ROLES])
    np.testing.assert_array_equal(stats.views["weight"].role_counts, expected)
    np.testing.assert_array_equal(stats.views["weight"].role_counts.sum(0), 25)


def test_only_the_texts_of_top_sentences_are_kept():
    flat = SentenceScores(
        {name: np.full((25, L, H), 0.5) for name in SCORE_NAMES}, np.full((25, L, H, 4), 0.25), np.zeros((25, L))
    )
    stats = _stats({"weight": flat}, np.arange(25) + 10, k=2).merge(_stats({"weight": flat}, np.arange(25) + 50, k=2))
    assert set(stats.texts) == stats.views["weight"].top.referenced() == {10, 11}  # ties: lowest indices
