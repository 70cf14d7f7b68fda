"""Unit tier: the figure options (a custom title, the subtitle, labels without their
position) reach the small charts of chart_layout as finish gives them to the heatmaps,
and a figure finish built is left as it is (no model, hand-built numbers)."""

from __future__ import annotations

import numpy as np

from viz import flow, heatmaps, overview
from viz.layout import (
    CHART_TOP,
    CHART_WIDTH,
    ELLIPSIS,
    LINE_EM,
    MAX_TITLE,
    SUBTITLE_LINES,
    TITLE_PAD,
    FigureSettings,
    options_applied,
    text_px,
    with_figure_options,
)

PARTITION = np.array([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]])  # [L, 4], rows sum to 1
SUBTITLE = "minilm · The dog chased the ball."
OPTIONS = FigureSettings(title="Figure 4", subtitle=SUBTITLE)


def _bars():
    return overview.partition_bar(PARTITION)


def _heatmap(settings: FigureSettings):
    tokens = ["[CLS]", "a", "b", "[SEP]"]
    special = np.array([1, 0, 0, 1], bool)
    return heatmaps.head_heatmap(np.full((4, 4), 0.25), tokens, special, title="Head 1", settings=settings)


def test_a_bar_chart_gets_the_title_and_a_subtitle_with_room_above_the_plot():
    plain = _bars()
    fig = with_figure_options(plain, OPTIONS)
    assert fig.layout.title.text == "Figure 4"
    assert fig.layout.title.subtitle.text == SUBTITLE
    assert fig.layout.title.subtitle.font.size == 12  # the chart's font size (plotly's default font)
    grown = fig.layout.margin.t - CHART_TOP
    assert grown >= SUBTITLE_LINES * 12 * LINE_EM  # at least two lines of the chart's font
    assert fig.layout.height == plain.layout.height + grown  # the plot keeps its size
    assert options_applied(fig)
    # pure: the chart passed in is as it was
    assert plain.layout.title.text != "Figure 4" and plain.layout.margin.t == CHART_TOP
    assert not plain.layout.title.subtitle.text and not options_applied(plain)


def test_a_note_under_the_own_title_stays_under_the_custom_one():
    row = np.array([0.5, 0.25, 0.25])
    chart = flow.rollout_bars(row, ["[CLS]", "a", "[SEP]"], np.array([1, 0, 1], bool), "0·[CLS]", 1)
    note = chart.layout.title.text.partition("<br>")[2]
    assert note  # the rollout chart says that red bars are special tokens
    fig = with_figure_options(chart, FigureSettings(title="Figure 5"))
    assert fig.layout.title.text == f"Figure 5<br>{note}"
    assert not fig.layout.title.subtitle.text and fig.layout.margin.t == chart.layout.margin.t


def test_a_heatmap_built_by_finish_is_left_as_it_is():
    settings = FigureSettings(title="Figure <1>", subtitle=SUBTITLE, index_labels=False)
    heatmap = _heatmap(settings)
    assert options_applied(heatmap)
    written = heatmap.to_plotly_json()
    again = with_figure_options(heatmap, settings)
    assert again is heatmap and again.to_plotly_json() == written
    assert heatmap.layout.title.text.split("<br>")[0] == "Figure &lt;1&gt;"  # what finish wrote
    # other settings do not reach it either: finish drew it from its own
    other = with_figure_options(heatmap, FigureSettings(title="Other", subtitle="other"))
    assert other.layout.title.text.startswith("Figure &lt;1&gt;") and other.layout.margin.t == heatmap.layout.margin.t


def test_markup_in_a_title_or_subtitle_is_written_literally():
    fig = with_figure_options(_bars(), FigureSettings(title="<b>bold</b> & <br>", subtitle="a <i>b</i>"))
    assert fig.layout.title.text == "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;br&gt;"
    assert fig.layout.title.subtitle.text == "a &lt;i&gt;b&lt;/i&gt;"


def test_a_long_title_and_subtitle_are_cut_to_the_canvas_with_an_ellipsis():
    title = ("A very long custom title for the third figure of a paper, " * 4)[:MAX_TITLE]
    subtitle = "minilm · " + "猫がマットの上に座った。" * 40
    fig = with_figure_options(_bars(), FigureSettings(title=title, subtitle=subtitle))
    head, sub = fig.layout.title.text, fig.layout.title.subtitle.text
    assert head.endswith(ELLIPSIS) and sub.endswith(ELLIPSIS)
    assert title.startswith(head[:-1].rstrip()) and subtitle.startswith(sub[:-1])
    title_font = round(1.4 * 12)
    room = CHART_WIDTH - TITLE_PAD  # the chart has no width: exports draw it 700 px wide
    assert text_px(head, title_font) <= room and text_px(sub, 12) <= room
    assert text_px(head, title_font) > room / 2  # cut to the canvas, not to nothing


def test_a_narrower_chart_cuts_the_title_shorter_and_the_settings_width_does_not():
    title = ("A long custom title that does not fit a narrow chart, " * 3)[:MAX_TITLE]
    wide = with_figure_options(_bars(), FigureSettings(title=title))
    narrow = with_figure_options(_bars().update_layout(width=400), FigureSettings(title=title))
    assert len(narrow.layout.title.text) < len(wide.layout.title.text)
    # a chart is drawn CHART_WIDTH wide whatever the settings' width (which sizes the heatmaps)
    assert (
        with_figure_options(_bars(), FigureSettings(title=title, width=400)).layout.title.text == wide.layout.title.text
    )


def test_applying_twice_is_applying_once():
    settings = FigureSettings(title="Figure 6", subtitle=SUBTITLE, index_labels=False)
    once = with_figure_options(_bars(), settings)
    twice = with_figure_options(once, settings)
    assert twice.to_plotly_json() == once.to_plotly_json()


def test_token_labels_lose_their_position_and_other_labels_stay():
    row = np.array([0.5, 0.25, 0.25])
    chart = flow.rollout_bars(row, ["[CLS]", "the", "[SEP]"], np.array([1, 0, 1], bool), "0·[CLS]", 1)
    assert list(chart.layout.xaxis.ticktext) == ["0·[CLS]", "1·the", "2·[SEP]"]
    fig = with_figure_options(chart, FigureSettings(index_labels=False))
    assert list(fig.layout.xaxis.ticktext) == ["[CLS]", "the", "[SEP]"]
    assert list(fig.layout.xaxis.tickvals) == ["0·[CLS]", "1·the", "2·[SEP]"]  # the categories stay apart
    assert fig.layout.title.text == chart.layout.title.text


def test_default_settings_change_nothing():
    chart = _bars()
    assert with_figure_options(chart, FigureSettings()) is chart
