"""Browser tier: a layer grid at a font size that once crashed it, drawn by kaleido.

The unit sweep (tests/unit/test_figure_sweep.py) checks every figure's geometry; this draws
one sample and checks the picture: it decodes, has the figure's size, is not blank, has
ink in the margins where the title and the tick labels go, and no label is cut at the
canvas edge.
"""

from __future__ import annotations

import io

import numpy as np

from viz import export, heatmaps
from viz.layout import FigureSettings

FONT, N, HEADS = 16, 20, 12
INK = 200  # a channel below this is ink on the white background


def _grid():
    rng = np.random.default_rng(0)
    weights = rng.random((HEADS, N, N)) + 0.05
    weights /= weights.sum(axis=-1, keepdims=True)
    tokens = ["[CLS]", *(f"w{i}" for i in range(1, N - 1)), "[SEP]"]
    return heatmaps.layer_grid(weights, tokens, title="Layer 1", settings=FigureSettings(font_size=FONT))


def test_layer_grid_at_font_16_draws_its_labels_inside_the_canvas():
    from PIL import Image

    fig = _grid()
    assert export.image_export_available() == (True, "")
    image = Image.open(io.BytesIO(export.figure_image(fig, "png", scale=1.0))).convert("L")
    width, height = fig.layout.width, fig.layout.height
    assert image.size == (width, height)
    ink = np.asarray(image) < INK  # [height, width]
    assert ink.mean() > 0.05  # heatmaps, not a blank page
    left, bottom, top = fig.layout.margin.l, fig.layout.margin.b, fig.layout.margin.t
    assert ink[top : height - bottom, 2:left].any()  # query labels left of the first column
    assert ink[height - bottom : height - 2, left:].any()  # key labels under the bottom row
    assert ink[:top, :].any()  # the title
    # nothing is cut at the canvas edges: the outermost pixels stay background
    assert not ink[:, :2].any() and not ink[-2:, :].any()
