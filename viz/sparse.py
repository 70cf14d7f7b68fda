"""Figures for the sparse-attention explorer: masks, coverage, reachability and pooled maps.

Every function takes plain numpy arrays (the fields of the sparse engine's report) and returns
a plotly figure.  Matrices are [query, key] with queries on the y axis (top to bottom) and keys
on the x axis.  Inputs are never modified.

Figures stay small on the wire: z is sent as a compact numpy array (plotly base64-encodes it),
never as per-cell text.  Matrices over MAX_CELLS tokens are pooled into at most
MAX_CELLS × MAX_CELLS blocks of near-equal size, each showing the block mean.

Category words in the hover ("allowed", "blocked", hops) come without per-cell text: the visible
trace holds every cell and carries the hover of one category; an invisible overlay on top holds
the other cells (NaN elsewhere, hoverongaps=False), so plotly shows the overlay's hover where it
has a value and falls through to the visible trace everywhere else.

Words in titles, hovers and colour bars are translated messages; the hover templates are
built from them with plotly's own %{…} placeholders filled in as parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from i18n import N_
from models.extract import banded
from viz.heatmaps import size_token_figure
from viz.labels import GLOBAL_MARK, token_labels
from viz.layout import FigureSettings, chart_layout
from viz.legend import LAYER
from viz.overview import head_names, layer_names

MAX_CELLS = 512  # largest matrix side drawn cell by cell; bigger ones are pooled to this many blocks
ALLOWED_COLOUR = "#1f77b4"
BLOCKED_COLOUR = "#eeeeee"
TWO_HOP_COLOUR = "#9ecae1"
COLOURSCALE = "Blues"
PATTERN_COLOURS = plotly.colors.qualitative.Plotly
TOKEN_CHARS = 12  # longest token shown in a pooled block's label

# Reachability codes, as produced by the engine's reachability(): [N, N] int8.
NOT_REACHED, ONE_HOP, TWO_HOPS = 0, 1, 2
REACH_LABELS = {NOT_REACHED: N_("not within 2 hops"), ONE_HOP: N_("1 hop"), TWO_HOPS: N_("2 hops")}
BLOCKED, ALLOWED = N_("blocked"), N_("allowed")
PAIR_HOVER = N_("{query} → {key}: {what}")  # one cell: query token → key token
BLOCK_HOVER = N_("queries {query} → keys {key}: {value}")  # one pooled block of cells
ALLOWED_SHARE, WITHIN_TWO_HOPS, MEAN_WEIGHT = N_("allowed share"), N_("within 2 hops"), N_("mean weight")
SHARE_OF_ALLOWED, SHARE_REACHABLE = N_("share of allowed pairs"), N_("share reachable within 2 hops")
COVERAGE = N_("coverage")
KEPT = N_("{layer}, {head}: {share} of the attention kept")
CURVE_KEPT = N_("{pattern}, layer {layer}: {share} kept")
CURVES_TITLE = N_("Share of attention each pattern keeps, by layer")
CURVES_NOTE = N_(
    "dashed: the model's own top-k weights with the same number of keys (the best any pattern that size can do)"
)
MIN_WINDOW_HOVER = N_("{layer}: W = {window} keeps {share:.0%} of the attention")


def _pair_hover(what: str) -> str:
    """A hover template for one cell: "%{y} → %{x}: allowed" in the active language."""
    return f"{PAIR_HOVER.format(query='%{y}', key='%{x}', what=what)}<extra></extra>"


def _block_hover(value: str) -> str:
    return f"{BLOCK_HOVER.format(query='%{y}', key='%{x}', value=value)}<extra></extra>"


def payload_bytes(fig: go.Figure) -> int:
    """Size of the figure's JSON, i.e. roughly what the browser receives."""
    return len(fig.to_json())


def block_labels(
    edges: np.ndarray, tokens: Sequence[str], global_positions: Sequence[int] = ()
) -> tuple[list[str], list[str]]:
    """Per block: (category "12–19 (the…)", tick "12·the", its first token); a star marks a
    block holding a global token.  Categories are unique, as plotly needs."""
    globals_ = sorted(global_positions)
    categories, ticks = [], []
    for start, stop in zip(edges[:-1].tolist(), edges[1:].tolist()):
        star = GLOBAL_MARK if any(start <= g < stop for g in globals_) else ""
        span = f"{start}" if stop - start == 1 else f"{start}–{stop - 1}"
        first = str(tokens[start])[:TOKEN_CHARS] if start < len(tokens) else "?"
        more = "…" if stop - start > 1 else ""
        ticks.append(f"{start}·{first}{star}")
        categories.append(f"{span}{star} ({first}{more})")
    return categories, ticks


