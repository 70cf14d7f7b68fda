"""Figures of a corpus analysis: means over sentences, with their spread.

role_split_bars     each layer's share of heads per role: the mean and its 95% interval
partition_bars      where each layer's attention goes: the mean and its 95% interval

The bars are shares, so their whiskers are the 95% interval of the mean, cut to [0, 1]
(a mean ± std whisker went below 0% for a rarely taken role).
score_mean_heatmap  a score's corpus mean per layer × head, the std in the hover
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from i18n import N_, lazy_ngettext
from models.score.roles import ROLE_LABELS, ROLES
from models.score.scores import PART_NAMES
from viz.layout import chart_layout
from viz.legend import PART_COLOURS, ROLE_COLOURS, SHARE_OF_ATTENTION, SHARE_OF_HEADS
from viz.overview import PART_LABELS, SCORE_LABELS, head_names, layer_names

SPREAD = lazy_ngettext(
    "mean and its {level:.0%} interval over {n:,} sentence", "mean and its {level:.0%} interval over {n:,} sentences"
)
LEVEL = 0.95  # the corpus Estimate's interval (models.corpus.result)
MEAN_NOTE = lazy_ngettext("over {n:,} sentence; hover for the std", "over {n:,} sentences; hover for the std")


def share_interval(mean: np.ndarray, ci: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of a share's 95% interval, cut to [0, 1]; no spread (nan) gives the mean."""
    mean = np.asarray(mean, dtype=np.float64)
    half = np.nan_to_num(np.asarray(ci, dtype=np.float64), nan=0.0)
    return np.clip(mean - half, 0.0, 1.0), np.clip(mean + half, 0.0, 1.0)


def _bars(estimates: Mapping, names, labels, colours, title, y_title, sentences: int) -> go.Figure:
    """Grouped bars per layer of each name's share (Estimate [L]), whiskers = share_interval."""
    fig = go.Figure()
    interval = str(N_("{level:.0%} interval").format(level=LEVEL))
    for name in names:
        mean = np.clip(np.asarray(estimates[name].mean, dtype=np.float64), 0.0, 1.0)
        low, high = share_interval(mean, estimates[name].ci)
        label = str(labels[name])
        fig.add_trace(
            go.Bar(
                x=layer_names(len(mean)),
                y=mean,
                name=label,
                marker_color=colours[name],
                error_y=dict(
                    type="data", symmetric=False, array=high - mean, arrayminus=mean - low, thickness=1, width=3
                ),
                customdata=np.stack([low, high], axis=-1),
                hovertemplate="%{x}: %{y:.1%} "
                + label
                + f" ({interval} %{{customdata[0]:.1%}}–%{{customdata[1]:.1%}})<extra></extra>",
            )
        )
    return chart_layout(
        fig,
        barmode="group",
        title=f"{title}<br><sup>{SPREAD.format(n=sentences, level=LEVEL)}</sup>",
        yaxis=dict(title=str(y_title), tickformat=".0%", rangemode="tozero"),
        height=430,
        legend=dict(orientation="h", y=-0.15, yanchor="top", x=0.0),
    )


def role_split_bars(layer_roles, sentences: int) -> go.Figure:
    """layer_roles: role → Estimate [L] (share of the layer's heads in that role)."""
    return _bars(
        layer_roles,
        ROLES,
        ROLE_LABELS,
        ROLE_COLOURS,
        N_("Head roles by layer over the corpus"),
        SHARE_OF_HEADS,
        sentences,
    )


def partition_bars(layer_partition, sentences: int) -> go.Figure:
    """layer_partition: part → Estimate [L] (the layer's mass split, averaged over its heads)."""
    return _bars(
        layer_partition,
        PART_NAMES,
        PART_LABELS,
        PART_COLOURS,
        N_("Where each layer's attention goes over the corpus"),
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
    title = N_("{label}: corpus mean").format(label=SCORE_LABELS.get(name, name))
    return chart_layout(
        fig,
        title=f"{title}<br><sup>{MEAN_NOTE.format(n=sentences)}</sup>",
        height=max(320, 34 * mean.shape[0] + 170),
        yaxis=dict(autorange="reversed"),
    )
