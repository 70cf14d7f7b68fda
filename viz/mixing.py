"""Figures of context mixing (models/mixing): per-layer lines, one per measure.

ratio_lines   the mixing ratio per layer: the share of each token's new representation
              that comes from the other tokens
share_lines   the [CLS] share and the [SEP] share per layer, side by side

Pure: arrays and labels in, a plotly figure out; no model.  Each line is keyed by the
measure's identifier (`alti`, …), which fixes its colour in every figure; `labels` gives
the name the legend shows.  The canvas is sized from the font, the legend's longest name
and the number of layers, so titles and labels stay inside it at fonts 8–32.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from i18n import N_
from viz.layout import LINE_EM, MAX_WIDTH, FigureSettings, chart_layout, longest_px, text_px
from viz.legend import LAYER

MEASURE_COLOURS = {  # the matplotlib/plotly "tab10" colours, one per measure identifier
    "attention": "#7f7f7f",
    "attention_norm": "#1f77b4",
    "attention_norm_res": "#2ca02c",
    "attention_norm_res_ln": "#17becf",
    "globenc": "#9467bd",
    "alti": "#d62728",
    "value_zeroing": "#ff7f0e",
}
OTHER_COLOURS = ("#8c564b", "#e377c2", "#bcbd22")  # a measure not in MEASURE_COLOURS
DASHED = ("attention",)  # the weights, drawn for contrast
SHARE_ON = N_("share on {token}")
PANEL_PX = 360  # the plot area per panel of an automatic width, at least
MIN_PANEL_PX = 160  # the plot area per panel of a fixed width, at least
LAYER_PX = 28  # px per layer on the x axis at least, up to MAX_PANEL_PX
MAX_PANEL_PX = 1200
SHARE_RANGE = (-0.03, 1.03)  # 0–100% with room for a marker at either end


def colour_of(name: str, index: int) -> str:
    """The line colour of a measure: its own, or one of OTHER_COLOURS by position."""
    return MEASURE_COLOURS.get(name, OTHER_COLOURS[index % len(OTHER_COLOURS)])


def ratio_lines(
    ratios: Mapping[str, np.ndarray], labels: Mapping[str, str], settings: FigureSettings = FigureSettings()
) -> go.Figure:
    """One line per measure: ratios name → [L] in [0, 1]; labels name → the legend's name."""
    fig = go.Figure()
    for index, (name, values) in enumerate(ratios.items()):
        fig.add_trace(_line(name, index, values, labels, legend=True))
    layers = _layer_count(ratios)
    return _finish(
        fig,
        str(N_("Mixing ratio per layer")),
        str(N_("mean over tokens of the share of a token's new representation that comes from the other tokens")),
        labels,
        layers,
        settings,
        panels=1,
        yaxis=dict(title=str(N_("mixing ratio"))),
    )


def share_lines(
    to_cls: Mapping[str, np.ndarray],
    to_sep: Mapping[str, np.ndarray],
    labels: Mapping[str, str],
    cls_token: str = "[CLS]",
    sep_token: str = "[SEP]",
    settings: FigureSettings = FigureSettings(),
) -> go.Figure:
    """Two panels, [CLS] left and [SEP] right, one line per measure in each (the same colour
    and legend entry): to_cls, to_sep name → [L] in [0, 1]."""
    cls, sep = html.escape(str(cls_token)), html.escape(str(sep_token))  # "<s>" is a token, not markup
    titles = (str(SHARE_ON.format(token=cls)), str(SHARE_ON.format(token=sep)))
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=titles, horizontal_spacing=0.06)
    for column, shares in enumerate((to_cls, to_sep), start=1):
        for index, (name, values) in enumerate(shares.items()):
            fig.add_trace(_line(name, index, values, labels, legend=column == 1), row=1, col=column)
    for annotation in fig.layout.annotations:  # the panel titles
        annotation.font = dict(size=settings.font_size + 1)
    layers = max(_layer_count(to_cls), _layer_count(to_sep))
    return _finish(
        fig,
        str(N_("How much of each layer's mixing lands on the special tokens")),
        str(N_("mean over tokens of the share on {cls}, and on every {sep} together").format(cls=cls, sep=sep)),
        labels,
        layers,
        settings,
        panels=2,
        yaxis=dict(title=str(N_("share"))),
        xaxis2=_layer_axis(layers, settings.font_size),
        yaxis2=dict(tickformat=".0%", range=list(SHARE_RANGE), tickfont=dict(size=settings.font_size)),
    )