def _check_tokens(n: int, tokens: Sequence[str]) -> None:
    if len(tokens) != n:
        raise ValueError(
            f"The matrix has {n} positions, while there are {len(tokens)} tokens: pass one token per position."
        )


def _discrete_scale(colours: Sequence[str]) -> list[list]:
    """Colour scale with one flat band per category 0..len(colours)-1 (cmin −0.5, cmax len − 0.5)."""
    scale, bands = [], len(colours)
    for index, colour in enumerate(colours):
        scale += [[index / bands, colour], [(index + 1) / bands, colour]]
    return scale


def _categorical_figure(
    codes: np.ndarray,
    labels: list[str],
    colours: Sequence[str],
    names: Sequence[str],
    base_hover: str,
    overlay: np.ndarray,
    overlay_hover: str,
    title: str,
    settings: FigureSettings,
) -> go.Figure:
    """Categorical heatmap of codes [N, N] (0..len(colours)-1) with a hover-only overlay [N, N]."""
    bands = len(colours)
    fig = go.Figure(
        [
            go.Heatmap(
                z=codes,
                x=labels,
                y=labels,
                colorscale=_discrete_scale(colours),
                zmin=-0.5,
                zmax=bands - 0.5,
                hovertemplate=base_hover,
                colorbar=dict(
                    tickvals=list(range(bands)),
                    ticktext=[str(name) for name in names],
                    thickness=14,
                    len=0.5,
                    x=1.0,
                    xanchor="left",
                    xpad=6,
                ),
            ),
            go.Heatmap(
                z=overlay,
                x=labels,
                y=labels,
                opacity=0.0,
                showscale=False,
                hoverongaps=False,
                hovertemplate=overlay_hover,
            ),
        ]
    )
    return size_token_figure(fig, labels, labels, title, settings, colorbar=names)


def _pooled_figure(
    pooled: np.ndarray,
    row_edges: np.ndarray,
    col_edges: np.ndarray,
    tokens: Sequence[str],
    title: str,
    hovertemplate: str,
    colorscale,
    zmax: float,
    colourbar_title: str,
    settings: FigureSettings,
    global_positions: Sequence[int] = (),
    note: str = "",
) -> go.Figure:
    """Heatmap of pooled [P, Q]: categories name each block's range, ticks its first token."""
    rows, row_ticks = block_labels(row_edges, tokens, global_positions)
    cols, col_ticks = block_labels(col_edges, tokens, global_positions)
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(pooled, dtype=np.float32),
            x=cols,
            y=rows,
            colorscale=colorscale,
            zmin=0.0,
            zmax=zmax,
            hovertemplate=hovertemplate,
            colorbar=dict(title=dict(text=str(colourbar_title)), thickness=14, x=1.0, xanchor="left", xpad=6),
        )
    )
    return size_token_figure(
        fig,
        rows,
        cols,
        title,
        settings,
        y_ticks=row_ticks,
        x_ticks=col_ticks,
        note=note,
        colorbar=(colourbar_title, "0.000"),
    )


def pooled_note(n: int, edges: np.ndarray, colour_means: str) -> str:
    """Says the matrix was pooled, into which blocks, and what a cell's colour means (a
    LazyText, shown in the language of the moment)."""
    blocks = len(edges) - 1
    return N_("{n} tokens pooled into {blocks}×{blocks} blocks of ~{size:.3g}; colour = {means}").format(
        n=n, blocks=blocks, size=n / blocks, means=colour_means
    )


def _pooled_share_figure(
    flags: np.ndarray,
    tokens: Sequence[str],
    title: str,
    max_cells: int,
    share_hover: str,
    colourbar_title: str,
    share_of: str,
    settings: FigureSettings,
    global_positions: Sequence[int] = (),
) -> go.Figure:
    """The share of true cells of flags [N, N] bool per block of at most max_cells × max_cells,
    from blocked to allowed colour: a boolean figure with too many tokens for a cell each.
    `share_hover` formats the block's {share}; `share_of` names it in the pooling note."""
    pooled_share, edges = banded.pooled(flags[None], 0, max_cells)  # [P, P]
    return _pooled_figure(
        pooled_share,
        edges,
        edges,
        tokens,
        title,
        _block_hover(share_hover.format(share="%{z:.0%}")),
        [[0.0, BLOCKED_COLOUR], [1.0, ALLOWED_COLOUR]],
        1.0,
        colourbar_title,
        settings,
        global_positions,
        note=pooled_note(flags.shape[0], edges, share_of),
    )


