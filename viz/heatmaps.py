"""Token-level heatmaps: one head, every head of a layer, two heads side by side, and one
head through the layers.

All weights are A[query, key] with queries on the y axis and keys on the x axis.  Every
figure is sized by viz.layout from its labels, so the token labels fall inside the
canvas on screen and in every export.  Inputs are never modified.

An axis is described by `categories` (unique per position, e.g. "3·the", which plotly
needs to keep repeated tokens apart) and optionally the `ticks` drawn for them (e.g. a
pooled block's first token).

Titles, notes and colour-bar texts may be translated messages (i18n.LazyText); they are
handed to plotly as text in the active language.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from i18n import N_
from viz.labels import SPECIAL_COLOUR, special_positions, token_labels
from viz.layout import (
    WEIGHT,
    WEIGHT_BAR,
    FigureSettings,
    MatrixLayout,
    axis_domain,
    axis_ticks,
    finish,
    matrix_layout,
    panel_margins,
    subtitle_lines,
    thinning_note,
)
from viz.legend import HEAD_NAME, LAYER_NAME

COLOURSCALE = "Blues"
DIFF_COLOURSCALE = "RdBu_r"
HOVER = "%{y} → %{x}: %{z:.3f}<extra></extra>"
GRID_COLUMNS = 4
MIN_DIFF_RANGE = 0.01  # the difference colour scale spans at least ±this
COMPARE_GAPS = (24.0, 110.0)  # px between the panels: the second leaves room for the weight colour bar
CONTROLS_PX = 140  # room under an animated heatmap for its play buttons and slider
KEY_TITLE, QUERY_TITLE = N_("key (attended to)"), N_("query (attending)")
PLAY, PAUSE = N_("▶ play"), N_("❚❚ pause")


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


def _special_lines(x_labels: list[str], y_labels: list[str], marked: set[str]) -> list[dict]:
    """Thin red dotted lines along the rows and columns of special/global tokens (layout shapes)."""
    line = dict(width=1, dash="dot", color=SPECIAL_COLOUR)
    shapes = [
        dict(type="line", xref="x", yref="paper", x0=label, x1=label, y0=0, y1=1, line=line)
        for label in x_labels
        if label in marked
    ]
    shapes += [
        dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=label, y1=label, line=line)
        for label in y_labels
        if label in marked
    ]
    return shapes


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
    settings: FigureSettings = FigureSettings(),
    note: str = "",
    colour_title: str = WEIGHT,
) -> go.Figure:
    """Heatmap of one head: weights [N, N] (query, key); `note` is a small subtitle and
    `colour_title` names what the colour means.

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
            colorbar=_colorbar(colour_title),
        )
    )
    fig.update_layout(shapes=_special_lines(x_labels, y_labels, marked) if settings.special_lines else [])
    return size_token_figure(fig, y_labels, x_labels, title, settings, note=note, colorbar=(colour_title, "0.000"))


def _colorbar(title: str, x: float = 1.0, xpad: int = 6) -> dict:
    """A slim colour bar whose left edge sits at paper x (1.0: just right of the plot)."""
    return dict(title=dict(text=str(title)), thickness=14, xpad=xpad, x=x, xanchor="left")


def size_token_figure(
    fig: go.Figure,
    y_labels: Sequence[str],
    x_labels: Sequence[str],
    title: str,
    settings: FigureSettings,
    y_ticks: Sequence[str] | None = None,
    x_ticks: Sequence[str] | None = None,
    note: str = "",
    extra_bottom: int = 0,
    colorbar: Sequence[str] = WEIGHT_BAR,
) -> go.Figure:
    """Size a one-panel token heatmap from its labels and set its axes.

    `y_ticks`/`x_ticks` are drawn for the categories (default: the categories
    themselves); `note` is a small second title line; `colorbar` the texts beside the
    colour bar (they set the right margin)."""
    shown_y, shown_x = y_ticks or y_labels, x_ticks or x_labels
    colorbar = [str(text) for text in colorbar]
    layout = matrix_layout(shown_y, shown_x, settings, title_lines=2 if note else 1, colorbar=colorbar)
    notes = [str(note)] if note else []
    if layout.x_step > 1 or layout.y_step > 1:
        notes.append(str(thinning_note(max(len(y_labels), len(x_labels)), max(layout.x_step, layout.y_step))))
    if extra_bottom:
        layout = dataclasses.replace(
            layout,
            height=layout.height + extra_bottom,
            margin={**layout.margin, "b": layout.margin["b"] + extra_bottom},
        )
    return finish(
        fig,
        layout,
        title,
        "; ".join(notes),
        xaxis=dict(title=str(KEY_TITLE), **axis_ticks(x_labels, layout.x_step, shown_x)),
        yaxis=dict(title=str(QUERY_TITLE), autorange="reversed", **axis_ticks(y_labels, layout.y_step, shown_y)),
    )


