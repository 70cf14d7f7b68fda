"""Figures of a corpus analysis: means over sentences, with their spread.

role_split_bars     each layer's share of heads per role, mean ± std over sentences
partition_bars      where each layer's attention goes, mean ± std over sentences
score_mean_heatmap  a score's corpus mean per layer × head, the std in the hover
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from i18n import N_, lazy_ngettext
from models.roles import ROLE_LABELS, ROLES
from models.scores import PART_NAMES
from viz.layout import chart_layout
from viz.overview import PART_COLOURS, PART_LABELS, SCORE_LABELS, head_names, layer_names
from viz.window_sweep import ROLE_COLOURS

SPREAD = lazy_ngettext(
    "mean ± standard deviation over {n:,} sentence", "mean ± standard deviation over {n:,} sentences"
)
ROLES_TITLE = N_("Head roles by layer over the corpus")
SHARE_OF_HEADS = N_("share of heads")
PARTITION_TITLE = N_("Where each layer's attention goes over the corpus")
SHARE_OF_ATTENTION = N_("share of attention")
MEAN_TITLE = N_("{label}: corpus mean")
MEAN_NOTE = lazy_ngettext("over {n:,} sentence; hover for the std", "over {n:,} sentences; hover for the std")


def _bars(
    means: Mapping[str, np.ndarray],
    stds: Mapping[str, np.ndarray],
    names,
    labels,
    colours,
    title,
    y_title,
    sentences: int,
) -> go.Figure:
    fig = go.Figure()
    for name in names:
        mean = np.asarray(means[name], dtype=np.float64)
        label = str(labels[name])
        fig.add_trace(
            go.Bar(
                x=layer_names(len(mean)),
                y=mean,
                name=label,
                marker_color=colours[name],
                error_y=dict(type="data", array=np.asarray(stds[name], dtype=np.float64), thickness=1, width=3),
                hovertemplate="%{x}: %{y:.1%} ± %{error_y.array:.1%} " + label + "<extra></extra>",
            )
        )
    return chart_layout(
        fig,
        barmode="group",
        title=f"{title}<br><sup>{SPREAD.format(n=sentences)}</sup>",
        yaxis=dict(title=str(y_title), tickformat=".0%", rangemode="tozero"),
        height=430,
        legend=dict(orientation="h", y=-0.15, yanchor="top", x=0.0),
    )


def role_split_bars(layer_roles, sentences: int) -> go.Figure:
    """layer_roles: role → Estimate [L] (share of the layer's heads in that role)."""
    return _bars(
        {r: e.mean for r, e in layer_roles.items()},
        {r: e.std for r, e in layer_roles.items()},
        ROLES,
        ROLE_LABELS,
        ROLE_COLOURS,
        ROLES_TITLE,
        SHARE_OF_HEADS,
        sentences,
    )


def partition_bars(layer_partition, sentences: int) -> go.Figure:
    """layer_partition: part → Estimate [L] (the layer's mass split, averaged over its heads)."""
    return _bars(
        {p: e.mean for p, e in layer_partition.items()},
        {p: e.std for p, e in layer_partition.items()},
        PART_NAMES,
        PART_LABELS,
        PART_COLOURS,
        PARTITION_TITLE,
        SHARE_OF_ATTENTION,
        sentences,
    )


def score_mean_heatmap(mean: np.ndarray, std: np.ndarray, name: str, sentences: int) -> go.Figure:
    """A score's corpus mean per layer (y) × head (x), [L, H]; the std shows on hover."""
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    fig = go.Figure(
        go.Heatmap(
            z=mean,
            customdata=std,
            x=head_names(mean.shape[1]),
            y=layer_names(mean.shape[0]),
            colorscale="Viridis",
            zmin=0.0,
            zmax=1.0,
            hovertemplate="%{y}, %{x}: %{z:.1%} ± %{customdata:.1%}<extra></extra>",
            colorbar=dict(title=dict(text=name), tickformat=".0%"),
        )
    )
    title = MEAN_TITLE.format(label=SCORE_LABELS.get(name, name))
    return chart_layout(
        fig,
        title=f"{title}<br><sup>{MEAN_NOTE.format(n=sentences)}</sup>",
        height=max(320, 34 * mean.shape[0] + 170),
        yaxis=dict(autorange="reversed"),
    )