def mask_figure(
    mask: np.ndarray,
    tokens: Sequence[str],
    global_positions: Sequence[int] = (),
    title: str = "",
    *,
    max_cells: int = MAX_CELLS,
    settings: FigureSettings = FigureSettings(),
) -> go.Figure:
    """Allowed (1) / blocked (0) cells of mask [N, N] bool; over max_cells tokens, the allowed share per block."""
    mask = np.asarray(mask, dtype=bool)
    n = mask.shape[0]
    _check_tokens(n, tokens)
    if n > max_cells:
        return _pooled_share_figure(
            mask,
            tokens,
            title,
            max_cells,
            N_("{share} allowed"),
            ALLOWED_SHARE,
            SHARE_OF_ALLOWED,
            settings,
            global_positions,
        )
    allowed = np.where(mask, np.float32(1.0), np.float32(np.nan))  # hover-only overlay [N, N]
    return _categorical_figure(
        mask.astype(np.uint8),
        token_labels(tokens, global_positions),
        (BLOCKED_COLOUR, ALLOWED_COLOUR),
        (BLOCKED, ALLOWED),
        _pair_hover(BLOCKED),
        allowed,
        _pair_hover(ALLOWED),
        title,
        settings,
    )


OVERLAP_NAMES = (N_("neither"), N_("model only"), N_("simulation only"), N_("both"))
OVERLAP_COLOURS = (BLOCKED_COLOUR, "#d62728", "#9ecae1", ALLOWED_COLOUR)


def overlap_figure(
    codes: np.ndarray, tokens: Sequence[str], title: str = "", *, settings: FigureSettings = FigureSettings()
) -> go.Figure:
    """The model's own pattern against a simulated one: codes [N, N] int8 (0 neither, 1 model
    only, 2 simulation only, 3 both; models.sparse.own_pattern.overlap_view)."""
    codes = np.asarray(codes, dtype=np.int8)
    _check_tokens(codes.shape[0], tokens)
    named = np.where(codes > 0, codes.astype(np.float32), np.float32(np.nan))  # hover-only overlay
    return _categorical_figure(
        codes,
        token_labels(tokens),
        OVERLAP_COLOURS,
        OVERLAP_NAMES,
        _pair_hover(OVERLAP_NAMES[0]),
        named,
        _pair_hover(N_("code {code} (1 model only, 2 simulation only, 3 both)").format(code="%{z}")),
        title,
        settings,
    )


def reachability_figure(
    hops: np.ndarray,
    tokens: Sequence[str],
    title: str = "",
    *,
    max_cells: int = MAX_CELLS,
    settings: FigureSettings = FigureSettings(),
) -> go.Figure:
    """Hops [N, N] int8 (0 = not within 2, 1, 2) as categories; over max_cells tokens, the share
    of pairs reachable within 2 hops per block."""
    hops = np.asarray(hops)
    n = hops.shape[0]
    _check_tokens(n, tokens)
    if n > max_cells:
        return _pooled_share_figure(
            hops > NOT_REACHED,
            tokens,
            title,
            max_cells,
            N_("{share} within 2 hops"),
            WITHIN_TWO_HOPS,
            SHARE_REACHABLE,
            settings,
        )
    reached = np.where(hops > NOT_REACHED, hops.astype(np.float32), np.float32(np.nan))  # overlay [N, N]
    return _categorical_figure(
        hops.astype(np.int8),
        token_labels(tokens),
        (BLOCKED_COLOUR, ALLOWED_COLOUR, TWO_HOP_COLOUR),
        tuple(REACH_LABELS[code] for code in (NOT_REACHED, ONE_HOP, TWO_HOPS)),
        _pair_hover(REACH_LABELS[NOT_REACHED]),
        reached,
        _pair_hover(N_("hops = {hops}").format(hops="%{z}")),
        title,
        settings,
    )


def pooled_heatmap(
    pooled: np.ndarray,
    row_edges: np.ndarray,
    col_edges: np.ndarray,
    tokens: Sequence[str],
    title: str = "",
    zmax: float | None = None,
    global_positions: Sequence[int] = (),
    note: str = "",
    settings: FigureSettings = FigureSettings(),
) -> go.Figure:
    """Already pooled attention [P, Q]: cell (p, q) is the mean weight over query rows
    row_edges[p]:row_edges[p+1] and key columns col_edges[q]:col_edges[q+1]."""
    pooled = np.asarray(pooled)
    row_edges, col_edges = np.asarray(row_edges), np.asarray(col_edges)
    if pooled.shape != (len(row_edges) - 1, len(col_edges) - 1):
        raise ValueError(
            f"Pooled matrix {pooled.shape} does not match {len(row_edges)} row edges and "
            f"{len(col_edges)} column edges: pass P + 1 row edges and Q + 1 column edges."
        )
    top = zmax if zmax is not None else (float(np.max(pooled)) if pooled.size else 1.0) or 1.0
    return _pooled_figure(
        pooled,
        row_edges,
        col_edges,
        tokens,
        title,
        _block_hover(N_("mean {value}").format(value="%{z:.3f}")),
        COLOURSCALE,
        top,
        MEAN_WEIGHT,
        settings,
        global_positions,
        note=note,
    )