@dataclasses.dataclass(frozen=True)
class _Grid:
    """Where layer_grid puts each head's panel: px sizes, and the plot area they are fractions of."""

    side: float  # a panel's width and height
    gap_x: float
    gap_y: float  # holds a panel title
    inner_w: float
    inner_h: float
    step: int  # tick label step
    font: float
    n_heads: int

    def panel(self, head: int, z: np.ndarray, labels: Sequence[str], title: str):
        """(the heatmap trace, its x and y axes, its title annotation) for one head."""
        row, col = divmod(head, GRID_COLUMNS)
        axis = "" if head == 0 else str(head + 1)
        left = col * (self.side + self.gap_x)  # px from the plot area's left and top edges
        top = self.gap_y + row * (self.side + self.gap_y)
        trace = go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            coloraxis="coloraxis",
            hovertemplate=f"{title}<br>" + HOVER,
            xaxis=f"x{axis}",
            yaxis=f"y{axis}",
        )
        bottom_row = head + GRID_COLUMNS >= self.n_heads
        axes = {
            f"xaxis{axis}": dict(
                domain=list(axis_domain(left / self.inner_w, (left + self.side) / self.inner_w)),
                anchor=f"y{axis}",
                showticklabels=bottom_row,
                ticks="outside" if bottom_row else "",
                **axis_ticks(labels, self.step),
            ),
            f"yaxis{axis}": dict(
                domain=list(axis_domain(1.0 - (top + self.side) / self.inner_h, 1.0 - top / self.inner_h)),
                anchor=f"x{axis}",
                autorange="reversed",
                showticklabels=col == 0,
                ticks="outside" if col == 0 else "",
                **axis_ticks(labels, self.step),
            ),
        }
        annotation = dict(
            text=title,
            x=(left + self.side / 2) / self.inner_w,
            y=1.0 - top / self.inner_h,
            xref="paper",
            yref="paper",
            yanchor="bottom",
            showarrow=False,
            font=dict(size=self.font),
        )
        return trace, axes, annotation


