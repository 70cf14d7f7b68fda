"""App tier: drive app.py and its pages through Streamlit's AppTest with the embedded MiniLM."""

from __future__ import annotations

import json

import numpy as np
import pytest
from app_runs import APP, open_page
from plotly_specs import heatmap_z
from streamlit.testing.v1 import AppTest
from tiers import run_without_chromium

TIMEOUT = 120
PAGES = ("analysis", "sparse", "dense-vs-window")


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in _charts(at)]


def _chart_titled(at: AppTest, words: str) -> dict:
    for spec in _specs(at):
        title = spec.get("layout", {}).get("title", {})
        text = title.get("text", "") if isinstance(title, dict) else str(title)
        if words in text:
            return spec
    raise AssertionError(f"no chart titled with {words!r}")


def test_default_page_has_a_heading_the_diagnosis_and_charts(app):
    assert app.title[0].value == "Attention map analysis"
    assert app.text_area(key="text").value
    assert not app.error
    assert len(_charts(app)) >= 5
    assert app.selectbox(key="model").value == "minilm"
    assert any("What the layers do" in info.value for info in app.info)


def test_typing_a_sentence_shows_charts(app):
    app.text_area(key="text").set_value("Dogs chase cats across the garden.").run()
    assert not app.exception and not app.error
    assert "garden" in " ".join(_chart_titled(app, "Layer 1, head 1")["data"][0]["x"])


def test_layer_and_head_switch_redraws_the_head(app):
    app.selectbox(key="layer").set_value(4).run()
    app.selectbox(key="head").set_value(7).run()
    assert not app.exception and not app.error
    assert any("Layer 4, head 7" in markdown.value for markdown in app.markdown)
    _chart_titled(app, "Layer 4, head 7")


def test_every_token_is_labelled_on_a_40_token_sentence(app):
    words = [
        "the",
        "coral",
        "reef",
        "off",
        "the",
        "island",
        "hides",
        "small",
        "fish",
        ",",
        "bright",
        "crabs",
        "and",
        "slow",
        "turtles",
    ]
    text = " ".join((words * 3)[:38])
    app.text_area(key="text").set_value(text).run()
    head = _chart_titled(app, "Layer 1, head 1")
    assert len(head["layout"]["xaxis"]["tickvals"]) == len(head["data"][0]["x"]) == 40
    assert len(head["layout"]["yaxis"]["tickvals"]) == 40


def test_role_shares_are_whole_percentages(app):
    table = app.dataframe[0].value
    assert table["layer"].tolist() == [1, 2, 3, 4, 5, 6]
    shares = table.drop(columns="layer").to_numpy()
    assert shares.dtype.kind == "i" and (shares.sum(axis=1) >= 98).all() and (shares.sum(axis=1) <= 102).all()


def test_hide_specials_and_score_choice(app):
    app.checkbox(key="hide").check().run()
    app.selectbox(key="score").set_value("entropy").run()
    assert not app.exception and not app.error
    assert "[CLS]" not in " ".join(_chart_titled(app, "Layer 1, head 1")["data"][0]["x"])


@pytest.mark.parametrize(
    "widget,key,bad,needle,good",
    [
        ("text_area", "text", "   ", "empty", "Back again."),  # an empty text
        ("text_input", "dir", "/no/such/model/dir", "/no/such/model/dir", ""),  # an unknown local directory
    ],
)
def test_bad_input_shows_an_error_and_recovers(app, widget, key, bad, needle, good):
    getattr(app, widget)(key=key).set_value(bad).run()
    assert not app.exception
    assert any(needle in error.value for error in app.error)
    getattr(app, widget)(key=key).set_value(good).run()
    assert not app.exception and not app.error and _charts(app)


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('x')</script> hello",
        "[CLS] The dog barked . [SEP]",
        "Zero\u200bwidth, RTL \u202eevil\u202c and emoji 🧪 text",
    ],
)
def test_odd_text_does_not_crash(app, text):
    app.text_area(key="text").set_value(text).run()
    assert not app.exception and not app.error
    assert _charts(app)


