"""Layer × head overviews: score heatmaps, the role split per layer, and role shares.

Score and part names (`cls`, `to_sep`) are identifiers; their labels are translated
messages, and every text reaches plotly in the active language."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from i18n import N_, _
from models.score.roles import ROLE_LABELS, ROLES
from models.score.scores import PART_NAMES, SCORE_NAMES
from viz.layout import chart_layout
from viz.legend import HEAD_NAME, LAYER_NAME, PART_COLOURS, SHARE_OF_ATTENTION

SCORE_LABELS: dict[str, str] = {
    "cls": N_("attention to [CLS]"),
    "sep": N_("attention to [SEP]"),
    "diagonal": N_("attention to itself"),
    "prev": N_("attention to the previous token"),
    "next": N_("attention to the next token"),
    "punct": N_("attention to punctuation"),
    "entropy": N_("spread (normalised entropy)"),
    "cls_out": N_("[CLS] row: attention to words"),
}
OTHER_LABELS: dict[str, str] = {
    "similarity": N_("head similarity (mean cosine of the rows; 1 = the same map)"),
}
PART_LABELS: dict[str, str] = {
    "to_cls": N_("to [CLS]"),
    "to_sep": N_("to [SEP]"),
    "near_diagonal": N_("near diagonal (±1)"),
    "rest": N_("rest of the sentence"),
}
ROLE = N_("role")
PARTITION_TITLE = N_("Where each layer's attention goes (mean over heads)")


def layer_names(n_layers: int) -> list[str]:
    return [str(LAYER_NAME.format(layer=layer + 1)) for layer in range(n_layers)]


def head_names(n_heads: int) -> list[str]:
    return [str(HEAD_NAME.format(head=head + 1)) for head in range(n_heads)]


def score_label(name: str) -> str:
    """The display label of a score, a part of the partition ("partition.to_cls", as the
    comparison names it) or the similarity map, in the active language."""
    part = name.removeprefix("partition.")
    if part != name and part in PART_LABELS:
        return str(N_("share of attention {part}").format(part=PART_LABELS[part]))
    return str(SCORE_LABELS.get(name) or OTHER_LABELS.get(name) or name)


def _colour_title(name: str) -> str:
    """Score identifiers stay as they are (as in the JSON); other maps get a word."""
    return name if name in SCORE_NAMES else _("similarity") if name == "similarity" else score_label(name)


def score_heatmap(scores: np.ndarray, name: str, roles: np.ndarray | None = None) -> go.Figure:
    """Heatmap of one score over layers (y) × heads (x): scores [L, H]; roles [L, H] in the hover."""
    scores = np.asarray(scores)
    n_layers, n_heads = scores.shape
    if roles is not None:
        labels = {role: str(label) for role, label in ROLE_LABELS.items()}
        custom = np.vectorize(lambda role: labels.get(str(role), str(role)), otypes=[object])(np.asarray(roles))
        hover = f"%{{y}}, %{{x}}: %{{z:.1%}}<br>{ROLE}: %{{customdata}}<extra></extra>"
    else:
        custom, hover = np.full(scores.shape, ""), "%{y}, %{x}: %{z:.1%}<extra></extra>"
    fig = go.Figure(
        go.Heatmap(
            z=scores,
            x=head_names(n_heads),
            y=layer_names(n_layers),
            customdata=custom,
            colorscale="Viridis",
            zmin=0.0,
            zmax=1.0,
            hovertemplate=hover,
            colorbar=dict(title=dict(text=_colour_title(name)), tickformat=".0%"),
        )
    )
    return chart_layout(
        fig, title=score_label(name), height=max(300, 34 * n_layers + 150), yaxis=dict(autorange="reversed")
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
    return chart_layout(
        fig,
        title=str(N_("Change in {label} (B − A)").format(label=score_label(name))),
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
                name=str(PART_LABELS[part]),
                marker_color=PART_COLOURS[part],
                hovertemplate="%{x}: %{y:.1%} " + str(PART_LABELS[part]) + "<extra></extra>",
            )
            for index, part in enumerate(PART_NAMES)
        ]
    )
    return chart_layout(
        fig,
        barmode="stack",
        title=str(PARTITION_TITLE),
        yaxis=dict(title=str(SHARE_OF_ATTENTION), tickformat=".0%", range=[0, 1]),
        height=400,
        legend=dict(orientation="h", y=-0.15, yanchor="top", x=0.0),
    )


def role_share_table(layer_roles: np.ndarray) -> dict[str, list]:
    """Columns for an on-screen table of each layer's share of heads per role, in whole
    percent: layer_roles [L, len(ROLES)] (shares in 0..1).  Headers in the active language."""
    layer_roles = np.asarray(layer_roles)
    table: dict[str, list] = {_("layer"): list(range(1, layer_roles.shape[0] + 1))}
    for index, role in enumerate(ROLES):
        table[str(ROLE_LABELS[role])] = [round(100 * float(v)) for v in layer_roles[:, index]]
    return table


def scores_table(scores: dict[str, np.ndarray], roles: np.ndarray) -> dict[str, list]:
    """One row per (layer, head): 1-based indices, the role, and every score.  A data export:
    the headers and roles are identifiers, the same in every language."""
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
