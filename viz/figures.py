"""The figures of one analysed input, by kind: what the app shows and `cli.py plot` writes.

One function per kind, all taking the immutable result (and its analysis) plus 1-based
layer and head numbers, so a figure from a script is the figure of the app.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import plotly.graph_objects as go

from models import banded
from models.analysis import Analysis
from models.result import AttentionResult
from models.roles import ROLE_LABELS
from viz import heatmaps, overview
from viz import sparse as sparse_figures
from viz.layout import FigureSettings

FigureKind = Literal["head", "grid", "overview", "partition"]
FIGURE_KINDS: tuple[FigureKind, ...] = get_args(FigureKind)
MAX_HEATMAP_TOKENS = 512  # a longer input's head is drawn pooled (its zoom is in the app)
MAX_GRID_TOKENS = 160

ERR_LAYER = "Layer {layer} does not exist: this model has layers 1–{count}."
ERR_HEAD = "Head {head} does not exist: this model has heads 1–{count}."
ERR_GRID = "The grid of every head is drawn for inputs of up to {limit} tokens; this one has {n}."


def check_layer_head(result: AttentionResult, layer: int, head: int) -> None:
    """Raise ValueError with a plain message when the 1-based layer or head is out of range."""
    if not 1 <= layer <= result.model.layers:
        raise ValueError(ERR_LAYER.format(layer=layer, count=result.model.layers))
    if not 1 <= head <= result.model.heads:
        raise ValueError(ERR_HEAD.format(head=head, count=result.model.heads))


def head_matrix(result: AttentionResult, layer: int, head: int) -> np.ndarray:
    """One head's dense [N, N] weights (1-based layer and head; dense or banded results)."""
    n = result.n_tokens
    return banded.block(result.layer_attention[layer - 1], slice(0, n), slice(0, n), head=head - 1)


def head_figure(
    result: AttentionResult, layer: int, head: int, hide_special: bool = False, settings: FigureSettings = FigureSettings()
) -> go.Figure:
    """One head's heatmap: every token up to MAX_HEATMAP_TOKENS, pooled blocks above."""
    check_layer_head(result, layer, head)
    title = f"Layer {layer}, head {head}"
    if result.n_tokens > MAX_HEATMAP_TOKENS:
        pooled, edges = banded.pooled(result.layer_attention[layer - 1], head - 1)
        note = sparse_figures.pooled_note(result.n_tokens, edges, "mean weight per block")
        return sparse_figures.pooled_heatmap(
            pooled, edges, edges, result.tokens, title=f"{title}: all {result.n_tokens} tokens",
            global_positions=result.global_positions, note=note, settings=settings,
        )
    return heatmaps.head_heatmap(
        head_matrix(result, layer, head), result.tokens, result.special_mask, result.global_positions,
        hide_special=hide_special, title=title, settings=settings,
    )


def grid_figure(
    result: AttentionResult, analysis: Analysis, layer: int, settings: FigureSettings = FigureSettings()
) -> go.Figure:
    """Every head of one layer, each titled with its role."""
    check_layer_head(result, layer, 1)
    if result.n_tokens > MAX_GRID_TOKENS:
        raise ValueError(ERR_GRID.format(limit=MAX_GRID_TOKENS, n=result.n_tokens))
    titles = [f"head {h + 1} · {ROLE_LABELS[role]}" for h, role in enumerate(analysis.roles[layer - 1])]
    n = result.n_tokens
    weights = banded.block(result.layer_attention[layer - 1], slice(0, n), slice(0, n))
    return heatmaps.layer_grid(weights, result.tokens, title=f"Layer {layer}", head_titles=titles, settings=settings)


def overview_figure(analysis: Analysis, score: str) -> go.Figure:
    """One score over every layer × head."""
    return overview.score_heatmap(analysis.scores[score], score, analysis.roles)


def partition_figure(analysis: Analysis) -> go.Figure:
    """Where each layer's attention goes: the layer-by-layer role split."""
    return overview.partition_bar(analysis.layer_partition)


def figure_of(
    kind: FigureKind,
    result: AttentionResult,
    analysis: Analysis,
    layer: int = 1,
    head: int = 1,
    score: str = "cls",
    settings: FigureSettings = FigureSettings(),
) -> go.Figure:
    """The figure of `kind` for one analysed input."""
    if kind == "head":
        return head_figure(result, layer, head, settings=settings)
    if kind == "grid":
        return grid_figure(result, analysis, layer, settings)
    if kind == "overview":
        return overview_figure(analysis, score)
    return partition_figure(analysis)