def coverage_heatmap(coverage: np.ndarray, title: str = "") -> go.Figure:
    """Share of attention mass a pattern keeps, per layer (y) × head (x): coverage [L, H] in 0..1."""
    coverage = np.asarray(coverage)
    n_layers, n_heads = coverage.shape
    fig = go.Figure(
        go.Heatmap(
            z=coverage,
            x=head_names(n_heads),
            y=layer_names(n_layers),
            colorscale="Viridis",
            zmin=0.0,
            zmax=1.0,
            texttemplate="%{z:.0%}",
            hovertemplate=f"{KEPT.format(layer='%{y}', head='%{x}', share='%{z:.1%}')}<extra></extra>",
            colorbar=dict(title=dict(text=str(COVERAGE)), tickformat=".0%"),
        )
    )
    return chart_layout(fig, title=str(title), height=max(300, 34 * n_layers + 150), yaxis=dict(autorange="reversed"))


def coverage_curves(
    curves: Mapping[str, np.ndarray],
    oracle: Mapping[str, np.ndarray] | None = None,
) -> go.Figure:
    """Coverage per layer for each pattern: curves[name] [L]; oracle[name] [L] (top-k at the
    same density) is dashed in the pattern's colour, in the same legend entry."""
    fig = go.Figure()
    for index, (name, values) in enumerate(curves.items()):
        colour = PATTERN_COLOURS[index % len(PATTERN_COLOURS)]
        layers = np.arange(1, len(values) + 1)
        name = str(name)
        fig.add_trace(
            go.Scatter(
                x=layers,
                y=np.asarray(values),
                name=name,
                legendgroup=name,
                mode="lines+markers",
                line=dict(color=colour),
                hovertemplate=f"{CURVE_KEPT.format(pattern=name, layer='%{x}', share='%{y:.1%}')}<extra></extra>",
            )
        )
        if oracle is not None and name in oracle:
            best = N_("{pattern}, layer {layer}: best possible {share}").format(
                pattern=name, layer="%{x}", share="%{y:.1%}"
            )
            fig.add_trace(
                go.Scatter(
                    x=layers,
                    y=np.asarray(oracle[name]),
                    name=str(N_("{pattern}: best at same density").format(pattern=name)),
                    legendgroup=name,
                    showlegend=False,
                    mode="lines",
                    line=dict(color=colour, dash="dash"),
                    hovertemplate=f"{best}<extra></extra>",
                )
            )
    return chart_layout(
        fig,
        title=f"{CURVES_TITLE}<br><sup>{CURVES_NOTE}</sup>",
        xaxis=dict(title=str(LAYER), dtick=1),
        yaxis=dict(title=str(COVERAGE), tickformat=".0%", range=[0, 1.02]),
        height=420 + 22 * len(curves),
        legend=dict(orientation="h", y=-0.18, yanchor="top", x=0.0),
    )


def min_window_figure(min_window: np.ndarray, n_tokens: int, share: float) -> go.Figure:
    """Smallest window W (W/2 tokens each side) keeping `share` of each layer's mass: min_window [L]."""
    min_window = np.asarray(min_window)
    full = 2 * max(n_tokens - 1, 0)  # the window that allows every pair
    fig = go.Figure(
        go.Bar(
            x=layer_names(len(min_window)),
            y=min_window,
            marker_color=ALLOWED_COLOUR,
            hovertemplate=f"{MIN_WINDOW_HOVER.format(layer='%{x}', window='%{y}', share=share)}<extra></extra>",
        )
    )
    fig.add_hline(
        y=full,
        line_dash="dot",
        line_color="#888888",
        annotation_text=str(N_("full attention (W = {window})").format(window=full)),
    )
    return chart_layout(
        fig,
        title=str(N_("Smallest local window keeping {share:.0%} of the attention, by layer").format(share=share)),
        yaxis=dict(title=str(N_("window W (W/2 tokens each side)")), range=[0, 1.08 * max(full, 1)]),
        height=400,
    )