def layer_grid(
    layer_weights: np.ndarray,
    tokens: Sequence[str],
    title: str = "",
    head_titles: Sequence[str] | None = None,
    settings: FigureSettings = FigureSettings(),
) -> go.Figure:
    """Small multiples of every head of one layer: layer_weights [H, N, N], one colour scale.

    Token labels are drawn on the left column (queries) and the bottom row (keys).
    """
    layer_weights = np.asarray(layer_weights)
    n_heads, n = layer_weights.shape[0], layer_weights.shape[-1]
    n_rows = math.ceil(n_heads / GRID_COLUMNS)
    titles = (
        [str(t) for t in head_titles] if head_titles else [str(HEAD_NAME.format(head=h + 1)) for h in range(n_heads)]
    )
    labels = token_labels(tokens)
    # a panel is sized like a single heatmap with a quarter of the width …
    whole = settings if settings.width is None else dataclasses.replace(settings, width=None)
    side = max(160.0, min(matrix_layout(labels, labels, whole, axis_titles=False).side, 420.0))
    # … and the margins hold the labels at the font they are drawn in
    font = settings.font_size
    margin, step, _ = panel_margins(
        labels, labels, font, side, title_lines=1 + subtitle_lines(settings), axis_titles=False
    )
    gap_x, gap_y = 16.0, font * 2.6 + 8  # the vertical gap holds a panel title
    width = math.ceil(margin["l"] + GRID_COLUMNS * side + (GRID_COLUMNS - 1) * gap_x + margin["r"])
    height = math.ceil(margin["t"] + n_rows * side + (n_rows - 1) * gap_y + gap_y + margin["b"])
    inner_w = width - margin["l"] - margin["r"]  # the plot area plotly draws: fractions of it
    inner_h = height - margin["t"] - margin["b"]
    grid = _Grid(side, gap_x, gap_y, inner_w, inner_h, step, font, n_heads)
    traces, axes, annotations = [], {}, []  # built as plain dicts and applied at once: plotly validates per call
    for head in range(n_heads):
        trace, panel_axes, annotation = grid.panel(head, layer_weights[head], labels, titles[head])
        traces.append(trace)
        axes.update(panel_axes)
        annotations.append(annotation)
    fig = go.Figure(data=traces, layout=dict(annotations=annotations))
    layout = MatrixLayout(
        width=width,
        height=height,
        margin=margin,
        side=side,
        gaps=(),
        x_step=step,
        y_step=step,
        font_size=settings.font_size,
        settings=settings,
    )
    fig.update_layout(
        coloraxis=dict(
            colorscale=COLOURSCALE, cmin=0.0, cmax=float(layer_weights.max()) or 1.0, colorbar=_colorbar(WEIGHT)
        )
    )
    return finish(fig, layout, title, thinning_note(n, step), **axes)


def compare_heads(
    left: np.ndarray,
    right: np.ndarray,
    tokens: Sequence[str],
    left_title: str,
    right_title: str,
    axis_labels: Sequence[str] | None = None,
    axis_ticks_text: Sequence[str] | None = None,
    settings: FigureSettings = FigureSettings(),
    title: str = "",
) -> go.Figure:
    """Two heads [N, N] on the same colour scale, and their difference (left − right), as
    three square panels.  `axis_labels` replaces the token labels (pooled blocks), with
    `axis_ticks_text` drawn for them."""
    left, right = np.asarray(left), np.asarray(right)  # [N, N] each
    if left.shape != right.shape:
        raise ValueError(f"Cannot compare heads of shapes {left.shape} and {right.shape}.")
    labels = list(axis_labels) if axis_labels is not None else token_labels(tokens)
    shown = list(axis_ticks_text) if axis_ticks_text is not None else labels
    diff = left.astype(np.float64) - right.astype(np.float64)
    bound = max(float(np.abs(diff).max()), MIN_DIFF_RANGE)  # float noise stays white
    layout = matrix_layout(shown, shown, settings, title_lines=2, panels=3, gaps=COMPARE_GAPS, colorbar=("Δ", "−0.000"))
    domains = layout.x_domains()
    panels = (
        (left, "coloraxis", HOVER),
        (right, "coloraxis", HOVER),
        (diff, "coloraxis2", "%{y} → %{x}: %{z:+.3f}<extra></extra>"),
    )
    traces, axes = [], {}
    for index, ((z, colour_axis, hover), domain) in enumerate(zip(panels, domains)):
        axis = "" if index == 0 else str(index + 1)
        traces.append(
            go.Heatmap(
                z=z, x=labels, y=labels, coloraxis=colour_axis, hovertemplate=hover, xaxis=f"x{axis}", yaxis=f"y{axis}"
            )
        )
        axes[f"xaxis{axis}"] = dict(
            domain=list(domain),
            anchor=f"y{axis}",
            title=str(KEY_TITLE) if index == 0 else None,
            **axis_ticks(labels, layout.x_step, shown),
        )
        axes[f"yaxis{axis}"] = dict(
            anchor=f"x{axis}",
            autorange="reversed",
            showticklabels=index == 0,
            ticks="outside" if index == 0 else "",
            title=str(QUERY_TITLE) if index == 0 else None,
            **axis_ticks(labels, layout.y_step, shown),
        )
    subtitles = (str(left_title), str(right_title), str(N_("difference (left − right)")))
    annotations = [
        dict(
            text=subtitle,
            x=(domain[0] + domain[1]) / 2,
            y=1.0,
            xref="paper",
            yref="paper",
            yanchor="bottom",
            showarrow=False,
            font=dict(size=layout.font_size + 1),
        )
        for subtitle, domain in zip(subtitles, domains)
    ]
    inner = layout.width - layout.margin["l"] - layout.margin["r"]
    weight_bar_x = domains[1][1] + 6 / inner
    cmax = float(max(left.max(), right.max())) or 1.0
    fig = go.Figure(
        data=traces,
        layout=dict(
            annotations=annotations,
            coloraxis=dict(
                colorscale=COLOURSCALE, cmin=0.0, cmax=cmax, colorbar=_colorbar(WEIGHT, x=weight_bar_x, xpad=0)
            ),
            coloraxis2=dict(colorscale=DIFF_COLOURSCALE, cmin=-bound, cmax=bound, colorbar=_colorbar("Δ")),
        ),
    )
    note = thinning_note(len(labels), max(layout.x_step, layout.y_step))
    finish(fig, layout, title or N_("{left} vs {right}").format(left=left_title, right=right_title), note, **axes)
    return fig