def test_sentence_pair(app):
    app.text_input(key="pair").set_value("It was tired.").run()
    assert not app.exception and not app.error
    assert sum(label.endswith("[SEP]") for label in _chart_titled(app, "Layer 1, head 1")["data"][0]["x"]) == 2


def test_longformer_window_and_globals(app):
    app.selectbox(key="model").set_value("minilm-longformer").run()
    assert not app.exception and not app.error
    globals_ = app.multiselect(key="globals")
    assert globals_.value == ["0·[CLS]"]
    globals_.set_value(["0·[CLS]", "2·cat"]).run()
    assert not app.exception and not app.error
    assert "2·cat★" in _chart_titled(app, "Layer 1, head 1")["data"][0]["x"]
    app.number_input(key="window").set_value(8).run()
    assert not app.exception and not app.error and _charts(app)


@pytest.mark.parametrize("window", [15, 2, 5000])
def test_rejected_window_says_why_and_shows_no_stale_result(app, window):
    app.selectbox(key="model").set_value("minilm-longformer").run()
    app.number_input(key="window").set_value(window).run()
    assert not app.exception
    assert any("even whole number from 4 to 1024" in error.value for error in app.sidebar.error)
    assert not _charts(app)  # no result of the old window left on screen
    app.number_input(key="window").set_value(8).run()
    assert not app.exception and not app.error and _charts(app)


def test_share_link_restores_a_longformer_pair_with_window_and_globals():
    """The Done-when case: a pair on minilm-longformer, window 8, two global tokens."""
    first = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in {
        "text": "The dog chased the cat.",
        "pair": "It ran up a tree.",
        "model": "minilm-longformer",
        "window": "8",
        "layer": "3",
        "head": "5",
        "exclude": "true",
    }.items():
        first.query_params[key] = value
    first.query_params["globals"] = ["0·[CLS]", "2·dog"]
    first.run()
    assert not first.exception and not first.error
    assert first.text_input(key="pair").value == "It ran up a tree."
    assert first.number_input(key="window").value == 8
    assert first.multiselect(key="globals").value == ["0·[CLS]", "2·dog"]
    assert first.checkbox(key="exclude").value is True
    assert first.selectbox(key="layer").value == 3 and first.selectbox(key="head").value == 5
    head = _chart_titled(first, "Layer 3, head 5")
    assert head["data"][0]["x"][2] == "2·dog★" and sum("[SEP]" in x for x in head["data"][0]["x"]) == 2

    from models.extract.attention import extract
    from models.load.loading import load_model

    result = extract(load_model("minilm-longformer", 8), "The dog chased the cat.", "It ran up a tree.", (0, 2))
    assert [label.split("·", 1)[1].rstrip("★") for label in head["data"][0]["x"]] == list(result.tokens)
    np.testing.assert_allclose(heatmap_z(head), result.attention[2, 4], atol=1e-6)


def test_a_bad_link_value_is_named_and_the_default_used():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["model"] = "no-such-model"
    at.query_params["layer"] = "42"
    at.query_params["frobnicate"] = "1"
    at.run()
    assert not at.exception and not at.error
    notes = " ".join(warning.value for warning in at.warning)
    assert "model=no-such-model could not be used" in notes and "minilm is shown instead" in notes
    assert "layer=42 could not be used" in notes
    assert "frobnicate=1 is not an option" in notes
    assert at.selectbox(key="model").value == "minilm" and at.selectbox(key="layer").value == 1


def test_hub_model_offline_does_not_crash(app):
    app.selectbox(key="model").set_value("bert-base-uncased").run()
    assert not app.exception  # offline: an error message; with a local cache: charts
    assert app.error or _charts(app)


def test_bertviz_views(app):
    app.checkbox(key="bertviz").check().run()
    assert not app.exception and not app.error
    assert any("counts" in c.value or "numbers layers" in c.value for c in app.caption)
    app.radio(key="bertviz_view").set_value("model").run()
    assert not app.exception and not app.error


