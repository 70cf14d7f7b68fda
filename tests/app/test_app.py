"""App tier: drive app.py through Streamlit's AppTest with the embedded MiniLM."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 120


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def test_default_page_renders(app):
    assert app.text_area(key="text").value
    assert not app.error
    assert len(_charts(app)) >= 4
    assert app.selectbox(key="model").value == "minilm"


def test_typing_a_sentence_shows_charts(app):
    app.text_area(key="text").set_value("Dogs chase cats across the garden.").run()
    assert not app.exception and not app.error
    assert len(_charts(app)) >= 4
    assert app.query_params["text"] == "Dogs chase cats across the garden."


def test_changing_layer_and_head(app):
    app.selectbox(key="layer").set_value(4).run()
    app.selectbox(key="head").set_value(7).run()
    assert not app.exception and not app.error
    assert app.selectbox(key="layer").value == 4
    assert "Layer 4, head 7" in " ".join(h.value for h in app.subheader)
    assert len(_charts(app)) >= 4


def test_hide_specials_and_score_choice(app):
    app.checkbox(key="hide_special").check().run()
    app.selectbox(key="score").set_value("entropy").run()
    assert not app.exception and not app.error


def test_empty_text_shows_an_error(app):
    app.text_area(key="text").set_value("   ").run()
    assert not app.exception
    assert any("empty" in error.value for error in app.error)
    # the page stays usable: a new sentence brings the charts back
    app.text_area(key="text").set_value("Back again.").run()
    assert not app.exception and not app.error and _charts(app)


def test_unknown_local_directory_shows_an_error(app):
    app.text_input(key="model_dir").set_value("/no/such/model/dir").run()
    assert not app.exception
    assert any("/no/such/model/dir" in error.value for error in app.error)
    app.text_input(key="model_dir").set_value("").run()
    assert not app.exception and not app.error and _charts(app)


def test_script_tag_in_text_does_not_crash(app):
    app.text_area(key="text").set_value("<script>alert('x')</script> hello").run()
    assert not app.exception and not app.error
    assert _charts(app)


def test_sentence_pair(app):
    app.text_input(key="text_b").set_value("It was tired.").run()
    assert not app.exception and not app.error and _charts(app)


def test_longformer_window_and_globals(app):
    app.selectbox(key="model").set_value("minilm-longformer").run()
    assert not app.exception and not app.error
    globals_ = app.multiselect(key="globals")
    assert globals_.value == ["0·[CLS]"]
    globals_.set_value(["0·[CLS]", "2·cat"]).run()
    assert not app.exception and not app.error
    app.number_input(key="window").set_value(8).run()
    assert not app.exception and not app.error and _charts(app)


def test_query_params_seed_the_page():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["text"] = "Shared link sentence."
    at.query_params["layer"] = "5"
    at.query_params["head"] = "2"
    at.run()
    assert not at.exception and not at.error
    assert at.text_area(key="text").value == "Shared link sentence."
    assert at.selectbox(key="layer").value == 5 and at.selectbox(key="head").value == 2


def test_odd_window_shows_an_error(app):
    app.selectbox(key="model").set_value("minilm-longformer").run()
    app.number_input(key="window").set_value(15).run()
    assert not app.exception
    assert any("even" in error.value for error in app.error)
    app.selectbox(key="model").set_value("minilm").run()
    assert not app.exception and not app.error and _charts(app)


def test_hub_model_offline_does_not_crash(app):
    app.selectbox(key="model").set_value("bert-base-uncased").run()
    assert not app.exception  # offline: an error message; with a local cache: charts
    assert app.error or _charts(app)


def test_bertviz_views(app):
    app.checkbox(key="bertviz").check().run()
    assert not app.exception and not app.error
    app.radio(key="bertviz_view").set_value("model").run()
    assert not app.exception and not app.error


def test_without_a_browser_image_buttons_become_a_caption(tmp_path):
    """A fresh process with no Chrome: no PNG/SVG buttons, a caption saying why instead."""
    import os
    import subprocess
    import sys

    script = (
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout={TIMEOUT}).run()\n"
        "assert not at.exception, at.exception\n"
        "labels = [button.proto.label for button in at.get('download_button')]\n"
        "assert labels and not any('PNG' in label or 'SVG' in label for label in labels), labels\n"
        "assert any('Chromium' in caption.value for caption in at.caption)\n"
        "print('ok')\n"
    )
    env = dict(os.environ, BROWSER_PATH=str(tmp_path / "no-chrome"), PATH=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(APP).parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]


def test_download_buttons_are_offered(app):
    import os
    import shutil

    labels = [button.proto.label for button in app.get("download_button")]
    assert {"Scores (CSV)", "Scores and roles (JSON)", "Raw attention (NPZ)"} <= set(labels)
    if os.path.exists("/usr/bin/chromium") or shutil.which("chromium"):
        assert "Head heatmap (PNG)" in labels and "Head heatmap (SVG)" in labels


def _chart_specs(at: AppTest) -> list[dict]:
    import json

    return [json.loads(chart.proto.spec) for chart in _charts(at)]


def _chart_titled(at: AppTest, words: str) -> dict:
    for spec in _chart_specs(at):
        title = spec.get("layout", {}).get("title", {})
        text = title.get("text", "") if isinstance(title, dict) else str(title)
        if words in text:
            return spec
    raise AssertionError(f"no chart titled with {words!r}")


def test_layer_animation_has_one_frame_per_layer(app):
    spec = _chart_titled(app, "layer by layer")
    assert [frame["name"] for frame in spec["frames"]] == [str(layer) for layer in range(1, 7)]
    steps = spec["layout"]["sliders"][0]["steps"]
    assert [step["label"] for step in steps] == [str(layer) for layer in range(1, 7)]
    assert spec["layout"]["updatemenus"][0]["buttons"][0]["args"][1]["fromcurrent"] is True


def test_sparse_patterns_page(app):
    app.radio(key="page").set_value("Sparse patterns").run()
    assert not app.exception and not app.error
    assert app.query_params["page"] == "Sparse patterns"
    table = app.dataframe[0].value
    assert len(table) == 7
    assert ((table["coverage"] >= 0) & (table["coverage"] <= 1 + 1e-9)).all()
    # the top-k yardstick is never beaten by a pattern with the same density
    assert (table["top-k at same density"] >= table["coverage"] - 1e-3).all()
    for pattern in ("local", "dilated", "global", "longformer", "bigbird", "lsh", "topk"):
        app.selectbox(key="sp_pattern").set_value(pattern).run()
        assert not app.exception and not app.error, pattern
        assert len(_charts(app)) >= 4, pattern
    app.number_input(key="sp_window").set_value(0).run()
    app.multiselect(key="sp_globals").set_value([]).run()
    assert not app.exception and not app.error


def test_dense_vs_window_page(app):
    app.radio(key="page").set_value("Dense vs window").run()
    assert not app.exception and not app.error
    compare = _chart_titled(app, "Scores (mean over layers")
    assert compare["data"][0]["x"][0] == "dense"
    app.select_slider(key="dv_window").set_value(4).run()
    assert not app.exception and not app.error
    assert any("window 4" in str(spec["layout"].get("annotations", "")) for spec in _chart_specs(app))


def test_long_longformer_input_shows_a_pooled_overview_and_a_zoom(app):
    app.selectbox(key="model").set_value("minilm-longformer").run()
    app.number_input(key="window").set_value(64).run()
    words = "the river bends past the old mill , and the miller counts his sacks of grain before dusk ."
    app.text_area(key="text").set_value(" ".join([words] * 60)).run()
    assert not app.exception and not app.error
    pooled = _chart_titled(app, "pooled")
    assert len(pooled["data"][0]["y"]) <= 512
    assert any("mean weight over a block" in caption.value for caption in app.caption)
    zoom = _chart_titled(app, "queries 0–127")
    assert len(zoom["data"][0]["y"]) == 128
    app.slider(key="zoom_rows").set_value((500, 560)).run()
    assert not app.exception and not app.error
    assert len(_chart_titled(app, "queries 500–559")["data"][0]["y"]) == 60
    assert all(len(chart.proto.spec) < 5_000_000 for chart in _charts(app))
    app.radio(key="page").set_value("Sparse patterns").run()
    assert not app.exception
    assert any("up to 512 tokens" in info.value for info in app.info)
