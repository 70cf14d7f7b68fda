"""Unit tier: sparse masks on hand-checkable sizes, and their measures on hand-built attention."""

import numpy as np
import pytest

from models.sparse import patterns as S

COVER_TOL = 1e-6


def _pairs(mask) -> set[tuple[int, int]]:
    return {(int(i), int(j)) for i, j in zip(*np.nonzero(mask))}


def _random_attention(layers=2, heads=3, n=10, seed=0):
    rng = np.random.default_rng(seed)
    weights = rng.random((layers, heads, n, n)) ** 4  # peaked rows
    weights /= weights.sum(-1, keepdims=True)
    return [w.astype(np.float32) for w in weights]


def test_local_window_2_allows_exactly_the_neighbours():
    assert _pairs(S.local_mask(6, 2)) == {(i, j) for i in range(6) for j in range(6) if abs(i - j) <= 1}
    assert _pairs(S.local_mask(4, 0)) == {(i, i) for i in range(4)}


def test_dilated_window_4_dilation_2():
    expected = {(i, j) for i in range(8) for j in range(8) if abs(i - j) in (0, 2, 4)}
    assert _pairs(S.dilated_mask(8, 4, 2)) == expected
    np.testing.assert_array_equal(S.dilated_mask(8, 4, 1), S.local_mask(8, 4))


def test_global_and_longformer():
    expected_global = {(i, j) for i in range(5) for j in range(5) if i in (0, 3) or j in (0, 3)}
    assert _pairs(S.global_mask(5, (0, 3))) == expected_global
    both = _pairs(S.longformer_mask(5, 2, (0, 3)))
    assert both == expected_global | _pairs(S.local_mask(5, 2))
    assert (1, 4) not in both and (4, 1) not in both


