"""Head-level sections of the analysis page: one head in detail (with the zoom of a long
input), every head of a layer, one head through the layers, and two heads side by side.

Each section is an `st.fragment` with its own pickers, so a switch reruns that section
alone.  They draw `Shown` (models.score.views): the chosen view (weights or norm) and unit
(tokens or words).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from i18n import N_, _
from models.extract import banded
from models.score.analysis import Analysis
from models.score.roles import ROLE_LABELS
from models.score.views import Shown
from ui import cache, common, state
from ui.language import keep_language
from viz import explanations as help_text
from viz import export, figures, heatmaps
from viz import sparse as sparse_figures
from viz.layout import FigureSettings

ZOOM_TOKENS = 128  # default zoom span on long inputs
MAX_ZOOM_TOKENS = 256  # widest zoom drawn at full resolution
MAX_ANIMATION_TOKENS = 96  # above this the layer animation shows a pooled view
MAX_COMPARE_TOKENS = 256  # above this the comparison shows pooled matrices

ZOOM_NOTE = N_(
    "Each cell of the pooled view is the mean weight over a block of tokens, so no mass is lost. "
    "Zoom in below for single tokens."
)
STRIPES_NOTE = N_(
    "On minilm-longformer, faint stripes about every 512 tokens come from the conversion, which "
    "tiles BERT's 512 learned positions out to 4096."
)
SHORT_HEAD = N_("L{layer} H{head}")


@st.fragment
def head_section(shown: Shown, analysis: Analysis, settings: FigureSettings) -> None:
    """One head in detail, with its downloads."""
    result = shown.result
    st.subheader(_("One head in detail"))
    layer, head = common.layer_head_picker(result.model.layers, result.model.heads)
    role = ROLE_LABELS[analysis.roles[layer - 1, head - 1]]
    st.markdown(f"**{figures.HEAD_TITLE.format(layer=layer, head=head)}**: {role}")
    hide = st.checkbox(_("Hide special tokens and rescale rows"), key="hide", bind=state.BIND)
    common.show(figures.head_figure(shown, layer, head, hide, settings), "head_chart")
    if shown.size > figures.MAX_HEATMAP_TOKENS:
        zoom(shown, layer, head, hide, settings)
    else:
        st.caption(str(help_text.HEATMAP_HELP))
    stem = f"{result.model.key}_L{layer}H{head}_{shown.view}_{shown.unit}"
    common.figure_downloads(lambda: figures.head_figure(shown, layer, head, hide, settings), stem, settings, "dl_head")


def zoom(shown: Shown, layer: int, head: int, hide: bool, settings: FigureSettings) -> None:
    """Any query × key range of a long input at full resolution."""
    result, n = shown.result, shown.size
    weights = shown.layer(layer - 1)
    stripes = f" {STRIPES_NOTE}" if result.model.key == "minilm-longformer" else ""
    st.caption(f"{ZOOM_NOTE}{stripes}")
    left, right = st.columns(2)
    default = (0, min(n, ZOOM_TOKENS))
    queries = left.slider(_("Zoom: query tokens"), 0, n, default, key="zoom_q", bind=state.BIND)
    keys = right.slider(_("Zoom: key tokens"), 0, n, default, key="zoom_k", bind=state.BIND)
    rows, cols = _zoom_range(*queries), _zoom_range(*keys)
    if rows.stop - rows.start < queries[1] - queries[0] or cols.stop - cols.start < keys[1] - keys[0]:
        st.caption(
            str(
                N_("The zoom draws at most {limit} tokens per side; the range was shortened.").format(
                    limit=MAX_ZOOM_TOKENS
                )
            )
        )
    if hide:  # rescale over the whole row's non-special keys, then cut to the zoom
        z, keep = heatmaps.hide_special_keys(
            banded.block(weights, rows, slice(0, n), head=head - 1), shown.special_mask
        )
        full = np.zeros((z.shape[0], n), dtype=np.float32)
        full[:, keep] = z
        z = full[:, cols]
    else:
        z = banded.block(weights, rows, cols, head=head - 1)
    title = str(
        N_("Layer {layer}, head {head}: queries {first_query}–{last_query}, keys {first_key}–{last_key}").format(
            layer=layer,
            head=head,
            first_query=rows.start,
            last_query=rows.stop - 1,
            first_key=cols.start,
            last_key=cols.stop - 1,
        )
    )
    fig = heatmaps.head_heatmap(
        z,
        shown.labels,
        shown.special_mask,
        shown.global_positions,
        title=title,
        rows=rows,
        cols=cols,
        settings=settings,
    )
    common.show(fig, "zoom_chart", stem=f"zoom_L{layer}H{head}_{shown.view}_{shown.unit}")


def _zoom_range(start: int, stop: int) -> slice:
    stop = max(stop, start + 1)
    return slice(start, min(stop, start + MAX_ZOOM_TOKENS))


@st.fragment
def grid(shown: Shown, analysis: Analysis, settings: FigureSettings) -> None:
    """Every head of one layer.  Its own layer picker keeps a layer switch of the detailed
    head above from redrawing twelve heatmaps."""
    result = shown.result
    st.subheader(_("All heads of one layer"))
    n_layers = result.model.layers
    layer = st.selectbox(_("Layer (all heads)"), range(1, n_layers + 1), key="grid_layer", bind=state.BIND)
    state.check("grid_layer", layer, common.WHY_LAYERS.format(count=n_layers))
    if shown.size > figures.MAX_GRID_TOKENS:
        st.caption(str(figures.ERR_GRID.format(limit=figures.MAX_GRID_TOKENS, n=shown.size)))
        return
    common.show(
        figures.grid_figure(shown, analysis, layer, settings), "grid_chart", stem=f"layer{layer}_all_heads_{shown.view}"
    )
    available, _reason = cache.image_export_status()
    if available:
        st.download_button(
            str(N_("Every head of layer {layer}, one PNG each (ZIP)").format(layer=layer)),
            keep_language(
                lambda: export.figures_zip(
                    {
                        f"layer{layer}_head{h}": figures.head_figure(shown, layer, h, False, settings)
                        for h in range(1, result.model.heads + 1)
                    },
                    "png",
                    settings.scale,
                )
            ),
            file_name=f"{result.model.key}_layer{layer}.zip".replace("/", "_"),
            mime="application/zip",
            on_click="ignore",
            key="dl_zip",
            icon=":material/folder_zip:",
        )


@st.fragment
def animation(shown: Shown, settings: FigureSettings) -> None:
    """One head through the layers, played in the browser (no rerun per frame).  Its own
    head picker keeps a layer switch above from redrawing it."""
    result = shown.result
    st.subheader(_("One head through the layers"))
    head = st.selectbox(_("Head"), range(1, result.model.heads + 1), key="anim_head", bind=state.BIND)
    state.check("anim_head", head, common.WHY_HEADS.format(count=result.model.heads))
    if shown.size <= MAX_ANIMATION_TOKENS:
        frames = np.stack([shown.head(layer, head - 1) for layer in range(result.model.layers)])
        fig = heatmaps.layer_animation(frames, shown.labels, head, settings=settings)
    else:
        pooled = [
            banded.pooled(shown.layer(layer), head - 1, MAX_ANIMATION_TOKENS) for layer in range(result.model.layers)
        ]
        categories, ticks = sparse_figures.block_labels(pooled[0][1], shown.labels, shown.global_positions)
        fig = heatmaps.layer_animation(
            np.stack([p for p, _edges in pooled]),
            shown.labels,
            head,
            axis_labels=categories,
            axis_ticks_text=ticks,
            settings=settings,
        )
        st.caption(
            str(
                N_(
                    "Pooled to {blocks} × {blocks} blocks of tokens (mean weight "
                    "per block), each named by its first token."
                ).format(blocks=len(ticks))
            )
        )
    common.show(fig, "animation_chart", stem=f"head{head}_over_layers_{shown.view}")
    st.caption(_("Press play, or drag the layer slider under the chart: every layer shares one colour scale."))


@st.fragment
def compare_section(shown: Shown, settings: FigureSettings) -> None:
    result = shown.result
    st.subheader(_("Compare two heads"))
    n_layers, n_heads = result.model.layers, result.model.heads
    picks = []
    for side, column, default_layer in zip("ab", st.columns(2), (1, n_layers)):
        with column:
            picks.append(_pick(side, n_layers, n_heads, default_layer))
    (la, ha), (lb, hb) = picks
    names = (str(SHORT_HEAD.format(layer=la, head=ha)), str(SHORT_HEAD.format(layer=lb, head=hb)))
    if shown.size <= MAX_COMPARE_TOKENS:
        fig = heatmaps.compare_heads(
            shown.head(la - 1, ha - 1), shown.head(lb - 1, hb - 1), shown.labels, *names, settings=settings
        )
    else:
        (left, edges), (right, _edges) = (
            banded.pooled(shown.layer(layer - 1), head - 1, MAX_COMPARE_TOKENS) for layer, head in picks
        )
        categories, ticks = sparse_figures.block_labels(edges, shown.labels, shown.global_positions)
        fig = heatmaps.compare_heads(
            left, right, shown.labels, *names, axis_labels=categories, axis_ticks_text=ticks, settings=settings
        )
        st.caption(
            str(N_("Pooled to {blocks} × {blocks} blocks of tokens (mean weight per block).").format(blocks=len(ticks)))
        )
    common.show(fig, "compare_chart", stem=f"L{la}H{ha}_vs_L{lb}H{hb}_{shown.view}")


def _pick(side: str, n_layers: int, n_heads: int, default_layer: int) -> tuple[int, int]:
    with st.container(horizontal=True):
        layer = st.selectbox(
            str(N_("Layer {side}").format(side=side.upper())),
            range(1, n_layers + 1),
            index=default_layer - 1,
            key=f"cmp_layer_{side}",
            bind=state.BIND,
        )
        head = st.selectbox(
            str(N_("Head {side}").format(side=side.upper())),
            range(1, n_heads + 1),
            key=f"cmp_head_{side}",
            bind=state.BIND,
        )
    for key, value, count in ((f"cmp_layer_{side}", layer, n_layers), (f"cmp_head_{side}", head, n_heads)):
        state.check(key, value, N_("this model has 1–{count}").format(count=count))
    return layer, head
