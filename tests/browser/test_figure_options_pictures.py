"""Browser tier: the figure options as kaleido draws them.

A head heatmap is rendered with and without a long custom title and the subtitle (model and
a long Japanese sentence), and with and without the labels' position prefix; the pictures
are compared pixel by pixel.  The title and subtitle only add ink above the plot, inside the
canvas (the long lines are cut with an ellipsis, not at the canvas edge); the plot below is
the same picture moved down; labels without their prefix change the label margin.

The small charts (bars and lines of chart_layout) get the same options through
layout.with_figure_options: a bar chart, a bar chart with a note under its title, and the
two-panel mixing chart (its title on the plot area, panel titles above the plot) are drawn
with a long title and subtitle; the new lines stay inside the canvas, apart, and above
everything the chart draws under its title, and the chart below is the plain one moved down.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from viz import export, flow, heatmaps, mixing, overview
from viz.layout import CHART_WIDTH, FigureSettings, options_applied, subtitle_of, with_figure_options

N, FONT = 13, 14
INK = 200  # a channel below this is ink on the white background
EDGE = 3  # px at the canvas edges that must stay background
TITLE = "Figure 3: what the heads of layer one attend to, shown for a paper " * 2
SENTENCE = "猫がマットの上に座ったのは、疲れていたからです。" * 20


def _figure(settings: FigureSettings):
    rng = np.random.default_rng(0)
    weights = rng.random((N, N)) + 0.05
    weights /= weights.sum(axis=-1, keepdims=True)
    tokens = ["[CLS]", *(f"w{i}" for i in range(1, N - 1)), "[SEP]"]
    special = np.zeros(N, dtype=bool)
    special[[0, N - 1]] = True
    return heatmaps.head_heatmap(weights, tokens, special, title="Layer 1, head 1", settings=settings)


def _picture(fig) -> np.ndarray:
    """[height, width] grey levels of the PNG kaleido draws at scale 1."""
    from PIL import Image

    image = Image.open(io.BytesIO(export.figure_image(fig, "png", scale=1.0))).convert("L")
    assert image.size == (fig.layout.width, fig.layout.height)
    return np.asarray(image)


def test_a_custom_title_and_the_subtitle_lie_inside_the_canvas_above_the_plot():
    assert export.image_export_available() == (True, "")
    plain = _figure(FigureSettings(font_size=FONT))
    titled = _figure(FigureSettings(font_size=FONT, title=TITLE, subtitle=subtitle_of("minilm", SENTENCE)))
    before, after = _picture(plain), _picture(titled)
    assert titled.layout.title.text.endswith("…") and titled.layout.title.subtitle.text.endswith("…")
    assert after.shape[1] == before.shape[1]  # same width: the lines were cut, not the canvas widened
    grown = titled.layout.margin.t - plain.layout.margin.t
    assert grown > 0 and after.shape[0] == before.shape[0] + grown
    # below the title area the picture is the plain one moved down
    top = plain.layout.margin.t
    moved = np.abs(after[top + grown :].astype(int) - before[top:].astype(int)) > 40
    assert moved.mean() < 0.002, moved.mean()
    # the title area changed, and its ink stays inside the canvas
    area = after[: titled.layout.margin.t] < INK
    changed = area != (np.pad(before[:top], ((grown, 0), (0, 0)), constant_values=255) < INK)
    rows, cols = np.nonzero(changed)
    assert changed.sum() > 500, changed.sum()  # a title and a subtitle line of text
    assert cols.min() >= EDGE and cols.max() < after.shape[1] - EDGE, (cols.min(), cols.max())
    assert rows.min() >= EDGE
    ink_rows = np.flatnonzero(area.any(axis=1))
    lines = np.split(ink_rows, np.flatnonzero(np.diff(ink_rows) > 1) + 1)
    assert len(lines) >= 2, [(line[0], line[-1]) for line in lines]  # the title and the subtitle, apart
    assert lines[-1][-1] < titled.layout.margin.t - 2  # the subtitle ends above the plot
    assert not (after[:, :EDGE] < INK).any() and not (after[:, -EDGE:] < INK).any()


def test_labels_without_their_position_differ_and_stay_inside():
    with_index = _figure(FigureSettings(font_size=FONT))
    without = _figure(FigureSettings(font_size=FONT, index_labels=False, special_lines=False))
    assert list(without.layout.yaxis.ticktext)[:2] == ["[CLS]", "w1"]
    before, after = _picture(with_index), _picture(without)
    assert without.layout.margin.l < with_index.layout.margin.l  # shorter labels, a narrower margin
    assert before.shape != after.shape or (before != after).any()
    left, top, bottom = without.layout.margin.l, without.layout.margin.t, without.layout.margin.b
    ink = after < INK
    assert ink[top : after.shape[0] - bottom, EDGE:left].any()  # the query labels
    assert not ink[:, :EDGE].any() and not ink[-EDGE:, :].any()


def _partition_bars():
    return overview.partition_bar(np.array([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]]))


def _rollout_bars():
    tokens = ["[CLS]", *(f"w{i}" for i in range(1, N - 1)), "[SEP]"]
    row = np.linspace(1.0, 2.0, N)
    special = np.zeros(N, dtype=bool)
    special[[0, N - 1]] = True
    return flow.rollout_bars(row / row.sum(), tokens, special, "0·[CLS]", 2)


def _mixing_shares():
    lines = {"alti": np.linspace(0.2, 0.8, 6), "attention": np.linspace(0.6, 0.3, 6)}
    labels = {"alti": "ALTI", "attention": "attention weights"}
    return mixing.share_lines(lines, lines, labels, settings=FigureSettings(font_size=FONT))


def _chart_picture(fig) -> np.ndarray:
    """[height, width] grey levels of a chart's PNG at scale 1 (CHART_WIDTH wide without a width)."""
    from PIL import Image

    image = Image.open(io.BytesIO(export.figure_image(fig, "png", scale=1.0))).convert("L")
    assert image.size == (fig.layout.width or CHART_WIDTH, fig.layout.height)
    return np.asarray(image)


