"""Unit tier: every token figure builder is valid at every font size and input length.

A sweep over font sizes × token counts on hand-built row-stochastic attention (no model):
each figure must build, serialise (plotly validates every property on the way) and keep
every axis domain inside [0, 1] and ordered.  Layer grids once failed at fonts 11, 13, 16
and 18 because a domain computed in floating point fell a hair below 0.

The figure options of FigureSettings (no position prefix, no guide lines, a long custom
title, a subtitle with a long Japanese sentence) are swept the same way: the title lines
must fit the canvas by the layout's own estimate, the labels lose their prefix and the
guide lines go.  Fonts below the settings' minimum are rejected by FigureSettings with a plain message; the
builders are still swept at them (validation bypassed) so that lowering the minimum
cannot bring the crash back.  Long inputs use few heads and layers to stay fast.
"""

from __future__ import annotations

import numpy as np
import plotly.io
import pytest

from models.extract import banded
from viz import flow, heatmaps
from viz import mixing as mixing_figures
from viz import sparse as sparse_figures
from viz.labels import INDEX_PREFIX
from viz.layout import LABEL_LIMIT, MAX_TITLE, MIN_FONT, TITLE_PAD, FigureSettings, subtitle_of, text_px

FONTS = (8, 11, 13, 16, 18, 20, 24, 32)
LENGTHS = (2, 13, 170, 600)
CHEAP_LENGTHS = (*LENGTHS, 4096)


LONG_TITLE = ("A custom title for the paper's third figure, " * 5)[:MAX_TITLE]
LONG_SENTENCE = "猫がマットの上に座ったのは、疲れていたからです。" * 60  # the subtitle is cut to the canvas
OPTIONS = {
    "no index, no guides": dict(index_labels=False, special_lines=False),
    "long title": dict(title=LONG_TITLE),
    "subtitle": dict(subtitle=subtitle_of("minilm", LONG_SENTENCE, "二つ目の文。")),
    "all": dict(title=LONG_TITLE, subtitle=subtitle_of("minilm", LONG_SENTENCE), index_labels=False),
}


def settings_at(font: int, width: int | None = None, **options) -> FigureSettings:
    """Settings at `font` with the figure `options`, also below MIN_FONT (which FigureSettings refuses)."""
    if font >= MIN_FONT:
        return FigureSettings(font_size=font, width=width, **options)
    settings = FigureSettings(width=width, **options)
    object.__setattr__(settings, "font_size", font)
    return settings


def tokens_of(n: int) -> list[str]:
    return ["[CLS]", *(f"w{i}" for i in range(1, n - 1)), "[SEP]"][:n]