def test_bigbird_adds_whole_random_blocks_reproducibly():
    base = S.longformer_mask(12, 2, (0,))
    first = S.bigbird_mask(12, 2, (0,), block=3, random_blocks=1, seed=5)
    np.testing.assert_array_equal(first, S.bigbird_mask(12, 2, (0,), block=3, random_blocks=1, seed=5))
    assert (first & base).sum() == base.sum()  # window | global is kept
    extra = first & ~base
    assert extra.any()
    blocks = first.reshape(4, 3, 4, 3).all(axis=(1, 3))  # [query block, key block] fully allowed
    for i, j in zip(*np.nonzero(extra)):
        assert blocks[i // 3, j // 3], (i, j)  # every added pair lies in a whole allowed block
    # with r = all blocks, everything is allowed
    assert S.bigbird_mask(12, 2, (0,), block=3, random_blocks=4, seed=0).all()


def test_lsh_same_vectors_share_buckets_and_seed_reproduces():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((2, 7, 5))
    mask = S.lsh_mask(vectors, vectors, n_buckets=4, seed=3)
    assert mask.shape == (2, 7, 7)
    np.testing.assert_array_equal(mask, S.lsh_mask(vectors, vectors, 4, 3))
    buckets = S.lsh_buckets(vectors, 4, 3)
    np.testing.assert_array_equal(mask, buckets[:, :, None] == buckets[:, None, :])
    assert np.diagonal(mask, axis1=1, axis2=2).all()
    # a scaled copy points the same way: same bucket; the opposite vector never does
    assert (S.lsh_buckets(3 * vectors, 4, 3) == buckets).all()
    assert (S.lsh_buckets(-vectors, 4, 3) != buckets).all()


def test_topk_and_share_masks_on_a_hand_row():
    row = np.array([[[0.1, 0.5, 0.05, 0.3, 0.05]]])
    assert _pairs(S.topk_mask(row, 2)[0]) == {(0, 1), (0, 3)}
    assert S.topk_mask(row, 99).all()
    assert _pairs(S.share_mask(row, 0.8)[0]) == {(0, 1), (0, 3)}  # 0.5 + 0.3 = 0.8
    assert _pairs(S.share_mask(row, 0.81)[0]) == {(0, 1), (0, 3), (0, 0)}


def test_density_and_coverage_by_hand():
    assert S.density(S.local_mask(4, 2)) == pytest.approx(10 / 16)
    attention = [np.array([[[0.5, 0.5, 0.0], [0.2, 0.2, 0.6], [0.1, 0.0, 0.9]]])]
    covered = S.coverage(attention, S.local_mask(3, 2))
    # rows keep 1.0, 1.0 and 0.9 of their mass
    assert covered.shape == (1, 1) and covered[0, 0] == pytest.approx((1.0 + 1.0 + 0.9) / 3)
    everything = _random_attention()
    np.testing.assert_allclose(S.coverage(everything, np.ones((10, 10), bool)), 1.0, atol=COVER_TOL)


def test_min_window_by_hand():
    n = 9
    weights = np.zeros((1, n, n))
    for i in range(n):  # all mass two tokens away (right when possible)
        weights[0, i, i + 2 if i + 2 < n else i - 2] = 1.0
    assert S.min_window([weights], 0.9).tolist() == [4]
    assert S.min_window([np.eye(n)[None]], 0.9).tolist() == [0]


def test_oracle_beats_every_pattern_with_the_same_keys_per_row():
    attention = _random_attention(n=12)
    rng = np.random.default_rng(2)
    for k in (1, 3, 6):
        for _ in range(5):  # random masks with exactly k keys in every row
            mask = np.zeros((12, 12), dtype=bool)
            for row in mask:
                row[rng.choice(12, size=k, replace=False)] = True
            oracle = S.oracle_coverage(attention, S.density(mask))
            assert (oracle >= S.coverage(attention, mask) - COVER_TOL).all()
        # and the oracle is exactly the top-k mask's coverage
        topk = np.stack([S.topk_mask(w, k) for w in attention])
        np.testing.assert_allclose(S.oracle_coverage(attention, k / 12), S.coverage(attention, topk), atol=COVER_TOL)


def test_window_plus_hub_reaches_everyone_in_two_hops():
    window_only = S.reachability(S.local_mask(10, 2))
    assert window_only[0, 9] == 0 and window_only[0, 2] == 2 and window_only[0, 1] == 1
    hub = S.reachability(S.longformer_mask(10, 2, (0,)))
    assert (hub > 0).all()
    assert hub[3, 8] == 2 and hub[3, 0] == 1
    assert S.reach_summary(hub)["two_hops"] == 1.0


@pytest.mark.parametrize("pattern", S.PATTERNS)
def test_explore_every_pattern(pattern):
    attention = _random_attention()
    rng = np.random.default_rng(1)
    qk = [rng.standard_normal((3, 10, 4)) for _ in range(2)]
    report = S.explore(attention, pattern, S.PatternParams(window=2, global_positions=(0,), topk=2), 0.9, qk, qk)
    assert report.coverage.shape == (2, 3) and report.oracle.shape == (2, 3)
    assert 0 < report.density <= 1 and report.computed <= 100
    assert ((report.coverage >= -COVER_TOL) & (report.coverage <= 1 + COVER_TOL)).all()
    assert report.min_window.shape == (2,)
    assert (report.hops is None) == (pattern in ("lsh", "topk"))


@pytest.mark.parametrize(
    "params, message",
    [
        (S.PatternParams(window=3), "even"),
        (S.PatternParams(window=-2), "even"),
        (S.PatternParams(dilation=0), "dilation"),
        (S.PatternParams(global_positions=(10,)), "out of range"),
        (S.PatternParams(block=0), "block"),
        (S.PatternParams(buckets=3), "buckets"),
        (S.PatternParams(topk=0), "Top-k"),
    ],
)
def test_bad_params_raise_clear_errors(params, message):
    attention = _random_attention()
    qk = [np.ones((3, 10, 4))] * 2
    with pytest.raises(ValueError, match=message):
        for pattern in S.PATTERNS:
            S.explore(attention, pattern, params, 0.9, qk, qk)


def test_lsh_without_queries_says_so():
    with pytest.raises(ValueError, match="queries and keys"):
        S.explore(_random_attention(), "lsh")


def test_lsh_with_missing_layers_says_so():
    attention = _random_attention()
    qk = [np.ones((3, 10, 4))]  # one layer of queries/keys for two layers of attention
    with pytest.raises(ValueError, match="each of the 2 layers"):
        S.explore(attention, "lsh", S.PatternParams(), 0.9, qk, qk)


def test_report_arrays_are_read_only():
    report = S.explore(_random_attention(), "local")
    with pytest.raises(ValueError):
        report.coverage[0, 0] = 2.0