def test_without_a_browser_image_buttons_become_a_caption(tmp_path):
    """A fresh process with no Chrome: no PNG/SVG/PDF buttons, a caption saying why instead."""

    script = (
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout={TIMEOUT}).run()\n"
        "assert not at.exception, at.exception\n"
        "labels = [button.proto.label for button in at.get('download_button')]\n"
        "assert 'HTML' in labels and not {'PNG', 'SVG', 'PDF'} & set(labels), labels\n"
        "assert any('Chromium' in caption.value for caption in at.caption)\n"
        "print('ok')\n"
    )
    done = run_without_chromium(script, tmp_path)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]


def test_download_buttons_are_offered(app):
    import os
    import shutil

    labels = [button.proto.label for button in app.get("download_button")]
    assert {"Scores (CSV)", "Scores and roles (JSON)", "Raw attention (NPZ)", "HTML"} <= set(labels)
    if os.path.exists("/usr/bin/chromium") or shutil.which("chromium"):
        assert {"PNG", "SVG", "PDF"} <= set(labels)


def test_figure_settings_resize_the_head_heatmap(app):
    before = _chart_titled(app, "Layer 1, head 1")["layout"]
    app.number_input(key="font").set_value(16).run()
    after = _chart_titled(app, "Layer 1, head 1")["layout"]
    assert after["xaxis"]["tickfont"]["size"] == 16 and after["height"] > before["height"]
    app.number_input(key="width").set_value(900).run()
    assert _chart_titled(app, "Layer 1, head 1")["layout"]["width"] == 900
    app.number_input(key="font").set_value(3).run()
    assert any("Figure settings out of range" in error.value for error in app.sidebar.error)


def test_layer_animation_has_one_frame_per_layer(app):
    spec = _chart_titled(app, "layer by layer")
    assert [frame["name"] for frame in spec["frames"]] == [str(layer) for layer in range(1, 7)]
    steps = spec["layout"]["sliders"][0]["steps"]
    assert [step["label"] for step in steps] == [str(layer) for layer in range(1, 7)]
    assert spec["layout"]["updatemenus"][0]["buttons"][0]["args"][1]["fromcurrent"] is True


def test_sparse_patterns_page(app):
    open_page(app, "sparse")
    assert not app.exception and not app.error
    table = app.table[0].value
    assert len(table) == 7
    coverage = table["coverage"].str.rstrip("%").astype(float)
    assert ((coverage >= 0) & (coverage <= 100)).all()
    # the top-k yardstick is never beaten by a pattern with the same density
    assert (table["top-k, same density"].str.rstrip("%").astype(float) >= coverage - 0.1).all()
    for pattern in ("local", "dilated", "global", "longformer", "bigbird", "lsh", "topk"):
        app.selectbox(key="sp_pattern").set_value(pattern).run()
        assert not app.exception and not app.error, pattern
        assert len(_charts(app)) >= 4, pattern
    app.number_input(key="sp_window").set_value(0).run()
    app.multiselect(key="sp_globals").set_value([]).run()
    assert not app.exception and not app.error
    app.number_input(key="sp_window").set_value(7).run()
    assert any("even whole number" in error.value for error in app.error)


def test_dense_vs_window_page_uses_the_chosen_local_model(app, tmp_path):
    open_page(app, "dense-vs-window")
    assert not app.exception and not app.error
    compare = _chart_titled(app, "Scores (mean over layers")
    assert compare["data"][0]["x"][0] == "dense"
    app.select_slider(key="dv_window").set_value(4).run()
    assert not app.exception and not app.error
    assert any("window 4 L1 H1" in str(spec["layout"].get("annotations", "")) for spec in _specs(app))
    # a non-BERT choice gets a plain message instead
    app.selectbox(key="model").set_value("roberta-base").run()
    assert not app.exception


