"""Figures of what flows where: attention rollout and the size of each token's value vectors.

rollout_bars        where one token's representation after a layer traces back to
value_norm_heatmap  ‖f(x)‖ per layer and token: why the weight and norm views differ
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from i18n import N_
from viz.labels import token_labels
from viz.layout import SEPARATOR, FigureSettings, chart_layout, longest_px

SOURCE_COLOUR = "#1f77b4"
SPECIAL_SOURCE_COLOUR = "#d62728"
RED_SPECIAL = N_("red: special tokens")
ROLLOUT_TITLE = N_("Where {token} draws from after layer {layer} (attention rollout)")
SHARE_OF_REPRESENTATION = N_("share of the representation")
NORMS_TITLE = N_("How much each token's value vector can move (‖f(x)‖, mean over heads)")
LAYER_NAME = N_("layer {layer}")


def rollout_bars(
    row: np.ndarray, labels: Sequence[str], special_mask: np.ndarray, query_label: str, layer: int, view_note: str = ""
) -> go.Figure:
    """Where a query token's representation after `layer` comes from: row [M] (sums to 1)."""
    row = np.asarray(row, dtype=np.float64)
    names = token_labels(labels)
    colours = [SPECIAL_SOURCE_COLOUR if special else SOURCE_COLOUR for special in np.asarray(special_mask, bool)]
    fig = go.Figure(go.Bar(x=names, y=row, marker_color=colours, hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
    subtitle = str(SEPARATOR).join(str(part) for part in (RED_SPECIAL, view_note) if part)
    font = FigureSettings().font_size
    title = ROLLOUT_TITLE.format(token=query_label, layer=layer)
    return chart_layout(
        fig,
        title=f"{title}<br><sup>{subtitle}</sup>",
        xaxis=dict(type="category", tickangle=-90, tickmode="array", tickvals=names, ticktext=names),
        yaxis=dict(title=str(SHARE_OF_REPRESENTATION), tickformat=".0%", rangemode="tozero"),
        height=int(360 + longest_px(names, font)),
        width=max(520, 140 + 22 * len(names)),
    )


def value_norm_heatmap(norms: np.ndarray, labels: Sequence[str]) -> go.Figure:
    """Mean over heads of ‖f_h(x_j)‖ per layer (y) and token (x): norms [L, M]."""
    norms = np.asarray(norms, dtype=np.float64)
    names = token_labels(labels)
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
    return chart_layout(
        fig,
        title=str(NORMS_TITLE),
        xaxis=dict(type="category", tickangle=-90, tickmode="array", tickvals=names, ticktext=names),
        yaxis=dict(autorange="reversed"),
        height=int(200 + 30 * norms.shape[0] + longest_px(names, font)),
        width=max(520, 180 + 22 * len(names)),
    )
