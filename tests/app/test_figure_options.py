"""App tier: the figure options travel in the link to the figures, and the data downloads
are named after what they hold and hold the view shown (embedded MiniLM)."""

from __future__ import annotations

import csv
import io
import json
from typing import ClassVar

import numpy as np
import pytest
from app_runs import opened
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest, app_test

from models.score.norms import norm_layer
from viz.labels import INDEX_PREFIX

TIMEOUT = 180
TEXT = "The dog chased the ball across the garden."
HEAD_TITLE = "Layer 1, head 1"
SLUG = "the-dog-chased-the-ball-across-t"  # ui.common.text_slug: the first words, at most 32 characters


def _open(**params: str) -> AppTest:
    return opened(TIMEOUT, **{"lang": "en", "text": TEXT, **params})


def _layouts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec)["layout"] for chart in at.get("plotly_chart")]


def _title(layout: dict) -> str:
    title = layout.get("title", {})
    return title.get("text", "") if isinstance(title, dict) else str(title)


def _token_maps(at: AppTest) -> list[dict]:
    """The layouts of the token heatmaps (the ones with a query axis)."""
    return [layout for layout in _layouts(at) if "query" in json.dumps(layout.get("yaxis", {}).get("title", ""))]


def test_the_link_sets_the_title_subtitle_labels_and_guide_lines():
    at = _open(fig_title="Figure 2 <draft> & notes", fig_index="false", fig_guides="false")
    assert at.text_input(key="fig_title").value == "Figure 2 <draft> & notes"
    assert at.checkbox(key="fig_index").value is False and at.checkbox(key="fig_subtitle").value is True
    for _ in range(2):  # the link's options survive a rerun
        maps = _token_maps(at)
        assert maps
        for layout in maps:
            assert _title(layout).split("<br>")[0] == "Figure 2 &lt;draft&gt; &amp; notes"
            assert layout["title"]["subtitle"]["text"].startswith("minilm · The dog chased the ball")
            assert not layout.get("shapes")
            assert not any(INDEX_PREFIX.match(tick) for tick in layout["yaxis"]["ticktext"])
        at.run()
        assert not at.exception, at.exception
    assert at.query_params["fig_title"] == "Figure 2 <draft> & notes"


def _charts(at: AppTest) -> dict[str, dict]:
    """The layouts of the page's charts by their key (an element id ends with "-<key>")."""
    return {
        chart.proto.id.split("-", 2)[-1]: json.loads(chart.proto.spec)["layout"] for chart in at.get("plotly_chart")
    }


CHARTS = ("partition_chart", "rollout_bars", "mixing_ratio_chart")  # bars, bars with a note, lines (chart_layout)


def test_the_bar_and_line_charts_and_their_downloads_carry_the_custom_title_and_subtitle():
    at = _open_recording(fig_title="Figure 2 <draft> & notes", fig_index="false")
    charts = _charts(at)
    assert set(CHARTS) <= set(charts), sorted(charts)
    for key, layout in charts.items():  # the heatmaps of finish and the charts alike
        assert _title(layout).split("<br>")[0] == "Figure 2 &lt;draft&gt; &amp; notes", key
        assert layout["title"]["subtitle"]["text"].startswith("minilm · The dog chased the ball"), key
    assert "<br><sup>" in _title(charts["rollout_bars"])  # the chart's own note stays under the title
    assert charts["partition_chart"]["margin"]["t"] > 60  # room for the subtitle above the plot
    assert not any(INDEX_PREFIX.match(tick) for tick in charts["rollout_bars"]["xaxis"]["ticktext"])
    manager = RecordingFiles.made[-1]
    button = next(
        button for button in at.get("download_button") if button.proto.id.endswith("-dl_partition_chart_html")
    )
    url = manager.execute_deferred(button.proto.deferred_file_id)
    page = manager._storage.get_file(url.rsplit("/", 1)[-1]).content.decode("utf-8")
    assert "Figure 2 &lt;draft&gt; &amp; notes" in page and "The dog chased the ball" in page


