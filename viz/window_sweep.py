"""Figures for the dense-vs-window comparison: what each window takes away from the same weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from i18n import N_
from models.score.roles import ROLE_LABELS, ROLES
from viz.layout import chart_layout
from viz.legend import LAYER_NAME, ROLE_COLOURS, SHARE_OF_ATTENTION, SHARE_OF_HEADS
from viz.overview import SCORE_LABELS

WINDOW_AXIS = N_("attention window (dense = every key)")
MOVED_HOVER = N_("{layer}, {window}: {value} of each row moved")


def score_lines(labels: Sequence[str], scores: Mapping[str, np.ndarray]) -> go.Figure:
    """One line per score across the sweep: labels [W] ("dense", "64", …), scores name → [W]."""
    fig = go.Figure()
    for name, values in scores.items():
        fig.add_trace(
            go.Scatter(
                x=list(labels),
                y=np.asarray(values, dtype=np.float64),
                mode="lines+markers",
                name=str(SCORE_LABELS.get(name, name)),
                hovertemplate="%{x}: %{y:.3f}<extra>" + name + "</extra>",
            )
        )
    return chart_layout(
        fig,
        title=str(N_("Scores (mean over layers and heads) as the window shrinks")),
        xaxis=dict(title=str(WINDOW_AXIS), type="category"),
        yaxis=dict(title=str(SHARE_OF_ATTENTION), range=[0, 1]),
        height=380,
        legend=dict(orientation="h", y=-0.25),
    )


def role_bars(labels: Sequence[str], role_shares: np.ndarray) -> go.Figure:
    """Stacked share of all heads in each role: role_shares [W, len(ROLES)], rows sum to 1."""
    role_shares = np.asarray(role_shares, dtype=np.float64)
    fig = go.Figure()
    for k, role in enumerate(ROLES):
        fig.add_trace(
            go.Bar(
                x=list(labels),
                y=role_shares[:, k],
                name=str(ROLE_LABELS[role]),
                marker_color=ROLE_COLOURS[role],
                hovertemplate="%{x}: %{y:.0%}<extra>" + str(ROLE_LABELS[role]) + "</extra>",
            )
        )
    return chart_layout(
        fig,
        barmode="stack",
        title=str(N_("Head roles as the window shrinks")),
        xaxis=dict(title=str(WINDOW_AXIS), type="category"),
        yaxis=dict(title=str(SHARE_OF_HEADS), range=[0, 1], tickformat=".0%"),
        height=380,
        legend=dict(orientation="h", y=-0.25),
    )


def moved_heatmap(labels: Sequence[str], moved: np.ndarray) -> go.Figure:
    """Share of attention moved per layer: moved [W, L] (mean over heads and rows), 0..1."""
    moved = np.asarray(moved, dtype=np.float64)
    fig = go.Figure(
        go.Heatmap(
            z=moved.T,
            x=list(labels),
            y=[str(LAYER_NAME.format(layer=layer + 1)) for layer in range(moved.shape[1])],
            colorscale="Reds",
            zmin=0.0,
            zmax=1.0,
            text=np.round(moved.T, 2),
            texttemplate="%{text}",
            hovertemplate=f"{MOVED_HOVER.format(layer='%{y}', window='%{x}', value='%{z:.3f}')}<extra></extra>",
            colorbar=dict(title=str(N_("moved"))),
        )
    )
    return chart_layout(
        fig,
        title=str(N_("How much of each row's attention the window moved (½ Σ|A_window − A_dense|)")),
        xaxis=dict(title=str(WINDOW_AXIS), type="category"),
        yaxis=dict(autorange="reversed"),
        height=320,
    )
