"""Figures of what flows where: attention rollout and the size of each token's value vectors.

rollout_bars        where one token's representation after a layer traces back to
value_norm_heatmap  ‖f(x)‖ per layer and token: why the weight and norm views differ
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from i18n import N_
from viz.labels import token_labels
from viz.layout import MAX_WIDTH, SEPARATOR, FigureSettings, chart_layout, longest_px, tick_step
from viz.legend import LAYER_NAME

SOURCE_COLOUR = "#1f77b4"
SPECIAL_SOURCE_COLOUR = "#d62728"
ROLLOUT_TITLE = N_("Where {token} draws from after layer {layer} (attention rollout)")
CELL_PX = 22  # px per token of a bar chart or norm heatmap, up to MAX_WIDTH
SPECIAL_FORM = re.compile(r"\[[A-Za-z_]+\]|<[A-Za-z/_|]+>")  # [CLS], [SEP], <s>, </s>: when no mask is given


def token_axis(names: Sequence[str], special: Sequence[bool], plot_px: float, font: float) -> dict:
    """A category axis over one label per token: every label when a text line fits each
    token (and up to LABEL_LIMIT tokens), else every k-th, as the heatmaps thin theirs.
    Special tokens always keep their label; thinned labels next to one give way."""
    names = list(names)
    n = len(names)
    step = tick_step(n, plot_px / max(n, 1), font)
    if step == 1:
        shown = list(range(n))
    else:
        specials = np.flatnonzero(np.asarray(special, dtype=bool)[:n])
        near = np.zeros(n, dtype=bool)
        for k in specials.tolist():
            near[max(0, k - step + 1) : k + step] = True
        regular = [i for i in range(0, n, step) if not near[i]]
        shown = sorted({*regular, *specials.tolist()})
    ticks = [names[i] for i in shown]
    return dict(type="category", tickangle=-90, tickmode="array", tickvals=ticks, ticktext=ticks)


def rollout_bars(
    row: np.ndarray, labels: Sequence[str], special_mask: np.ndarray, query_label: str, layer: int, view_note: str = ""
) -> go.Figure:
    """Where a query token's representation after `layer` comes from: row [M] (sums to 1)."""
    row = np.asarray(row, dtype=np.float64)
    names = token_labels(labels)
    colours = [SPECIAL_SOURCE_COLOUR if special else SOURCE_COLOUR for special in np.asarray(special_mask, bool)]
    fig = go.Figure(go.Bar(x=names, y=row, marker_color=colours, hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
    subtitle = str(SEPARATOR).join(str(part) for part in (N_("red: special tokens"), view_note) if part)
    font = FigureSettings().font_size
    title = ROLLOUT_TITLE.format(token=query_label, layer=layer)
    width = min(MAX_WIDTH, max(520, 140 + CELL_PX * len(names)))
    return chart_layout(
        fig,
        title=f"{title}<br><sup>{subtitle}</sup>",
        xaxis=token_axis(names, np.asarray(special_mask, bool), width - 140, font),
        yaxis=dict(title=str(N_("share of the representation")), tickformat=".0%", rangemode="tozero"),
        height=int(360 + longest_px(names, font)),
        width=width,
    )


def value_norm_heatmap(norms: np.ndarray, labels: Sequence[str], special_mask: np.ndarray | None = None) -> go.Figure:
    """Mean over heads of ‖f_h(x_j)‖ per layer (y) and token (x): norms [L, M].  Labels of
    long inputs are thinned, keeping the special tokens (special_mask [M]; without one,
    tokens written like [CLS] or </s>)."""
    norms = np.asarray(norms, dtype=np.float64)
    names = token_labels(labels)
    if special_mask is None:
        special_mask = np.array([bool(SPECIAL_FORM.fullmatch(str(token))) for token in labels], dtype=bool)
    font = FigureSettings().font_size
    fig = go.Figure(
        go.Heatmap(
            z=norms,
            x=names,
            y=[str(LAYER_NAME.format(layer=layer + 1)) for layer in range(norms.shape[0])],
            colorscale="Greens",
            zmin=0.0,
            hovertemplate="%{y}, %{x}: ‖f(x)‖ = %{z:.2f}<extra></extra>",
            colorbar=dict(title=dict(text="‖f(x)‖")),
        )
    )
    width = min(MAX_WIDTH, max(520, 180 + CELL_PX * len(names)))
    return chart_layout(
        fig,
        title=str(N_("How much each token's value vector can move (‖f(x)‖, mean over heads)")),
        xaxis=token_axis(names, special_mask, width - 180, font),
        yaxis=dict(autorange="reversed"),
        height=int(200 + 30 * norms.shape[0] + longest_px(names, font)),
        width=width,
    )
