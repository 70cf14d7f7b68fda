"""Unit tier: sparse-attention figures on hand-built masks, hop counts and pooled matrices (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from models.extract.banded import pool_edges
from models.extract.banded import pooled as pooled_matrix
from viz import sparse
from viz.labels import token_labels

POOL_TOL = 1e-6  # float32 pooled shares against float64 block means
MAX_PAYLOAD = 5_000_000  # bytes of plotly JSON we allow for one figure
TOKENS = ("[CLS]", "the", "cat", "sat", "on", "[SEP]")


def _local_mask(n: int, half_window: int) -> np.ndarray:
    """[N, N] bool: |i − j| ≤ half_window, read-only."""
    positions = np.arange(n)
    mask = np.abs(positions[:, None] - positions[None, :]) <= half_window
    mask.setflags(write=False)
    return mask


def _tokens(n: int) -> list[str]:
    return [f"w{i}" for i in range(n)]


def _colour_of(value: float, trace) -> str:
    """Colour a discrete colour scale gives value: the flat band whose two stops enclose it."""
    position = (value - trace.zmin) / (trace.zmax - trace.zmin)
    stops = trace.colorscale
    for (low, colour), (high, next_colour) in zip(stops[:-1], stops[1:]):
        if low <= position <= high and colour == next_colour:
            return colour
    raise AssertionError(f"{value} falls on no flat band of {stops}")


def test_mask_figure_z_is_one_for_allowed_and_zero_for_blocked():
    mask = _local_mask(len(TOKENS), 1)
    fig = sparse.mask_figure(mask, TOKENS, global_positions=(0,), title="local")
    base, overlay = fig.data
    np.testing.assert_array_equal(np.asarray(base.z), mask.astype(int))
    assert list(base.x) == token_labels(TOKENS, (0,)) == list(base.y)
    assert fig.layout.yaxis.autorange == "reversed"
    assert "blocked" in base.hovertemplate and "→" in base.hovertemplate
    # the invisible overlay carries the "allowed" hover exactly on the allowed cells
    assert "allowed" in overlay.hovertemplate and overlay.opacity == 0 and overlay.hoverongaps is False
    np.testing.assert_array_equal(~np.isnan(np.asarray(overlay.z)), mask)
    assert list(base.colorbar.ticktext) == ["blocked", "allowed"]
    assert _colour_of(0, base) == sparse.BLOCKED_COLOUR and _colour_of(1, base) == sparse.ALLOWED_COLOUR


def test_pooling_a_mask_gives_block_means_by_hand():
    rng = np.random.default_rng(0)
    mask = rng.random((10, 10)) > 0.5
    pooled, edges = pooled_matrix(mask[None], 0, 5)
    assert pooled.shape == (5, 5)
    np.testing.assert_array_equal(edges, [0, 2, 4, 6, 8, 10])
    expected = mask.reshape(5, 2, 5, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(pooled, expected)
    assert pooled[1, 3] == pytest.approx(mask[2:4, 6:8].sum() / 4)


def test_pooling_uneven_blocks_keeps_every_position():
    matrix = np.arange(49, dtype=np.float64).reshape(7, 7)
    pooled, edges = pooled_matrix(matrix[None], 0, 3)
    assert edges[0] == 0 and edges[-1] == 7 and len(edges) == 4
    for p in range(3):
        for q in range(3):
            block = matrix[edges[p] : edges[p + 1], edges[q] : edges[q + 1]]
            assert pooled[p, q] == pytest.approx(block.mean(), rel=1e-6)


def test_mask_figure_pools_above_max_cells_and_says_so():
    mask = _local_mask(10, 1)
    fig = sparse.mask_figure(mask, _tokens(10), title="local", max_cells=5)
    (trace,) = fig.data
    expected = mask.reshape(5, 2, 5, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(np.asarray(trace.z), expected, atol=POOL_TOL)
    assert "pooled" in fig.layout.title.text and "5×5" in fig.layout.title.text
    assert trace.y[1] == "2–3 (w2…)" and trace.x[4] == "8–9 (w8…)"
    assert "allowed" in trace.hovertemplate


def test_mask_figure_pools_4096_tokens_to_512_and_stays_small():
    n = 4096
    mask = _local_mask(n, 4)
    fig = sparse.mask_figure(mask, _tokens(n), global_positions=(0,), title="longformer")
    (trace,) = fig.data
    z = np.asarray(trace.z)
    assert z.shape == (sparse.MAX_CELLS, sparse.MAX_CELLS) and z.dtype == np.float32
    assert z.min() >= 0.0 and z.max() <= 1.0
    assert trace.y[0].startswith("0–7★")  # the global token's block is starred
    assert sparse.payload_bytes(fig) < MAX_PAYLOAD


def test_unpooled_mask_at_the_limit_stays_small():
    n = sparse.MAX_CELLS
    fig = sparse.mask_figure(_local_mask(n, 4), _tokens(n))
    assert len(fig.data[0].x) == n
    assert sparse.payload_bytes(fig) < MAX_PAYLOAD


def test_mask_figure_names_a_token_count_mismatch():
    with pytest.raises(ValueError, match="one token per position"):
        sparse.mask_figure(_local_mask(4, 1), TOKENS)


def test_reachability_maps_codes_to_categories():
    hops = np.array([[1, 2, 0], [1, 1, 2], [0, 0, 1]], dtype=np.int8)
    hops.setflags(write=False)
    fig = sparse.reachability_figure(hops, TOKENS[:3], title="reach")
    base, overlay = fig.data
    np.testing.assert_array_equal(np.asarray(base.z), hops)
    labels = dict(zip(base.colorbar.tickvals, base.colorbar.ticktext))
    assert labels == {0: "not within 2 hops", 1: "1 hop", 2: "2 hops"}
    colours = {code: _colour_of(code, base) for code in (0, 1, 2)}
    assert colours == {0: sparse.BLOCKED_COLOUR, 1: sparse.ALLOWED_COLOUR, 2: sparse.TWO_HOP_COLOUR}
    assert "not within 2 hops" in base.hovertemplate
    overlay_z = np.asarray(overlay.z)
    np.testing.assert_array_equal(np.isnan(overlay_z), hops == 0)
    np.testing.assert_array_equal(overlay_z[hops > 0], hops[hops > 0])


def test_reachability_pools_the_share_within_two_hops():
    hops = np.zeros((4, 4), dtype=np.int8)
    hops[0, 0], hops[0, 1], hops[1, 0] = 1, 2, 2  # top-left block: 3 of 4 pairs reachable
    fig = sparse.reachability_figure(hops, _tokens(4), title="reach", max_cells=2)
    np.testing.assert_allclose(np.asarray(fig.data[0].z), [[0.75, 0.0], [0.0, 0.0]], atol=POOL_TOL)
    assert "pooled" in fig.layout.title.text


def test_pooled_heatmap_labels_ranges_and_first_tokens():
    pooled = np.array([[0.5, 0.25], [0.125, 0.0]])
    edges = np.array([0, 1, 6])
    fig = sparse.pooled_heatmap(pooled, edges, edges, TOKENS, title="pooled")
    (trace,) = fig.data
    np.testing.assert_array_equal(np.asarray(trace.z), pooled)
    assert list(trace.y) == ["0 ([CLS])", "1–5 (the…)"] == list(trace.x)
    assert list(fig.layout.xaxis.ticktext) == ["0·[CLS]", "1·the"]  # each block named by its first token
    assert "queries %{y} → keys %{x}: mean" in trace.hovertemplate
    assert trace.zmax == 0.5 and trace.text is None and trace.customdata is None


def test_pooled_heatmap_512_cells_stays_well_under_the_limit():
    rng = np.random.default_rng(0)
    edges = pool_edges(4096)
    pooled = rng.random((512, 512)) / 100
    fig = sparse.pooled_heatmap(pooled, edges, edges, _tokens(4096), title="layer 1", zmax=0.02)
    assert np.asarray(fig.data[0].z).dtype == np.float32
    assert fig.data[0].zmax == 0.02
    assert sparse.payload_bytes(fig) < MAX_PAYLOAD / 2


def test_pooled_heatmap_checks_edges_against_shape():
    with pytest.raises(ValueError, match="row edges"):
        sparse.pooled_heatmap(np.zeros((2, 2)), np.array([0, 3]), np.array([0, 3, 6]), TOKENS)


def test_coverage_heatmap_z_equals_input():
    coverage = np.array([[1.0, 0.5, 0.25], [0.75, 0.0, 0.9]])
    fig = sparse.coverage_heatmap(coverage, "local window 8")
    (trace,) = fig.data
    np.testing.assert_array_equal(np.asarray(trace.z), coverage)
    assert list(trace.y) == ["layer 1", "layer 2"]
    assert list(trace.x) == ["head 1", "head 2", "head 3"]
    assert (trace.zmin, trace.zmax) == (0.0, 1.0) and trace.texttemplate


def test_coverage_curves_one_trace_per_pattern_and_dashed_oracle():
    curves = {"local": np.array([0.6, 0.7, 0.8]), "global": np.array([0.3, 0.2, 0.1])}
    fig = sparse.coverage_curves(curves)
    assert [trace.name for trace in fig.data] == ["local", "global"]
    np.testing.assert_array_equal(np.asarray(fig.data[0].x), [1, 2, 3])
    np.testing.assert_array_equal(np.asarray(fig.data[1].y), curves["global"])

    oracle = {"local": np.array([0.9, 0.9, 0.95]), "global": np.array([0.5, 0.5, 0.5])}
    fig = sparse.coverage_curves(curves, oracle)
    assert len(fig.data) == 2 * len(curves)
    dashed = [trace for trace in fig.data if trace.line.dash == "dash"]
    assert len(dashed) == len(oracle)
    np.testing.assert_array_equal(np.asarray(dashed[0].y), oracle["local"])
    assert dashed[0].line.color == fig.data[0].line.color
    assert fig.layout.yaxis.range[0] == 0


def test_min_window_figure_has_one_bar_per_layer():
    min_window = np.array([2, 4, 10, 30])
    fig = sparse.min_window_figure(min_window, n_tokens=16, share=0.9)
    (bar,) = fig.data
    np.testing.assert_array_equal(np.asarray(bar.y), min_window)
    assert list(bar.x) == ["layer 1", "layer 2", "layer 3", "layer 4"]
    assert "90%" in fig.layout.title.text
    assert fig.layout.shapes[0].y0 == 30  # full attention: W = 2·(16 − 1)