def layer_animation(
    head_by_layer: np.ndarray,
    tokens: Sequence[str],
    head: int,
    axis_labels: Sequence[str] | None = None,
    axis_ticks_text: Sequence[str] | None = None,
    settings: FigureSettings = FigureSettings(),
) -> go.Figure:
    """One head through every layer: head_by_layer [L, N, N], a play button and a layer slider.

    All frames share one colour scale, so a brighter cell in a later layer is really larger.
    `axis_labels` replaces the token labels (pooled blocks), with `axis_ticks_text` drawn.
    """
    head_by_layer = np.asarray(head_by_layer, dtype=np.float32)  # [L, N, N]
    n_layers = head_by_layer.shape[0]
    labels = list(axis_labels) if axis_labels is not None else token_labels(tokens)
    cmax = float(head_by_layer.max()) or 1.0

    def trace(layer: int) -> go.Heatmap:
        return go.Heatmap(
            z=head_by_layer[layer],
            x=labels,
            y=labels,
            coloraxis="coloraxis",
            hovertemplate=f"{LAYER_NAME.format(layer=layer + 1)}<br>" + HOVER,
        )

    frames = [go.Frame(data=[trace(layer)], name=str(layer + 1)) for layer in range(n_layers)]
    step = dict(frame=dict(duration=700, redraw=True), transition=dict(duration=0), mode="immediate")
    fig = go.Figure(data=[trace(0)], frames=frames)
    size_token_figure(
        fig,
        labels,
        labels,
        N_("Head {head}, layer by layer").format(head=head),
        settings,
        y_ticks=axis_ticks_text,
        x_ticks=axis_ticks_text,
        extra_bottom=CONTROLS_PX,
    )
    below_labels = fig.layout.margin.b - CONTROLS_PX  # px from the plot's bottom edge to the controls
    before, _placeholder, after = str(LAYER_NAME).partition("{layer}")  # "layer 3" / "第3層" around the number
    fig.update_layout(
        coloraxis=dict(colorscale=COLOURSCALE, cmin=0.0, cmax=cmax, colorbar=_colorbar(WEIGHT)),
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0.0,
                y=0,
                xanchor="left",
                yanchor="top",
                pad=dict(t=below_labels + 8),
                buttons=[
                    dict(label=str(PLAY), method="animate", args=[None, dict(step, fromcurrent=True)]),
                    dict(label=str(PAUSE), method="animate", args=[[None], dict(step, mode="immediate")]),
                ],
            )
        ],
        sliders=[
            dict(
                active=0,
                x=0.0,
                y=0,
                yanchor="top",
                len=1.0,
                currentvalue=dict(prefix=before, suffix=after),
                pad=dict(t=below_labels + 48),
                steps=[
                    dict(label=str(layer + 1), method="animate", args=[[str(layer + 1)], step])
                    for layer in range(n_layers)
                ],
            )
        ],
    )
    return fig
