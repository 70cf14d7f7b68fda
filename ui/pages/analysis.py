"""The attention-analysis page: the diagnosis, every head at a glance, one head in detail,
two heads side by side, the bertviz views and the downloads.

The model runs once per input (ui.cache).  Each interactive section is an `st.fragment`,
so switching the layer or head reruns only that section: the overview and the model run
stay as they are.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from models import banded
from models.analysis import Analysis, to_json_dict
from models.result import AttentionResult
from models.roles import ROLE_LABELS
from models.scores import SCORE_NAMES
from ui import common, inputs, state
from viz import explanations as help_text
from viz import export, figures, heatmaps, overview
from viz import sparse as sparse_figures
from viz.bertviz_view import BertvizTooLarge, bertviz_html
from viz.layout import FigureSettings

ZOOM_TOKENS = 128  # default zoom span on long inputs
MAX_ZOOM_TOKENS = 256  # widest zoom drawn at full resolution
MAX_ANIMATION_TOKENS = 96  # above this the layer animation shows a pooled view
MAX_COMPARE_TOKENS = 256  # above this the comparison shows pooled matrices
BERTVIZ_MAX_HEIGHT = 1600  # px; taller views scroll inside the frame


def page() -> None:
    shared = inputs.current()
    run = common.analysis_or_stop(shared)
    if run is None:
        common.explanations()
        return
    result, analysis = run
    common.model_caption(result)
    common.notices(result)
    common.diagnosis_summary(analysis.diagnosis)
    overview_section(analysis)
    head_section(result, analysis, shared.figure)
    grid(result, analysis, shared.figure)
    animation(result, shared.figure)
    compare_section(result, shared.figure)
    bertviz_section(result)
    data_downloads(result, analysis)
    common.explanations()


@st.fragment
def overview_section(analysis: Analysis) -> None:
    st.subheader("Every layer and head at a glance")
    left, right = st.columns(2)
    with left:
        label = overview.SCORE_LABELS.get
        score = st.selectbox("Score", SCORE_NAMES, key="score", format_func=label, bind=state.BIND)
        state.check("score", score, shown=label)
        common.show(overview.score_heatmap(analysis.scores[score], score, analysis.roles), "score_chart", sized=False)
    with right:
        common.show(overview.partition_bar(analysis.layer_partition), "partition_chart", sized=False)
    st.caption(help_text.PART_HELP)
    st.markdown("**Share of each layer's heads in each role**")
    st.dataframe(
        overview.role_share_table(analysis.layer_roles),
        hide_index=True,
        column_config={label: st.column_config.NumberColumn(format="%d%%") for label in ROLE_LABELS.values()},
    )


@st.fragment
def head_section(result: AttentionResult, analysis: Analysis, settings: FigureSettings) -> None:
    """One head in detail, every head of its layer, and the head through the layers."""
    st.subheader("One head in detail")
    layer, head = common.layer_head_picker(result.model.layers, result.model.heads)
    role = ROLE_LABELS[analysis.roles[layer - 1, head - 1]]
    st.markdown(f"**Layer {layer}, head {head}**: {role}")
    hide = st.checkbox("Hide special tokens and rescale rows", key="hide", bind=state.BIND)
    fig = figures.head_figure(result, layer, head, hide, settings)
    common.show(fig, "head_chart")
    if result.n_tokens > figures.MAX_HEATMAP_TOKENS:
        zoom(result, layer, head, hide, settings)
    else:
        st.caption(help_text.HEATMAP_HELP)
    stem = f"{result.model.key}_L{layer}H{head}"
    common.figure_downloads(lambda: figures.head_figure(result, layer, head, hide, settings), stem, settings, "dl_head")


def zoom(result: AttentionResult, layer: int, head: int, hide: bool, settings: FigureSettings) -> None:
    """Any query × key range of a long input at full resolution."""
    n = result.n_tokens
    weights = result.layer_attention[layer - 1]
    st.caption(
        "Each cell of the pooled view is the mean weight over a block of tokens, so no mass is lost. "
        "Zoom in below for single tokens."
        + (" On minilm-longformer, faint stripes about every 512 tokens come from the conversion, which "
           "tiles BERT's 512 learned positions out to 4096." if result.model.key == "minilm-longformer" else "")
    )
    left, right = st.columns(2)
    default = (0, min(n, ZOOM_TOKENS))
    queries = left.slider("Zoom: query tokens", 0, n, default, key="zoom_q", bind=state.BIND)
    keys = right.slider("Zoom: key tokens", 0, n, default, key="zoom_k", bind=state.BIND)
    rows, cols = _zoom_range(*queries), _zoom_range(*keys)
    if rows.stop - rows.start < queries[1] - queries[0] or cols.stop - cols.start < keys[1] - keys[0]:
        st.caption(f"The zoom draws at most {MAX_ZOOM_TOKENS} tokens per side; the range was shortened.")
    if hide:  # rescale over the whole row's non-special keys, then cut to the zoom
        z, keep = heatmaps.hide_special_keys(banded.block(weights, rows, slice(0, n), head=head - 1), result.special_mask)
        full = np.zeros((z.shape[0], n), dtype=np.float32)
        full[:, keep] = z
        z = full[:, cols]
    else:
        z = banded.block(weights, rows, cols, head=head - 1)
    title = f"Layer {layer}, head {head}: queries {rows.start}–{rows.stop - 1}, keys {cols.start}–{cols.stop - 1}"
    fig = heatmaps.head_heatmap(z, result.tokens, result.special_mask, result.global_positions,
                                title=title, rows=rows, cols=cols, settings=settings)
    common.show(fig, "zoom_chart")


def _zoom_range(start: int, stop: int) -> slice:
    stop = max(stop, start + 1)
    return slice(start, min(stop, start + MAX_ZOOM_TOKENS))


@st.fragment
def grid(result: AttentionResult, analysis: Analysis, settings: FigureSettings) -> None:
    """Every head of one layer.  Its own layer picker keeps a layer switch of the detailed
    head above from redrawing twelve heatmaps."""
    st.subheader("All heads of one layer")
    n_layers = result.model.layers
    layer = st.selectbox("Layer (all heads)", range(1, n_layers + 1), key="grid_layer", bind=state.BIND)
    state.check("grid_layer", layer, f"this model has layers 1–{n_layers}")
    if result.n_tokens > figures.MAX_GRID_TOKENS:
        st.caption(f"The grid is drawn for inputs of up to {figures.MAX_GRID_TOKENS} tokens; this one has {result.n_tokens}.")
        return
    common.show(figures.grid_figure(result, analysis, layer, settings), "grid_chart")
    available, _reason = common.cache.image_export_status()
    if available:
        st.download_button(
            f"Every head of layer {layer}, one PNG each (ZIP)",
            lambda: export.figures_zip(
                {f"layer{layer}_head{h}": figures.head_figure(result, layer, h, False, settings)
                 for h in range(1, result.model.heads + 1)}, "png", settings.scale),
            file_name=f"{result.model.key}_layer{layer}.zip".replace("/", "_"), mime="application/zip",
            on_click="ignore", key="dl_zip", icon=":material/folder_zip:",
        )


@st.fragment
def animation(result: AttentionResult, settings: FigureSettings) -> None:
    """One head through the layers, played in the browser (no rerun per frame).  Its own
    head picker keeps a layer switch above from redrawing it."""
    st.subheader("One head through the layers")
    head = st.selectbox("Head", range(1, result.model.heads + 1), key="anim_head", bind=state.BIND)
    state.check("anim_head", head, f"this model has heads 1–{result.model.heads}")
    if result.n_tokens <= MAX_ANIMATION_TOKENS:
        frames = np.stack([figures.head_matrix(result, layer, head) for layer in range(1, result.model.layers + 1)])
        fig = heatmaps.layer_animation(frames, result.tokens, head, settings=settings)
    else:
        pooled = [banded.pooled(weights, head - 1, MAX_ANIMATION_TOKENS) for weights in result.layer_attention]
        categories, ticks = sparse_figures.block_labels(pooled[0][1], result.tokens, result.global_positions)
        fig = heatmaps.layer_animation(np.stack([p for p, _ in pooled]), result.tokens, head,
                                       axis_labels=categories, axis_ticks_text=ticks, settings=settings)
        st.caption(f"Pooled to {len(ticks)} × {len(ticks)} blocks of tokens (mean weight per block), "
                   "each named by its first token.")
    common.show(fig, "animation_chart")
    st.caption("Press play, or drag the layer slider under the chart: every layer shares one colour scale.")


@st.fragment
def compare_section(result: AttentionResult, settings: FigureSettings) -> None:
    st.subheader("Compare two heads")
    n_layers, n_heads = result.model.layers, result.model.heads
    picks = []
    for side, column, default_layer in zip("ab", st.columns(2), (1, n_layers)):
        with column:
            picks.append(_pick(side, n_layers, n_heads, default_layer))
    (la, ha), (lb, hb) = picks
    names = (f"L{la} H{ha}", f"L{lb} H{hb}")
    if result.n_tokens <= MAX_COMPARE_TOKENS:
        fig = heatmaps.compare_heads(figures.head_matrix(result, la, ha), figures.head_matrix(result, lb, hb), result.tokens,
                                     *names, settings=settings)
    else:
        (left, edges), (right, _) = (
            banded.pooled(result.layer_attention[layer - 1], head - 1, MAX_COMPARE_TOKENS) for layer, head in picks
        )
        categories, ticks = sparse_figures.block_labels(edges, result.tokens, result.global_positions)
        fig = heatmaps.compare_heads(left, right, result.tokens, *names, axis_labels=categories,
                                     axis_ticks_text=ticks, settings=settings)
        st.caption(f"Pooled to {len(ticks)} × {len(ticks)} blocks of tokens (mean weight per block).")
    common.show(fig, "compare_chart")


def _pick(side: str, n_layers: int, n_heads: int, default_layer: int) -> tuple[int, int]:
    with st.container(horizontal=True):
        layer = st.selectbox(f"Layer {side.upper()}", range(1, n_layers + 1), index=default_layer - 1,
                             key=f"cmp_layer_{side}", bind=state.BIND)
        head = st.selectbox(f"Head {side.upper()}", range(1, n_heads + 1), key=f"cmp_head_{side}", bind=state.BIND)
    for key, value, count in ((f"cmp_layer_{side}", layer, n_layers), (f"cmp_head_{side}", head, n_heads)):
        state.check(key, value, f"this model has 1–{count}")
    return layer, head


@st.fragment
def bertviz_section(result: AttentionResult) -> None:
    st.subheader("bertviz views")
    if not st.checkbox("Show the interactive bertviz view (hover over tokens to trace attention)",
                       key="bertviz", bind=state.BIND):
        return
    view = st.radio("View", ("head", "model"), key="bertviz_view", horizontal=True, bind=state.BIND)
    second = [i for i, segment in enumerate(result.segment_ids) if segment == 1]
    try:
        html, offline = bertviz_html(
            result.layer_attention, result.tokens, view=view, sentence_b_start=second[0] if second else None
        )
    except BertvizTooLarge as error:
        st.info(str(error))
        return
    st.caption("bertviz numbers layers and heads from 0: its layer 0 is layer 1 here, its head 0 is head 1.")
    if not offline:
        st.caption("The bertviz scripts are not installed locally, so this view needs internet access to draw.")
    # the model view shrinks itself to the frame's width (viz.bertviz_view), so it never cuts a head off
    height = 140 + 110 * len(result.layer_attention) if view == "model" else 120 + 24 * result.n_tokens
    st.iframe(html, height=min(height, BERTVIZ_MAX_HEIGHT))


def data_downloads(result: AttentionResult, analysis: Analysis) -> None:
    st.subheader("Data downloads")
    columns = st.columns(3)
    columns[0].download_button(
        "Scores (CSV)", export.table_csv(overview.scores_table(analysis.scores, analysis.roles)),
        file_name="scores.csv", mime="text/csv", on_click="ignore", key="dl_csv", icon=":material/download:",
    )
    columns[1].download_button(
        "Scores and roles (JSON)", export.json_bytes(to_json_dict(result, analysis)),
        file_name="analysis.json", mime="application/json", on_click="ignore", key="dl_json",
        icon=":material/download:",
    )
    columns[2].download_button(
        "Raw attention (NPZ)",
        lambda: (
            export.banded_npz(result.layer_attention, result.tokens, result.special_mask)
            if result.is_banded
            else export.attention_npz(result.attention, result.tokens, result.special_mask)
        ),
        file_name="attention.npz", mime="application/octet-stream", on_click="ignore", key="dl_npz",
        icon=":material/download:",
    )