def test_long_longformer_input_shows_a_pooled_overview_and_a_zoom(app):
    app.selectbox(key="model").set_value("minilm-longformer").run()
    app.number_input(key="window").set_value(64).run()
    words = "the river bends past the old mill , and the miller counts his sacks of grain before dusk ."
    app.text_area(key="text").set_value(" ".join([words] * 60)).run()
    assert not app.exception and not app.error
    pooled = _chart_titled(app, "all 1142 tokens")
    assert len(pooled["data"][0]["y"]) == 256  # viz.figures.OVERVIEW_CELLS blocks, the zoom shows tokens
    assert pooled["layout"]["xaxis"]["ticktext"][0] == "0·[CLS]★"  # blocks are named by their first token
    zoom = _chart_titled(app, "queries 0–127")
    assert len(zoom["data"][0]["y"]) == 128
    app.slider(key="zoom_q").set_value((500, 560)).run()
    assert not app.exception and not app.error
    assert len(_chart_titled(app, "queries 500–559")["data"][0]["y"]) == 60
    compare = _chart_titled(app, "vs")
    assert compare["layout"]["xaxis"]["ticktext"]  # the pooled comparison is labelled
    assert all(len(chart.proto.spec) < 5_000_000 for chart in _charts(app))
    open_page(app, "sparse")
    assert not app.exception
    assert any("up to 512 tokens" in info.value for info in app.info)


SPLIT_WORDS = "The unbelievably hungry dog chased a cat up the sycamore."


def test_norm_view_switch_drives_the_figures_and_the_diagnosis(app):
    weight_cls = heatmap_z(_chart_titled(app, "attention to [CLS]"))
    app.button_group(key="view").set_value("norm").run()
    assert not app.exception and not app.error
    norm_cls = heatmap_z(_chart_titled(app, "attention to [CLS]"))
    # the finding the norm view exists for: layers 2–5 move far less from [CLS] than they look at it
    assert (norm_cls[1:5].mean(axis=1) < weight_cls[1:5].mean(axis=1)).all()
    head = _chart_titled(app, "Layer 1, head 1")
    assert "norm view" in head["layout"]["title"]["text"]
    rows = heatmap_z(head).sum(axis=1)
    np.testing.assert_allclose(rows, 1.0, atol=1e-4)  # T̃ is row-normalised
    story = " ".join(info.value for info in app.info)
    assert "value vectors are" in story and "no-op" in story


def test_words_switch_merges_word_pieces(app):
    app.text_area(key="text").set_value(SPLIT_WORDS).run()
    tokens = _chart_titled(app, "Layer 1, head 1")["data"][0]["x"]
    app.button_group(key="unit").set_value("words").run()
    assert not app.exception and not app.error
    head = _chart_titled(app, "Layer 1, head 1")
    words = head["data"][0]["x"]
    assert len(words) < len(tokens) and "2·unbelievably" in words and "10·sycamore" in words
    np.testing.assert_allclose(heatmap_z(head).sum(axis=1), 1.0, atol=1e-4)  # rows still sum to 1


def test_rollout_section_shows_where_cls_draws_from(app):
    bars = _chart_titled(app, "draws from after layer 6")
    shares = np.asarray(bars["data"][0]["y"] if not isinstance(bars["data"][0]["y"], dict) else _y(bars))
    assert shares.sum() == pytest.approx(1.0, abs=1e-6) and (shares >= 0).all()
    app.selectbox(key="rollout_token").set_value(3).run()
    app.selectbox(key="rollout_layer").set_value(2).run()
    assert not app.exception and not app.error
    _chart_titled(app, "Where 3·sat draws from after layer 2")
    rollout = heatmap_z(_chart_titled(app, "Rollout after layer 2"))
    np.testing.assert_allclose(rollout.sum(axis=1), 1.0, atol=1e-4)


def test_view_and_unit_come_back_from_a_link():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["text"] = SPLIT_WORDS
    at.query_params["view"] = "Information moved (norm)"
    at.query_params["unit"] = "Words"
    at.run()
    assert not at.exception and not at.error
    assert at.button_group(key="view").value == "norm" and at.button_group(key="unit").value == "words"
    assert "2·unbelievably" in _chart_titled(at, "Layer 1, head 1")["data"][0]["x"]


def _y(spec: dict) -> np.ndarray:
    import base64

    y = spec["data"][0]["y"]
    return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