def _line(name: str, index: int, values: np.ndarray, labels: Mapping[str, str], legend: bool) -> go.Scatter:
    values = np.asarray(values, dtype=np.float64)
    label = str(labels.get(name, name))
    return go.Scatter(
        x=np.arange(1, values.size + 1),
        y=values,
        mode="lines+markers",
        name=label,
        legendgroup=name,
        showlegend=legend,
        line=dict(color=colour_of(name, index), width=2.5, dash="dash" if name in DASHED else "solid"),
        marker=dict(size=7),
        hovertemplate=f"{html.escape(label)}, {LAYER} %{{x}}: %{{y:.1%}}<extra></extra>",
    )


def _layer_count(lines: Mapping[str, np.ndarray]) -> int:
    return max((np.asarray(values).size for values in lines.values()), default=1)


def _panel_px(layers: int, font: int) -> float:
    """A panel wide enough for every layer's number, up to MAX_PANEL_PX."""
    per_layer = max(LAYER_PX, text_px("0" * len(str(max(layers, 1))), font) + 12)
    return min(MAX_PANEL_PX, max(PANEL_PX, per_layer * layers))


def _layer_axis(layers: int, font: int) -> dict:
    """Layers 1…L as numbers: every layer while its number fits its share of the panel,
    else plotly's own spacing."""
    digits = len(str(max(layers, 1)))
    fits = _panel_px(layers, font) / max(layers, 1) >= text_px("0" * digits, font) + 6
    axis = dict(title=dict(text=str(LAYER)), range=[0.5, max(layers, 1) + 0.5], tickfont=dict(size=font))
    if fits:
        axis.update(tickmode="linear", tick0=1, dtick=1)
    return axis


def _finish(
    fig: go.Figure,
    title: str,
    note: str,
    labels: Mapping[str, str],
    layers: int,
    settings: FigureSettings,
    panels: int,
    **axes: dict,
) -> go.Figure:
    """Size the canvas from the font, the legend and the layer count; titles left-aligned."""
    font = settings.font_size
    panel = _panel_px(layers, font)
    legend_px = longest_px([str(label) for label in labels.values()], font) + 3 * font + 30
    axis_px = 3 * font * LINE_EM + 40  # the y axis title and its tick labels
    title_px = max(text_px(title, font + 4), text_px(note, 0.7 * (font + 4))) + 40
    least = panels * MIN_PANEL_PX + legend_px + axis_px  # a narrower canvas grows, as the heatmaps' do
    width = (
        max(settings.width, least)
        if settings.width
        else min(MAX_WIDTH, max(panels * panel + legend_px + axis_px, title_px))
    )
    top = int(2 * (font + 4) * LINE_EM + (font + 1) * LINE_EM * (panels > 1) + 30)
    height = int(top + panel * 0.8 + 3 * font * LINE_EM + 40)
    axes.setdefault("xaxis", _layer_axis(layers, font))
    axes["yaxis"] = dict(tickformat=".0%", range=list(SHARE_RANGE), tickfont=dict(size=font), **axes["yaxis"])
    axes["yaxis"]["title"] = dict(text=axes["yaxis"]["title"], font=dict(size=font + 1))
    for name, axis in axes.items():
        if name.startswith("xaxis"):
            axis["title"]["font"] = dict(size=font + 1)
    chart_layout(
        fig,
        title=dict(text=f"{title}<br><sup>{note}</sup>", font=dict(size=font + 4), x=0.0, xanchor="left", xref="paper"),
        font=dict(size=font),
        legend=dict(font=dict(size=font), tracegroupgap=2),
        width=int(width),
        height=height,
        **axes,
    )
    fig.update_layout(margin=dict(t=top))
    return fig