def _line_rows(ink: np.ndarray) -> list[np.ndarray]:
    """The runs of consecutive rows that hold ink: one per text line."""
    rows = np.flatnonzero(ink.any(axis=1))
    return [run for run in np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1) if run.size]


@pytest.mark.parametrize("make", [_partition_bars, _rollout_bars, _mixing_shares], ids=["bars", "noted", "mixing"])
def test_a_chart_draws_a_custom_title_and_the_subtitle_inside_and_above_its_plot(make):
    assert export.image_export_available() == (True, "")
    plain = make()
    untitled = make().update_layout(title_text="")  # what the chart draws in its top margin besides the title
    settings = FigureSettings(font_size=FONT, title=TITLE, subtitle=subtitle_of("minilm", SENTENCE))
    titled = with_figure_options(plain, settings)
    assert options_applied(titled) and not options_applied(plain)
    assert titled.layout.title.text.split("<br>")[0].endswith("…") and titled.layout.title.subtitle.text.endswith("…")
    before, after, bare = _chart_picture(plain), _chart_picture(titled), _chart_picture(untitled)
    top, new_top = plain.layout.margin.t, titled.layout.margin.t
    grown = new_top - top
    assert grown > 0 and after.shape == (before.shape[0] + grown, before.shape[1])  # cut, not widened
    # below the title area the picture is the plain one moved down
    moved = np.abs(after[new_top:].astype(int) - before[top:].astype(int)) > 40
    assert moved.mean() < 0.002, moved.mean()
    # the chart's own ink above its plot (panel titles), moved down with it
    others = np.zeros((new_top, after.shape[1]), dtype=bool)
    others[grown:] = bare[:top] < INK
    ink = after[:new_top] < INK
    titles = ink & ~others
    assert titles.sum() > 500, titles.sum()  # a title and a subtitle line of text
    rows, cols = np.nonzero(titles)
    assert rows.min() >= EDGE and cols.min() >= EDGE and cols.max() < after.shape[1] - EDGE, (cols.min(), cols.max())
    assert not (after[:, :EDGE] < INK).any() and not (after[:, -EDGE:] < INK).any()
    lines = _line_rows(titles)
    note = "<br>" in plain.layout.title.text
    assert len(lines) >= 2 + note, [(line[0], line[-1]) for line in lines]  # title, (note,) subtitle: apart
    below = np.flatnonzero(others.any(axis=1))
    first_other = int(below[0]) if below.size else new_top
    assert lines[-1][-1] < min(first_other, new_top) - 1, (lines[-1][-1], first_other, new_top)