def special_of(n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[[0, n - 1]] = True
    return mask


def attention(n: int, heads: int = 1, seed: int = 0) -> np.ndarray:
    """Row-stochastic [heads, n, n], float32."""
    weights = np.random.default_rng(seed + n).random((heads, n, n), dtype=np.float32) + 0.05
    return weights / weights.sum(axis=-1, keepdims=True)


def check(fig) -> dict:
    """The figure serialises, and every axis domain lies in [0, 1], low ≤ high."""
    plotly.io.to_json(fig, validate=True)
    data = fig.to_dict()
    layout = data["layout"]
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and "domain" in axis:
            low, high = axis["domain"]
            assert 0.0 <= low <= high <= 1.0, (name, axis["domain"])
    margin = layout.get("margin", {})
    assert all(margin.get(side, 0) >= 0 for side in "lrtb"), margin
    assert layout.get("width", 10) >= 10 and layout.get("height", 10) >= 10
    return data


def test_fonts_below_the_minimum_are_refused_with_a_message():
    with pytest.raises(ValueError, match="font size"):
        FigureSettings(font_size=MIN_FONT - 1)


@pytest.mark.parametrize("font", FONTS)
@pytest.mark.parametrize("n", (2, 13, 20, 100, 170))
def test_layer_grid_of_twelve_heads(font, n):
    check(heatmaps.layer_grid(attention(n, heads=12), tokens_of(n), title="Layer 1", settings=settings_at(font)))


@pytest.mark.parametrize("font", FONTS)
@pytest.mark.parametrize("heads", (1, 4, 5, 16))
def test_layer_grid_of_any_head_count(font, heads):
    check(heatmaps.layer_grid(attention(20, heads=heads), tokens_of(20), settings=settings_at(font)))


@pytest.mark.parametrize("font", FONTS)
def test_layer_grid_of_a_long_input(font):
    check(heatmaps.layer_grid(attention(600, heads=2), tokens_of(600), settings=settings_at(font)))


@pytest.mark.parametrize("font", FONTS)
@pytest.mark.parametrize("n", LENGTHS)
def test_head_heatmap_and_compare_heads(font, n):
    settings = settings_at(font)
    weights = attention(n, heads=2)
    tokens = tokens_of(n)
    check(heatmaps.head_heatmap(weights[0], tokens, special_of(n), title="t", note="n", settings=settings))
    check(heatmaps.head_heatmap(weights[0], tokens, special_of(n), hide_special=True, settings=settings))
    check(heatmaps.compare_heads(weights[0], weights[1], tokens, "L1H1", "L1H2", settings=settings))


@pytest.mark.parametrize("font", FONTS)
@pytest.mark.parametrize("n", (2, 13, 170))
def test_layer_animation(font, n):
    check(heatmaps.layer_animation(attention(n, heads=2), tokens_of(n), head=1, settings=settings_at(font)))


@pytest.mark.parametrize("font", FONTS)
@pytest.mark.parametrize("n", CHEAP_LENGTHS)
def test_pooled_heatmap_as_a_long_head_is_drawn(font, n):
    weights = attention(n) if n <= 600 else None
    if weights is None:  # 4096²: a banded-like sparse pattern is enough for the figure
        pooled = np.random.default_rng(n).random((256, 256), dtype=np.float32)
        edges = banded.pool_edges(n, 256)
    else:
        pooled, edges = banded.pooled(weights, 0, 256)
    fig = sparse_figures.pooled_heatmap(
        pooled, edges, edges, tokens_of(n), title="t", note="n", settings=settings_at(font)
    )
    check(fig)


@pytest.mark.parametrize("font", FONTS)
@pytest.mark.parametrize("n", LENGTHS)
def test_sparse_category_figures(font, n):
    settings = settings_at(font)
    tokens = tokens_of(n)
    band = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 2
    band[:, 0] = band[0, :] = True
    check(sparse_figures.mask_figure(band, tokens, (0,), title="mask", settings=settings))
    check(sparse_figures.overlap_figure(band.astype(np.int8) * 3, tokens, settings=settings))
    hops = np.where(band, 1, 2).astype(np.int8)
    check(sparse_figures.reachability_figure(hops, tokens, settings=settings))


@pytest.mark.parametrize("n", CHEAP_LENGTHS)
def test_flow_figures(n):
    tokens = tokens_of(n)
    row = attention(n)[0, 1]
    check(flow.rollout_bars(row, tokens, special_of(n), "1·w1", 3, "note"))
    check(flow.value_norm_heatmap(np.random.default_rng(n).random((4, n)), tokens))


@pytest.mark.parametrize("n", (600, 4096))
def test_rollout_bars_thin_long_inputs_but_keep_the_special_tokens(n):
    tokens = tokens_of(n)
    data = check(flow.rollout_bars(attention(n)[0, 1], tokens, special_of(n), "1·w1", 3))
    ticks = data["layout"]["xaxis"]["ticktext"]
    assert len(ticks) <= LABEL_LIMIT + 2
    assert "0·[CLS]" in ticks and f"{n - 1}·[SEP]" in ticks


def test_rollout_bars_label_every_token_of_a_short_input():
    data = check(flow.rollout_bars(attention(13)[0, 1], tokens_of(13), special_of(13), "1·w1", 3))
    assert len(data["layout"]["xaxis"]["ticktext"]) == 13


MIXING_LABELS = {
    "attention": "attention weight",
    "attention_norm": "norm view",
    "attention_norm_res": "norm with residual",
    "attention_norm_res_ln": "norm with residual and LayerNorm",
    "globenc": "GlobEnc",
    "alti": "ALTI",
    "value_zeroing": "value zeroing",
}


@pytest.mark.parametrize("font", FONTS)
@pytest.mark.parametrize("layers", (1, 2, 6, 24, 48))
def test_mixing_lines(font, layers):
    rng = np.random.default_rng(layers)
    lines = {name: rng.random(layers) for name in MIXING_LABELS}
    settings = settings_at(font)
    check(mixing_figures.ratio_lines(lines, MIXING_LABELS, settings))
    check(mixing_figures.share_lines(lines, lines, MIXING_LABELS, "<s>", "</s>", settings))
    check(mixing_figures.ratio_lines(lines, MIXING_LABELS, settings_at(font, 300)))


@pytest.mark.parametrize("font", FONTS)
@pytest.mark.parametrize("n", (2, 13, 170, 512))
def test_mixing_maps_as_the_section_draws_them(font, n):
    """A measure's per-layer map and rollout: head_heatmap with a share colour bar."""
    check(
        heatmaps.head_heatmap(
            attention(n)[0], tokens_of(n), special_of(n), settings=settings_at(font), colour_title="share"
        )
    )


@pytest.mark.parametrize("font", (MIN_FONT, 16, 32))
@pytest.mark.parametrize("width", (300, 1000))
@pytest.mark.parametrize("n", (13, 170))
def test_fixed_widths(font, width, n):
    settings = settings_at(font, width)
    weights = attention(n, heads=4)
    tokens = tokens_of(n)
    check(heatmaps.head_heatmap(weights[0], tokens, special_of(n), settings=settings))
    check(heatmaps.compare_heads(weights[0], weights[1], tokens, "a", "b", settings=settings))
    check(heatmaps.layer_grid(weights, tokens, settings=settings))


def check_options(fig, settings: FigureSettings) -> None:
    """The options reached the figure: the title lines fit the canvas (by the layout's
    estimate), labels lost their position prefix, guide lines are gone."""
    data = check(fig)
    layout = data["layout"]
    title = layout["title"]
    room = layout["width"] - layout["margin"]["l"] - TITLE_PAD
    head = title["text"].split("<br>")[0]
    if settings.title:
        assert head.rstrip("…") and LONG_TITLE.startswith(head.rstrip("…").replace("&#x27;", "'"))
        assert text_px(head, title["font"]["size"]) <= room + 1e-6, (head, room)
    if settings.subtitle:
        line = title["subtitle"]["text"]
        assert line.startswith("minilm · 猫が") and line.endswith("…")
        assert text_px(line, title["subtitle"]["font"]["size"]) <= room + 1e-6, (line, room)
    else:
        assert "subtitle" not in title
    if not settings.index_labels:
        ticks = [tick for name, axis in layout.items() if name[1:5] == "axis" for tick in axis.get("ticktext", [])]
        assert ticks and not any(INDEX_PREFIX.match(str(tick)) for tick in ticks)
    if not settings.special_lines:
        assert not layout.get("shapes")


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("font", FONTS)
@pytest.mark.parametrize("n", LENGTHS)
def test_figure_options_on_head_and_compare_figures(option, font, n):
    weights = attention(n, heads=2)
    tokens = tokens_of(n)
    for width in (None, 300):
        settings = settings_at(font, width, **OPTIONS[option])
        check_options(
            heatmaps.head_heatmap(weights[0], tokens, special_of(n), title="t", note="n", settings=settings), settings
        )
        check_options(
            heatmaps.compare_heads(weights[0], weights[1], tokens, "L1H1", "L1H2", settings=settings), settings
        )


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("font", FONTS)
@pytest.mark.parametrize("n", (2, 13, 170))
def test_figure_options_on_grids_animations_and_sparse_figures(option, font, n):
    settings = settings_at(font, **OPTIONS[option])
    tokens = tokens_of(n)
    check_options(heatmaps.layer_grid(attention(n, heads=4), tokens, title="Layer 1", settings=settings), settings)
    check_options(heatmaps.layer_animation(attention(n, heads=2), tokens, head=1, settings=settings), settings)
    pooled, edges = banded.pooled(attention(n), 0, 64)
    check_options(sparse_figures.pooled_heatmap(pooled, edges, edges, tokens, title="t", settings=settings), settings)
    band = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 2
    check_options(sparse_figures.mask_figure(band, tokens, (0,), title="mask", settings=settings), settings)


def test_subtitle_and_custom_title_are_checked_and_composed():
    with pytest.raises(ValueError, match="title takes at most"):
        FigureSettings(title="x" * (MAX_TITLE + 1))
    with pytest.raises(TypeError):
        FigureSettings(index_labels="no")
    assert (
        subtitle_of("/models/my-bert/", "The  cat\nsat.", "It was tired.") == "my-bert · The cat sat. / It was tired."
    )
    assert FigureSettings() == FigureSettings(title="", subtitle="", index_labels=True, special_lines=True)


def test_default_settings_keep_the_figure_as_it_was():
    """No option set: the title is the figure's own, labels keep their prefix, guides are drawn."""
    n = 13
    fig = heatmaps.head_heatmap(attention(n)[0], tokens_of(n), special_of(n), title="Layer 1, head 1", note="n")
    layout = fig.to_dict()["layout"]
    assert layout["title"]["text"] == "Layer 1, head 1<br><sup>n</sup>" and "subtitle" not in layout["title"]
    assert layout["xaxis"]["ticktext"][0] == "0·[CLS]" and len(layout["shapes"]) == 4