def test_the_subtitle_can_be_left_out_and_defaults_keep_the_own_titles():
    at = _open(fig_subtitle="false")
    head = next(layout for layout in _token_maps(at) if _title(layout).startswith(HEAD_TITLE))
    assert "subtitle" not in head["title"]
    bars = _charts(at)["partition_chart"]
    assert _title(bars) == "Where each layer's attention goes (mean over heads)" and "subtitle" not in bars["title"]
    assert head["yaxis"]["ticktext"][0] == "0·[CLS]" and head.get("shapes")
    at.checkbox(key="fig_subtitle").check().run()
    head = next(layout for layout in _token_maps(at) if _title(layout).startswith(HEAD_TITLE))
    assert head["title"]["subtitle"]["text"].startswith("minilm · The dog")


DATA_BUTTONS = ("Scores (CSV)", "Scores and roles (JSON)", "Raw attention (NPZ)", "Norm-view matrices (NPZ)")


class RecordingFiles(MediaFileManager):
    """AppTest's media file manager, kept after the run: the downloads' files live in it."""

    made: ClassVar[list[MediaFileManager]] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        RecordingFiles.made.append(self)


def _open_recording(**params: str) -> AppTest:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app_test, "MediaFileManager", RecordingFiles)
        return _open(**params)


def _downloads(at: AppTest) -> dict[str, bytes]:
    """File name → bytes of the data download buttons, a deferred file made as a click makes it."""
    manager = RecordingFiles.made[-1]
    found = {}
    for button in at.get("download_button"):
        proto = button.proto
        if proto.label not in DATA_BUTTONS:
            continue
        url = manager.execute_deferred(proto.deferred_file_id) if proto.deferred_file_id else proto.url
        stored = manager._storage.get_file(url.rsplit("/", 1)[-1])
        found[stored.filename] = stored.content
    return found


@pytest.fixture(scope="module")
def norm_app() -> AppTest:
    return _open_recording(view="norm")


def test_data_files_are_named_after_model_view_unit_and_text(norm_app):
    names = set(_downloads(norm_app))
    stem = f"minilm_norm_tokens_{SLUG}"
    assert {f"{stem}_scores.csv", f"{stem}_analysis.json", f"{stem}_norm.npz"} <= names, names


def test_the_csv_says_its_view_and_the_npz_holds_the_norm_matrices(norm_app):
    files = _downloads(norm_app)
    stem = f"minilm_norm_tokens_{SLUG}"
    rows = list(csv.DictReader(io.StringIO(files[f"{stem}_scores.csv"].decode("utf-8"))))
    assert rows and {row["view"] for row in rows} == {"norm"}
    assert list(rows[0])[:4] == ["view", "layer", "head", "role"]
    analysis = json.loads(files[f"{stem}_analysis.json"])
    assert analysis  # the JSON's content is the analysis as before

    from ui import cache

    result, _analyses = cache.run_analysis("minilm", None, TEXT, None, None, False)
    with np.load(io.BytesIO(files[f"{stem}_norm.npz"])) as archive:
        assert str(archive["view"]) == "norm" and str(archive["unit"]) == "tokens"
        matrices = archive["attention"]  # [L, H, N, N]
        assert list(archive["tokens"]) == list(result.tokens)
    weights = np.asarray(result.attention, dtype=np.float64)  # [L, H, N, N]
    # independently: α·‖f(x)‖ (value norms [L, H, N] over the keys), each row normalised
    moved = weights * np.asarray(result.value_norms, dtype=np.float64)[:, :, None, :]
    expected = moved / moved.sum(axis=-1, keepdims=True)
    assert matrices.shape == weights.shape
    np.testing.assert_allclose(matrices, expected, atol=1e-5)
    np.testing.assert_allclose(matrices[0], norm_layer(result.layer_attention[0], result.value_norms[0]), atol=1e-6)
    assert np.abs(matrices - weights).max() > 1e-2  # not the weights


def test_the_weight_view_npz_holds_the_weights():
    at = _open_recording()
    files = _downloads(at)
    with np.load(io.BytesIO(files[f"minilm_weight_tokens_{SLUG}_weight.npz"])) as archive:
        assert str(archive["view"]) == "weight"
        rows = archive["attention"].sum(axis=-1)
    np.testing.assert_allclose(rows, 1.0, atol=1e-4)
