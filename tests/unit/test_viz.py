"""Unit tier: figure builders and export bytes on hand-built attention (no model)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import zipfile

import numpy as np
import plotly.graph_objects as go
import pytest
from tiers import run_without_chromium

from viz import export, heatmaps, overview
from viz.labels import token_labels

ROW_SUM_TOL = 1e-9
TOKENS = ("[CLS]", "the", "cat", "the", "[SEP]")
SPECIAL = np.array([True, False, False, False, True])
CHROMIUM = "/usr/bin/chromium"


def _attention(layers: int = 2, heads: int = 3, n: int = len(TOKENS)) -> np.ndarray:
    """Row-stochastic attention [L, H, N, N] with every entry positive, read-only."""
    rng = np.random.default_rng(0)
    weights = rng.random((layers, heads, n, n)).astype(np.float32) + 0.05
    weights /= weights.sum(axis=-1, keepdims=True)
    weights.setflags(write=False)
    return weights


def test_token_labels_are_unique_and_mark_globals():
    labels = token_labels(TOKENS, global_positions=(0,))
    assert len(set(labels)) == len(TOKENS)
    assert labels[1] == "1·the" and labels[3] == "3·the"
    assert labels[0].endswith("★")


def test_head_heatmap_z_equals_input():
    weights = _attention()[0, 1]
    fig = heatmaps.head_heatmap(weights, TOKENS, SPECIAL)
    trace = fig.data[0]
    np.testing.assert_array_equal(np.asarray(trace.z), weights)
    assert list(trace.x) == token_labels(TOKENS) == list(trace.y)
    assert "→" in trace.hovertemplate


def test_hide_specials_renormalises_a_copy():
    weights = np.array(_attention()[1, 2])  # writable copy, to prove it is not modified
    before = weights.copy()
    fig = heatmaps.head_heatmap(weights, TOKENS, SPECIAL, hide_special=True)
    z = np.asarray(fig.data[0].z)
    assert z.shape == (len(TOKENS), int((~SPECIAL).sum()))
    np.testing.assert_allclose(z.sum(axis=1), 1.0, atol=ROW_SUM_TOL)
    assert list(fig.data[0].x) == ["1·the", "2·cat", "3·the"]
    np.testing.assert_array_equal(weights, before)


def test_hide_specials_keeps_all_special_rows_at_zero():
    weights = np.zeros((3, 3))
    weights[:, 0] = 1.0  # every query looks only at the special token
    kept, keep = heatmaps.hide_special_keys(weights, np.array([True, False, False]))
    assert keep.tolist() == [1, 2]
    assert np.all(kept == 0.0) and np.all(np.isfinite(kept))


def test_layer_grid_has_one_trace_per_head_and_shared_scale():
    layer = _attention(heads=5)[0]
    fig = heatmaps.layer_grid(layer, TOKENS)
    assert len(fig.data) == 5
    assert {trace.coloraxis for trace in fig.data} == {"coloraxis"}
    np.testing.assert_array_equal(np.asarray(fig.data[4].z), layer[4])


def test_compare_heads_shares_scale_and_shows_difference():
    attention = _attention()
    left, right = attention[0, 0], attention[1, 2]
    fig = heatmaps.compare_heads(left, right, TOKENS, "L1H1", "L2H3")
    assert fig.data[0].coloraxis == fig.data[1].coloraxis == "coloraxis"
    np.testing.assert_allclose(np.asarray(fig.data[2].z), left.astype(float) - right.astype(float))
    with pytest.raises(ValueError):
        heatmaps.compare_heads(left, right[:2, :2], TOKENS, "a", "b")


def test_score_heatmap_and_partition_bar():
    scores = np.linspace(0, 1, 6).reshape(2, 3)
    fig = overview.score_heatmap(scores, "cls", np.full((2, 3), "broad"))
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), scores)
    assert list(fig.data[0].y) == ["layer 1", "layer 2"]
    partition = np.array([[0.5, 0.1, 0.2, 0.2], [0.1, 0.6, 0.1, 0.2]])
    bar = overview.partition_bar(partition)
    assert bar.layout.barmode == "stack" and len(bar.data) == 4
    np.testing.assert_allclose(sum(np.asarray(t.y) for t in bar.data), 1.0)


def test_scores_csv_has_one_row_per_head():
    layers, heads = 2, 3
    scores = {"cls": np.full((layers, heads), 0.25), "entropy": np.ones((layers, heads))}
    roles = np.full((layers, heads), "cls")
    rows = list(csv.DictReader(io.StringIO(export.table_csv(overview.scores_table(scores, roles)).decode())))
    assert len(rows) == layers * heads
    assert rows[-1]["layer"] == "2" and rows[-1]["head"] == "3" and float(rows[0]["cls"]) == 0.25


def test_json_and_npz_round_trip():
    payload = {"tokens": list(TOKENS), "score": 0.5}
    assert json.loads(export.json_bytes(payload)) == payload
    attention = _attention()
    with np.load(io.BytesIO(export.attention_npz(attention, TOKENS, SPECIAL))) as archive:
        np.testing.assert_array_equal(archive["attention"], attention)
        assert archive["tokens"].tolist() == list(TOKENS)
        np.testing.assert_array_equal(archive["special_mask"], SPECIAL)


def test_html_export_is_standalone():
    html = export.figure_html(heatmaps.head_heatmap(_attention()[0, 0], TOKENS, SPECIAL))
    assert b"plotly" in html and b"<html" in html


def test_image_format_is_checked():
    with pytest.raises(ValueError):
        export.figure_image(go.Figure(), "gif")


def _require_browser() -> None:
    """Skip without Chromium locally; in CI a missing browser is a failure."""
    if os.path.exists(CHROMIUM) or shutil.which("chromium"):
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {CHROMIUM} is missing: image export cannot be tested.")
    pytest.skip("Chromium is not installed; image export untested.")


def test_png_and_svg_export():
    _require_browser()
    fig = heatmaps.head_heatmap(_attention()[0, 0], TOKENS, SPECIAL)
    assert export.image_export_available() == (True, "")
    assert export.figure_image(fig, "png").startswith(b"\x89PNG")
    assert b"<svg" in export.figure_image(fig, "svg")[:200]


def test_zip_of_pngs():
    _require_browser()
    layer = _attention()[0]
    figures = {f"head{h + 1}": heatmaps.head_heatmap(layer[h], TOKENS, SPECIAL) for h in range(layer.shape[0])}
    with zipfile.ZipFile(io.BytesIO(export.figures_zip(figures))) as archive:
        names = archive.namelist()
        assert names == ["head1.png", "head2.png", "head3.png"]
        assert archive.read("head2.png").startswith(b"\x89PNG")


def test_missing_browser_raises_export_unavailable(tmp_path):
    """With no Chrome, image export fails fast with a plain message instead of hanging."""

    script = (
        "import plotly.graph_objects as go\n"
        "from viz import export\n"
        "ok, reason = export.image_export_available()\n"
        "assert not ok and 'Chromium' in reason, reason\n"
        "try:\n"
        "    export.figure_image(go.Figure(), 'png')\n"
        "except export.ExportUnavailable:\n"
        "    print('unavailable')\n"
    )
    done = run_without_chromium(script, tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "unavailable" in done.stdout
