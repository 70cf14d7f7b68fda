"""The figures of one analysed input, by kind: what the app shows and `cli.py plot` writes.

One function per kind, all taking the immutable result (and its analysis) plus 1-based
layer and head numbers, so a figure from a script is the figure of the app.
"""

from __future__ import annotations

from typing import Literal, get_args

import plotly.graph_objects as go

from i18n import N_
from models.extract import banded
from models.result import AttentionResult
from models.score.analysis import Analysis
from models.score.roles import ROLE_LABELS
from models.score.views import Shown
from viz import heatmaps, overview
from viz import sparse as sparse_figures
from viz.layout import SEPARATOR, FigureSettings

FigureKind = Literal["head", "grid", "overview", "partition"]
FIGURE_KINDS: tuple[FigureKind, ...] = get_args(FigureKind)
MAX_HEATMAP_TOKENS = 512  # a longer input's head is drawn pooled (its zoom is in the app)
MAX_GRID_TOKENS = 160
OVERVIEW_CELLS = 256  # a long input's head is pooled to at most this many blocks per side (the zoom shows tokens)

COLOUR_TITLES = {"weight": N_("weight"), "norm": N_("share moved")}
VIEW_NOTES = {"weight": "", "norm": N_("norm view: share of what the head moves (α·‖f(x)‖, row-normalised)")}
ERR_GRID = N_("The grid of every head is drawn for inputs of up to {limit} tokens; this one has {n}.")
HEAD_TITLE = N_("Layer {layer}, head {head}")


def check_layer_head(result: AttentionResult, layer: int, head: int) -> None:
    """Raise ValueError with a plain message when the 1-based layer or head is out of range."""
    if not 1 <= layer <= result.model.layers:
        raise ValueError(
            N_("Layer {layer} does not exist: this model has layers 1–{count}.").format(
                layer=layer, count=result.model.layers
            )
        )
    if not 1 <= head <= result.model.heads:
        raise ValueError(
            N_("Head {head} does not exist: this model has heads 1–{count}.").format(
                head=head, count=result.model.heads
            )
        )


def head_figure(
    shown: Shown, layer: int, head: int, hide_special: bool = False, settings: FigureSettings = FigureSettings()
) -> go.Figure:
    """One head's heatmap in the shown view and unit: every token (or word) up to
    MAX_HEATMAP_TOKENS, pooled blocks above."""
    result = shown.result
    check_layer_head(result, layer, head)
    title = HEAD_TITLE.format(layer=layer, head=head)
    note = VIEW_NOTES[shown.view]
    if shown.size > MAX_HEATMAP_TOKENS:
        pooled, edges = banded.pooled(shown.layer(layer - 1), head - 1, OVERVIEW_CELLS)
        pooled_note = sparse_figures.pooled_note(shown.size, edges, N_("mean weight per block"))
        return sparse_figures.pooled_heatmap(
            pooled,
            edges,
            edges,
            shown.labels,
            title=str(N_("{title}: all {n} tokens").format(title=title, n=shown.size)),
            global_positions=shown.global_positions,
            note=str(SEPARATOR).join(str(part) for part in (note, pooled_note) if part),
            settings=settings,
        )
    return heatmaps.head_heatmap(
        shown.head(layer - 1, head - 1),
        shown.labels,
        shown.special_mask,
        shown.global_positions,
        hide_special=hide_special,
        title=str(title),
        settings=settings,
        note=str(note),
        colour_title=str(COLOUR_TITLES[shown.view]),
    )


def grid_figure(shown: Shown, analysis: Analysis, layer: int, settings: FigureSettings = FigureSettings()) -> go.Figure:
    """Every head of one layer, each titled with its role (in the analysis's view)."""
    result = shown.result
    check_layer_head(result, layer, 1)
    if shown.size > MAX_GRID_TOKENS:
        raise ValueError(ERR_GRID.format(limit=MAX_GRID_TOKENS, n=shown.size))
    titles = [
        str(N_("head {head} · {role}").format(head=h + 1, role=ROLE_LABELS[role]))
        for h, role in enumerate(analysis.roles[layer - 1])
    ]
    note = VIEW_NOTES[shown.view]
    title = (
        N_("Layer {layer} ({note})").format(layer=layer, note=note) if note else N_("Layer {layer}").format(layer=layer)
    )
    return heatmaps.layer_grid(
        shown.heads(layer - 1), shown.labels, title=str(title), head_titles=titles, settings=settings
    )


def overview_figure(analysis: Analysis, score: str) -> go.Figure:
    """One score over every layer × head."""
    return overview.score_heatmap(analysis.scores[score], score, analysis.roles)


def partition_figure(analysis: Analysis) -> go.Figure:
    """Where each layer's attention goes: the layer-by-layer role split."""
    return overview.partition_bar(analysis.layer_partition)


def figure_of(
    kind: FigureKind,
    shown: Shown,
    analysis: Analysis,
    layer: int = 1,
    head: int = 1,
    score: str = "cls",
    settings: FigureSettings = FigureSettings(),
) -> go.Figure:
    """The figure of `kind` for one analysed input (analysis in the shown view)."""
    if kind == "head":
        return head_figure(shown, layer, head, settings=settings)
    if kind == "grid":
        return grid_figure(shown, analysis, layer, settings)
    if kind == "overview":
        return overview_figure(analysis, score)
    return partition_figure(analysis)
