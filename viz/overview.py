"""Layer × head overviews: score heatmaps, the role split per layer, and role shares."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from models.roles import ROLE_LABELS, ROLES
from models.scores import PART_NAMES
from viz.layout import chart_layout

SCORE_LABELS: dict[str, str] = {
    "cls": "attention to [CLS]",
    "sep": "attention to [SEP]",
    "diagonal": "attention to itself",
    "prev": "attention to the previous token",
    "next": "attention to the next token",
    "punct": "attention to punctuation",
    "entropy": "spread (normalised entropy)",
    "cls_out": "[CLS] row: attention to words",
}
PART_LABELS: dict[str, str] = {
    "to_cls": "to [CLS]",
    "to_sep": "to [SEP]",
    "near_diagonal": "near diagonal (±1)",
    "rest": "rest of the sentence",
}
PART_COLOURS: dict[str, str] = {
    "to_cls": "#1f77b4",
    "to_sep": "#ff7f0e",
    "near_diagonal": "#2ca02c",
    "rest": "#bbbbbb",
}


def layer_names(n_layers: int) -> list[str]:
    return [f"layer {layer + 1}" for layer in range(n_layers)]


def head_names(n_heads: int) -> list[str]:
    return [f"head {head + 1}" for head in range(n_heads)]


def score_heatmap(scores: np.ndarray, name: str, roles: np.ndarray | None = None) -> go.Figure:
    """Heatmap of one score over layers (y) × heads (x): scores [L, H]; roles [L, H] in the hover."""
    scores = np.asarray(scores)
    n_layers, n_heads = scores.shape
    custom = np.asarray(roles) if roles is not None else np.full(scores.shape, "")
    fig = go.Figure(
        go.Heatmap(
            z=scores,
            x=head_names(n_heads),
            y=layer_names(n_layers),
            customdata=custom,
            colorscale="Viridis",
            zmin=0.0,
            zmax=1.0,
            hovertemplate="%{y}, %{x}: %{z:.1%}<br>role: %{customdata}<extra></extra>",
            colorbar=dict(title=dict(text=name), tickformat=".0%"),
        )
    )
    return chart_layout(
        fig, title=SCORE_LABELS.get(name, name), height=max(300, 34 * n_layers + 150), yaxis=dict(autorange="reversed")
    )


def difference_heatmap(diff: np.ndarray, name: str) -> go.Figure:
    """A score's change per layer (y) × head (x), diff [L, H] = B − A, on a diverging scale."""
    diff = np.asarray(diff, dtype=np.float64)
    bound = max(float(np.abs(diff).max()), 0.01)
    fig = go.Figure(
        go.Heatmap(
            z=diff,
            x=head_names(diff.shape[1]),
            y=layer_names(diff.shape[0]),
            colorscale="RdBu_r",
            zmin=-bound,
            zmax=bound,
            hovertemplate="%{y}, %{x}: %{z:+.3f}<extra></extra>",
            colorbar=dict(title=dict(text="B − A")),
        )
    )
    label = SCORE_LABELS.get(name, name)
    return chart_layout(
        fig,
        title=f"Change in {label} (B − A)",
        height=max(300, 34 * diff.shape[0] + 150),
        yaxis=dict(autorange="reversed"),
    )


def partition_bar(layer_partition: np.ndarray) -> go.Figure:
    """Stacked bar per layer of where attention goes: layer_partition [L, 4] (PART_NAMES)."""
    layer_partition = np.asarray(layer_partition)
    layers = layer_names(layer_partition.shape[0])
    fig = go.Figure(
        [
            go.Bar(
                x=layers,
                y=layer_partition[:, index],
                name=PART_LABELS[part],
                marker_color=PART_COLOURS[part],
                hovertemplate="%{x}: %{y:.1%} " + PART_LABELS[part] + "<extra></extra>",
            )
            for index, part in enumerate(PART_NAMES)
        ]
    )
    return chart_layout(
        fig,
        barmode="stack",
        title="Where each layer's attention goes (mean over heads)",
        yaxis=dict(title="share of attention", tickformat=".0%", range=[0, 1]),
        height=400,
        legend=dict(orientation="h", y=-0.15, yanchor="top", x=0.0),
    )


def role_share_table(layer_roles: np.ndarray) -> dict[str, list]:
    """Columns for a table of each layer's share of heads per role, in whole percent:
    layer_roles [L, len(ROLES)] (shares in 0..1)."""
    layer_roles = np.asarray(layer_roles)
    table: dict[str, list] = {"layer": list(range(1, layer_roles.shape[0] + 1))}
    for index, role in enumerate(ROLES):
        table[ROLE_LABELS[role]] = [round(100 * float(v)) for v in layer_roles[:, index]]
    return table


def scores_table(scores: dict[str, np.ndarray], roles: np.ndarray) -> dict[str, list]:
    """One row per (layer, head): 1-based indices, the role, and every score."""
    roles = np.asarray(roles)
    n_layers, n_heads = roles.shape
    table: dict[str, list] = {"layer": [], "head": [], "role": []}
    for name in scores:
        table[name] = []
    for layer in range(n_layers):
        for head in range(n_heads):
            table["layer"].append(layer + 1)
            table["head"].append(head + 1)
            table["role"].append(str(roles[layer, head]))
            for name, values in scores.items():
                table[name].append(float(values[layer, head]))
    return table
