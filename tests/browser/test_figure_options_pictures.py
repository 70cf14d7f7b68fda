"""Browser tier: the figure options as kaleido draws them.

A head heatmap is rendered with and without a long custom title and the subtitle (model and
a long Japanese sentence), and with and without the labels' position prefix; the pictures
are compared pixel by pixel.  The title and subtitle only add ink above the plot, inside the
canvas (the long lines are cut with an ellipsis, not at the canvas edge); the plot below is
the same picture moved down; labels without their prefix change the label margin.
"""

from __future__ import annotations

import io

import numpy as np

from viz import export, heatmaps
from viz.layout import FigureSettings, subtitle_of

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
