"""Token-level heatmaps: one head, every head of a layer, and two heads side by side.

All weights are A[query, key] with queries on the y axis and keys on the x axis.
Inputs are never modified; anything that changes the numbers works on a copy.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.labels import SPECIAL_COLOUR, special_positions, token_labels

COLOURSCALE = "Blues"
DIFF_COLOURSCALE = "RdBu_r"
HOVER = "%{y} → %{x}: %{z:.3f}<extra></extra>"
GRID_COLUMNS = 4
CELL_PX = 22  # height per token row of a single-head heatmap
MIN_HEIGHT, MAX_HEIGHT = 320, 900
MIN_DIFF_RANGE = 0.01  # the difference colour scale spans at least ±this
CONTROLS_PX = 190  # room under an animated heatmap for tick labels, play buttons and slider


def hide_special_keys(weights: np.ndarray, special_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop the special-token key columns and renormalise each row to sum to 1.

    weights [..., N_query, N] → ([..., N_query, K], kept key positions [K]).  Rows whose
    whole mass sat on special tokens stay all zero.  Works on a copy.
    """
    keep = np.flatnonzero(~np.asarray(special_mask, dtype=bool))
    kept = np.array(weights, dtype=np.float64, copy=True)[..., keep]
    totals = kept.sum(axis=-1, keepdims=True)
    np.divide(kept, totals, out=kept, where=totals > 0)
    return kept, keep


def _height(n_rows: int) -> int:
    return int(min(MAX_HEIGHT, max(MIN_HEIGHT, CELL_PX * n_rows + 160)))


def _mark_specials(fig: go.Figure, x_labels: list[str], y_labels: list[str], marked: set[str], **where) -> None:
    """Outline the rows and columns of special/global tokens with thin red lines."""
    for label in x_labels:
        if label in marked:
            fig.add_vline(x=label, line_width=1, line_dash="dot", line_color=SPECIAL_COLOUR, **where)
    for label in y_labels:
        if label in marked:
            fig.add_hline(y=label, line_width=1, line_dash="dot", line_color=SPECIAL_COLOUR, **where)


def head_heatmap(
    weights: np.ndarray,
    tokens: Sequence[str],
    special_mask: np.ndarray,
    global_positions: Sequence[int] = (),
    hide_special: bool = False,
    title: str = "",
    zmax: float | None = None,
    rows: slice | None = None,
    cols: slice | None = None,
) -> go.Figure:
    """Heatmap of one head: weights [N, N] (query, key).

    For a zoom into a long input, `weights` is [R, C] for the query positions `rows` and
    key positions `cols`, while `tokens`, `special_mask` and `global_positions` describe
    the whole input (hide_special then applies to a square, unzoomed matrix only).
    """
    weights = np.asarray(weights)
    labels = token_labels(tokens, global_positions)
    marked = {labels[p] for p in special_positions(special_mask, global_positions)}
    rows, cols = rows or slice(0, len(labels)), cols or slice(0, len(labels))
    y_labels, x_labels = labels[rows], labels[cols]
    z = weights
    if hide_special:
        z, keep = hide_special_keys(weights, special_mask)
        x_labels = [labels[k] for k in keep]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x_labels,
            y=y_labels,
            colorscale=COLOURSCALE,
            zmin=0.0,
            zmax=zmax if zmax is not None else (float(np.max(z)) if z.size else 1.0) or 1.0,
            hovertemplate=HOVER,
            colorbar=dict(title="weight"),
        )
    )
    _mark_specials(fig, x_labels, y_labels, marked)
    fig.update_layout(
        title=title,
        height=_height(len(y_labels)),
        xaxis=dict(title="key (attended to)", type="category", tickangle=-60),
        yaxis=dict(title="query (attending)", type="category", autorange="reversed"),
        margin=dict(l=10, r=10, t=50, b=10),
    )
    return fig


def layer_grid(
    layer_weights: np.ndarray,
    tokens: Sequence[str],
    title: str = "",
    head_titles: Sequence[str] | None = None,
) -> go.Figure:
    """Small multiples of every head of one layer: layer_weights [H, N, N], one colour scale."""
    layer_weights = np.asarray(layer_weights)
    n_heads = layer_weights.shape[0]
    rows = math.ceil(n_heads / GRID_COLUMNS)
    titles = list(head_titles) if head_titles else [f"head {h + 1}" for h in range(n_heads)]
    fig = make_subplots(
        rows=rows,
        cols=GRID_COLUMNS,
        subplot_titles=titles,
        horizontal_spacing=0.02,
        vertical_spacing=0.06 if rows > 1 else 0.0,
    )
    labels = token_labels(tokens)
    for head in range(n_heads):
        fig.add_trace(
            go.Heatmap(
                z=layer_weights[head],
                x=labels,
                y=labels,
                coloraxis="coloraxis",
                hovertemplate=f"{titles[head]}<br>" + HOVER,
            ),
            row=head // GRID_COLUMNS + 1,
            col=head % GRID_COLUMNS + 1,
        )
    fig.update_xaxes(showticklabels=False, type="category")
    fig.update_yaxes(showticklabels=False, type="category", autorange="reversed")
    fig.update_layout(
        title=title,
        coloraxis=dict(colorscale=COLOURSCALE, cmin=0.0, cmax=float(layer_weights.max()) or 1.0),
        height=230 * rows + 80,
        margin=dict(l=10, r=10, t=70, b=10),
    )
    return fig


