"""Figure layout from labels, and the one window rule: hand-checkable numbers."""

from __future__ import annotations

import pytest

from models.extract.window import MIN_WINDOW, PATTERN_MIN_WINDOW, WindowError, validate_window
from viz.layout import (
    LABEL_LIMIT,
    LINE_EM,
    NARROW_EM,
    SHRINK_FLOOR,
    FigureSettings,
    matrix_layout,
    text_px,
    thinning_note,
    tick_step,
)


def test_text_width_counts_wide_characters_as_one_em():
    assert text_px("abc", 10) == pytest.approx(3 * NARROW_EM * 10)
    assert text_px("猫が", 10) == pytest.approx(20.0)


def test_every_label_up_to_128_when_a_line_fits_each_cell():
    assert tick_step(40, 12 * LINE_EM, 12) == 1  # exactly one line per cell
    assert tick_step(40, 12 * LINE_EM / 2, 12) == 2  # half a line: every second label
    assert tick_step(300, 50, 12) == 3  # never more than LABEL_LIMIT labels: ceil(300 / 128)
    assert tick_step(LABEL_LIMIT, 50, 12) == 1


def test_thinning_note():
    assert thinning_note(50, 1) == ""
    assert thinning_note(300, 3) == "labels show every 3rd of 300 positions"
    assert thinning_note(300, 12) == "labels show every 12th of 300 positions"


def test_canvas_grows_with_tokens_and_label_length():
    short = [f"{i}·w" for i in range(10)]
    more = [f"{i}·w" for i in range(40)]
    longer = [f"{i}·extraordinarily" for i in range(10)]
    a, b, c = (matrix_layout(labels, labels) for labels in (short, more, longer))
    assert b.width > a.width and b.height > a.height
    assert c.margin["l"] > a.margin["l"] and c.margin["b"] > a.margin["b"]
    assert c.margin["l"] >= text_px("9·extraordinarily", 12)  # the longest label fits the left margin
    assert a.side == pytest.approx(360)  # a short input still gets a readable plot
    assert b.side == pytest.approx(40 * 12 * LINE_EM) and b.x_step == b.y_step == 1


def test_fixed_width_is_kept_and_the_font_shrinks_before_labels_thin():
    labels = [f"{i}·tok" for i in range(100)]
    layout = matrix_layout(labels, labels, FigureSettings(font_size=14, width=1200))
    assert layout.width == 1200
    assert layout.margin["l"] + layout.side + layout.margin["r"] == pytest.approx(1200, abs=1)
    assert SHRINK_FLOOR <= layout.font_size < 14
    narrow = matrix_layout(labels, labels, FigureSettings(font_size=14, width=400))
    assert narrow.font_size == SHRINK_FLOOR and narrow.x_step > 1  # too narrow for 100 lines: thinned


def test_three_square_panels_share_the_width():
    labels = [f"{i}·t" for i in range(20)]
    layout = matrix_layout(labels, labels, panels=3, gaps=(24, 110))
    domains = layout.x_domains()
    inner = layout.width - layout.margin["l"] - layout.margin["r"]
    assert [round((d1 - d0) * inner) for d0, d1 in domains] == [round(layout.side)] * 3
    assert domains[1][0] - domains[0][1] == pytest.approx(24 / inner)


@pytest.mark.parametrize("settings", [dict(font_size=3), dict(width=100), dict(scale=9.0), dict(font_size=99)])
def test_figure_settings_out_of_range_are_refused(settings):
    with pytest.raises(ValueError, match="Figure settings out of range"):
        FigureSettings(**settings)


@pytest.mark.parametrize("value,expected", [(16, 16), ("16", 16), (16.0, 16), (" 8 ", 8), (1024, 1024)])
def test_window_rule_accepts(value, expected):
    assert validate_window(value) == expected


@pytest.mark.parametrize("value", [15, 2, 0, 1026, -4, True, "big", 8.5, None])
def test_window_rule_refuses_with_one_message(value):
    with pytest.raises(WindowError, match=f"even whole number from {MIN_WINDOW} to 1024"):
        validate_window(value)


def test_pattern_windows_may_go_down_to_zero():
    assert validate_window(0, minimum=PATTERN_MIN_WINDOW) == 0
    assert validate_window(2, minimum=PATTERN_MIN_WINDOW) == 2
    with pytest.raises(WindowError):
        validate_window(3, minimum=PATTERN_MIN_WINDOW)


def test_figures_name_their_template_even_after_streamlit_is_imported():
    """Importing streamlit makes its template the default, with placeholder colours
    ("#000001", …) only Streamlit's theme replaces: exports drew every line black."""
    import numpy as np
    import plotly.io as pio
    import streamlit  # noqa: F401  (sets pio.templates.default = "streamlit")

    from viz.heatmaps import head_heatmap
    from viz.window_sweep import score_lines

    assert pio.templates.default == "streamlit"
    lines = score_lines(["dense", "64"], {"cls": np.array([0.1, 0.2]), "sep": np.array([0.3, 0.2])})
    heatmap = head_heatmap(np.full((3, 3), 1 / 3), ["[CLS]", "a", "[SEP]"], np.array([True, False, True]))
    for fig in (lines, heatmap):
        colours = fig.layout.template.layout.colorway
        assert colours and colours[0].lower() not in ("#000001", "#000000"), colours
        assert fig.layout.template.layout.xaxis.ticks in (None, ""), "tick marks the margins do not allow for"