def compare_heads(
    left: np.ndarray,
    right: np.ndarray,
    tokens: Sequence[str],
    left_title: str,
    right_title: str,
    axis_labels: Sequence[str] | None = None,
) -> go.Figure:
    """Two heads [N, N] on the same colour scale, and their difference (left − right).

    `axis_labels` replaces the token labels (e.g. token ranges of pooled matrices).
    """
    left, right = np.asarray(left), np.asarray(right)  # [N, N] each
    if left.shape != right.shape:
        raise ValueError(f"Cannot compare heads of shapes {left.shape} and {right.shape}.")
    labels = list(axis_labels) if axis_labels is not None else token_labels(tokens)
    diff = left.astype(np.float64) - right.astype(np.float64)
    bound = max(float(np.abs(diff).max()), MIN_DIFF_RANGE)  # float noise stays white
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=[left_title, right_title, "difference (left − right)"],
        horizontal_spacing=0.09,
    )
    for col, z in ((1, left), (2, right)):
        fig.add_trace(
            go.Heatmap(z=z, x=labels, y=labels, coloraxis="coloraxis", hovertemplate=HOVER), row=1, col=col
        )
    fig.add_trace(
        go.Heatmap(
            z=diff,
            x=labels,
            y=labels,
            coloraxis="coloraxis2",
            hovertemplate="%{y} → %{x}: %{z:+.3f}<extra></extra>",
        ),
        row=1,
        col=3,
    )
    cmax = float(max(left.max(), right.max())) or 1.0
    fig.update_xaxes(type="category", showticklabels=len(labels) <= 40, tickangle=-60)
    fig.update_yaxes(type="category", autorange="reversed", showticklabels=False)
    fig.update_yaxes(showticklabels=len(labels) <= 40, row=1, col=1)
    fig.update_layout(
        coloraxis=dict(
            colorscale=COLOURSCALE, cmin=0.0, cmax=cmax, colorbar=dict(x=0.64, len=0.9, thickness=12, title="weight")
        ),
        coloraxis2=dict(
            colorscale=DIFF_COLOURSCALE, cmin=-bound, cmax=bound, colorbar=dict(x=1.0, len=0.9, thickness=12, title="Δ")
        ),
        height=_height(len(labels)),
        margin=dict(l=10, r=10, t=60, b=10),
    )
    return fig


def layer_animation(
    head_by_layer: np.ndarray,
    tokens: Sequence[str],
    head: int,
    axis_labels: Sequence[str] | None = None,
) -> go.Figure:
    """One head through every layer: head_by_layer [L, N, N], a play button and a layer slider.

    All frames share one colour scale, so a brighter cell in a later layer is really larger.
    `axis_labels` replaces the token labels (e.g. token ranges for a pooled long input).
    """
    head_by_layer = np.asarray(head_by_layer, dtype=np.float32)  # [L, N, N]
    n_layers = head_by_layer.shape[0]
    labels = list(axis_labels) if axis_labels is not None else token_labels(tokens)
    cmax = float(head_by_layer.max()) or 1.0

    def trace(layer: int) -> go.Heatmap:
        return go.Heatmap(
            z=head_by_layer[layer], x=labels, y=labels, coloraxis="coloraxis",
            hovertemplate=f"layer {layer + 1}<br>" + HOVER,
        )

    frames = [go.Frame(data=[trace(layer)], name=str(layer + 1)) for layer in range(n_layers)]
    step = dict(frame=dict(duration=700, redraw=True), transition=dict(duration=0), mode="immediate")
    fig = go.Figure(data=[trace(0)], frames=frames)
    fig.update_layout(
        title=f"Head {head}, layer by layer",
        coloraxis=dict(colorscale=COLOURSCALE, cmin=0.0, cmax=cmax, colorbar=dict(title="weight")),
        xaxis=dict(type="category", showticklabels=len(labels) <= 60, tickangle=-60),
        yaxis=dict(type="category", autorange="reversed", showticklabels=len(labels) <= 60, title="query"),
        height=_height(len(labels)) + CONTROLS_PX,
        margin=dict(l=10, r=10, t=50, b=CONTROLS_PX),
        updatemenus=[
            dict(
                type="buttons", direction="left", x=0.0, y=0, xanchor="left", yanchor="top",
                pad=dict(t=CONTROLS_PX - 95),
                buttons=[
                    dict(label="▶ play", method="animate", args=[None, dict(step, fromcurrent=True)]),
                    dict(label="❚❚ pause", method="animate", args=[[None], dict(step, mode="immediate")]),
                ],
            )
        ],
        sliders=[
            dict(
                active=0, x=0.3, y=0, yanchor="top", len=0.7, currentvalue=dict(prefix="layer "),
                pad=dict(t=CONTROLS_PX - 120),
                steps=[dict(label=str(layer + 1), method="animate", args=[[str(layer + 1)], step]) for layer in range(n_layers)],
            )
        ],
    )
    return fig
