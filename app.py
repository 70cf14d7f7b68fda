"""Streamlit app: widgets, caching and layout only; the work happens in models/ and viz/.

Run with `streamlit run app.py`.  The model runs once per (model, window, text, pair,
global tokens) and is cached; layer, head and chart choices only redraw figures.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import sparse_app
from models import banded
from models.analysis import Analysis, analyze, to_json_dict
from models.extract import InputError, extract
from models.loading import LoadedModel, ModelLoadError, load_model
from models.registry import DEFAULT_MODEL, DEFAULT_WINDOW, MAX_WINDOW, MIN_WINDOW, REGISTRY
from models.result import AttentionResult
from models.roles import ROLE_LABELS, ROLES
from models.scores import SCORE_NAMES
from viz import explanations as help_text
from viz import export, heatmaps, overview
from viz import sparse as sparse_figures
from viz.bertviz_view import BertvizTooLarge, bertviz_html
from viz.labels import token_labels

DEFAULT_TEXT = "The cat sat on the mat because it was tired."
QUERY_TEXT_LIMIT = 1500  # longer texts are not written into the shareable URL
MAX_HEATMAP_TOKENS = 512  # larger inputs get a pooled overview and a zoom
ZOOM_TOKENS = 128  # default zoom span on long inputs
MAX_ZOOM_TOKENS = 256  # widest zoom drawn at full resolution
MAX_GRID_TOKENS = 160
MAX_ANIMATION_TOKENS = 96  # above this the layer animation shows a pooled view
MAX_COMPARE_TOKENS = 256  # above this the comparison shows pooled matrices (three heatmaps)
PAGES = ("Attention analysis", "Sparse patterns", "Dense vs window")
BERTVIZ_MAX_HEIGHT = 1600  # pixels; taller views scroll inside the frame


# ---------------------------------------------------------------- caching


@st.cache_resource(max_entries=3, show_spinner="Loading the model…")
def get_model(name: str, window: int) -> LoadedModel:
    return load_model(name, window)


@st.cache_resource(max_entries=16, show_spinner="Running the model…")  # results are immutable: no per-rerun copy
def run_analysis(
    name: str,
    window: int,
    text: str,
    text_b: str | None,
    global_positions: tuple[int, ...] | None,
    exclude_special: bool,
) -> tuple[AttentionResult, Analysis]:
    result = extract(get_model(name, window), text, text_b, global_positions)
    return result, analyze(result, exclude_special=exclude_special)


@st.cache_data(max_entries=1, show_spinner=False)
def image_export_status() -> tuple[bool, str]:
    return export.image_export_available()


# ---------------------------------------------------------------- state


def init_state() -> None:
    """Seed widgets from the shareable URL once per session."""
    state = st.session_state
    if state.get("_seeded"):
        return
    params = st.query_params
    state["text"] = params.get("text", DEFAULT_TEXT)
    model = params.get("model", DEFAULT_MODEL)
    state["model"] = model if model in REGISTRY else DEFAULT_MODEL
    page = params.get("page", PAGES[0])
    state["page"] = page if page in PAGES else PAGES[0]
    for key in ("layer", "head"):
        value = params.get(key, "")
        if value.isdigit():
            state[f"_wanted_{key}"] = int(value)
    state["_seeded"] = True


def clamp_choice(key: str, count: int, default: int = 1) -> None:
    """Keep a 1-based layer/head choice inside 1..count (the model may have changed)."""
    state = st.session_state
    wanted = state.pop(f"_wanted_{key}", None)
    current = wanted if wanted is not None else state.get(key, default)
    state[key] = min(max(int(current), 1), count)


def share_state(text: str, model: str, layer: int | None, head: int | None) -> None:
    params = {"model": model, "page": st.session_state.get("page", PAGES[0])}
    if len(text) <= QUERY_TEXT_LIMIT:
        params["text"] = text
    if layer is not None and head is not None:
        params["layer"], params["head"] = str(layer), str(head)
    current = st.query_params.to_dict()
    for key in set(current) - set(params):
        del st.query_params[key]
    for key, value in params.items():
        if current.get(key) != value:
            st.query_params[key] = value


# ---------------------------------------------------------------- sections


def inputs() -> tuple[str, str | None, str, int, bool]:
    text = st.text_area(
        "Sentence to analyse: where does each attention head look?",
        key="text",
        height=100,
        help="Commit with Ctrl+Enter or by clicking away.",
    )
    text_b = st.text_input("Optional second sentence (analysed as a pair)", key="text_b")
    st.radio("Page", PAGES, key="page", horizontal=True, label_visibility="collapsed")
    with st.sidebar:
        st.header("Model")
        model = st.selectbox(
            "Model",
            list(REGISTRY),
            key="model",
            format_func=lambda key: f"{key} ({REGISTRY[key].family})",
        )
        st.caption(REGISTRY[model].description)
        model_dir = st.text_input("…or a local model directory", key="model_dir", placeholder="/path/to/model")
        window = DEFAULT_WINDOW
        if REGISTRY[model].windowed and not model_dir.strip():
            window = int(
                st.number_input(
                    "Attention window (even)",
                    min_value=MIN_WINDOW,
                    max_value=MAX_WINDOW,
                    value=DEFAULT_WINDOW,
                    step=2,
                    key="window",
                )
            )
        exclude_special = st.checkbox(
            "Leave special tokens' own rows out of the scores", key="exclude_special", value=False
        )
    name = model_dir.strip() or model
    return text, (text_b or None), name, window, exclude_special


def choose_globals(
    loaded: LoadedModel, name: str, window: int, text: str, text_b: str | None, exclude_special: bool
) -> tuple[AttentionResult, Analysis]:
    """For Longformer models: pick global tokens by label; returns the (result, analysis) to show."""
    result, analysis = run_analysis(name, window, text, text_b, None, exclude_special)
    if loaded.family != "longformer":
        return result, analysis
    labels = token_labels(result.tokens)
    state = st.session_state
    if "globals" not in state:
        state["globals"] = [labels[p] for p in result.global_positions]
    else:
        state["globals"] = [label for label in state["globals"] if label in labels]
    chosen = st.sidebar.multiselect("Global tokens (attend to and from everything)", labels, key="globals")
    positions = tuple(sorted(labels.index(label) for label in chosen))
    if positions == result.global_positions:
        return result, analysis
    return run_analysis(name, window, text, text_b, positions, exclude_special)


def messages(result: AttentionResult, analysis: Analysis, diagnosis: bool) -> None:
    for notice in result.notices:
        st.info(notice)
    for item in analysis.diagnosis if diagnosis else ():
        (st.warning if item.level == "warning" else st.info)(item.message)


def overview_section(result: AttentionResult, analysis: Analysis) -> None:
    st.subheader("Overview: every layer and head")
    left, right = st.columns(2)
    with left:
        score = st.selectbox(
            "Score", SCORE_NAMES, key="score", format_func=lambda name: overview.SCORE_LABELS.get(name, name)
        )
        st.plotly_chart(overview.score_heatmap(analysis.scores[score], score, analysis.roles), key="score_chart")
    with right:
        st.plotly_chart(overview.partition_bar(analysis.layer_partition), key="partition_chart")
    st.caption(help_text.PART_HELP)
    st.markdown("**Share of each layer's heads in each role**")
    st.dataframe(overview.role_share_table(analysis.layer_roles), hide_index=True)


def head_matrix(result: AttentionResult, layer: int, head: int, n: int):
    """The first n × n weights of one head (1-based layer and head), dense or banded."""
    return banded.block(result.layer_attention[layer - 1], slice(0, n), slice(0, n), head=head - 1)


def head_section(result: AttentionResult, analysis: Analysis, layer: int, head: int) -> None:
    st.subheader(f"Layer {layer}, head {head}: {ROLE_LABELS[analysis.roles[layer - 1, head - 1]]}")
    hide = st.checkbox("Hide special tokens and rescale rows", key="hide_special")
    if result.n_tokens > MAX_HEATMAP_TOKENS:
        long_head_section(result, layer, head, hide)
        return
    fig = heatmaps.head_heatmap(
        head_matrix(result, layer, head, result.n_tokens),
        result.tokens,
        result.special_mask,
        result.global_positions,
        hide_special=hide,
        title=f"Layer {layer}, head {head}",
    )
    st.plotly_chart(fig, key="head_chart")
    st.caption(help_text.HEATMAP_HELP)


def long_head_section(result: AttentionResult, layer: int, head: int, hide: bool) -> None:
    """A pooled overview of the whole matrix, then any token range at full resolution."""
    n = result.n_tokens
    weights = result.layer_attention[layer - 1]
    pooled, edges = banded.pooled(weights, head - 1)
    block = int(round(n / (len(edges) - 1)))
    st.plotly_chart(
        sparse_figures.pooled_heatmap(
            pooled, edges, edges, result.tokens, title=f"Layer {layer}, head {head}: all {n} tokens, pooled"
        ),
        key="pooled_chart",
    )
    st.caption(
        f"Pooled view: each cell is the mean weight over a block of about {block} × {block} tokens "
        f"({len(edges) - 1} × {len(edges) - 1} cells), so no mass is lost. Zoom below for single tokens."
        + (
            " On minilm-longformer, faint stripes about every 512 tokens come from the conversion, which tiles "
            "BERT's 512 learned positions out to 4096."
            if result.model.key == "minilm-longformer"
            else ""
        )
    )
    left, right = st.columns(2)
    default = (0, min(n, ZOOM_TOKENS))
    queries = left.slider("Zoom: query tokens", 0, n, default, key="zoom_rows")
    keys = right.slider("Zoom: key tokens", 0, n, default, key="zoom_cols")
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
    fig = heatmaps.head_heatmap(
        z,
        result.tokens,
        result.special_mask,
        result.global_positions,
        title=f"Layer {layer}, head {head}: queries {rows.start}–{rows.stop - 1}, keys {cols.start}–{cols.stop - 1}",
        rows=rows,
        cols=cols,
    )
    st.plotly_chart(fig, key="zoom_chart")


def _zoom_range(start: int, stop: int) -> slice:
    stop = max(stop, start + 1)
    return slice(start, min(stop, start + MAX_ZOOM_TOKENS))


def grid_section(result: AttentionResult, analysis: Analysis, layer: int) -> None:
    st.subheader(f"All heads of layer {layer}")
    if result.n_tokens > MAX_GRID_TOKENS:
        st.caption(f"The grid is drawn for inputs of up to {MAX_GRID_TOKENS} tokens; this one has {result.n_tokens}.")
        return
    roles = analysis.roles[layer - 1]
    titles = [f"head {h + 1} · {ROLE_LABELS[role]}" for h, role in enumerate(roles)]
    fig = heatmaps.layer_grid(result.layer_attention[layer - 1], result.tokens, head_titles=titles)
    st.plotly_chart(fig, key="grid_chart")


def compare_section(result: AttentionResult) -> None:
    st.subheader("Compare two heads")
    n_layers, n_heads = result.model.layers, result.model.heads
    picks = []
    for side, column in zip("ab", st.columns(2)):
        with column:
            clamp_choice(f"cmp_layer_{side}", n_layers, default=1 if side == "a" else n_layers)
            clamp_choice(f"cmp_head_{side}", n_heads)
            if n_layers > 1:
                layer = st.slider(f"Layer {side.upper()}", 1, n_layers, key=f"cmp_layer_{side}")
            else:
                layer = 1
            head = st.selectbox(f"Head {side.upper()}", range(1, n_heads + 1), key=f"cmp_head_{side}")
            picks.append((layer, head))
    (la, ha), (lb, hb) = picks
    names = (f"L{la} H{ha}", f"L{lb} H{hb}")
    if result.n_tokens <= MAX_COMPARE_TOKENS:
        n = result.n_tokens
        fig = heatmaps.compare_heads(head_matrix(result, la, ha, n), head_matrix(result, lb, hb, n), result.tokens, *names)
    else:
        (left, edges), (right, _) = (
            banded.pooled(result.layer_attention[layer - 1], head - 1, MAX_COMPARE_TOKENS) for layer, head in picks
        )
        labels, _ = sparse_figures.block_labels(edges, result.tokens, result.global_positions)
        fig = heatmaps.compare_heads(left, right, result.tokens, *names, axis_labels=labels)
        st.caption(f"Pooled to {len(labels)} × {len(labels)} blocks of tokens (mean weight per block).")
    st.plotly_chart(fig, key="compare_chart")


def animation_section(result: AttentionResult, head: int) -> None:
    """One head through the layers, played in the browser (no rerun per frame)."""
    st.subheader(f"Head {head} through the layers")
    if result.n_tokens <= MAX_ANIMATION_TOKENS:
        frames = np.stack([head_matrix(result, layer, head, result.n_tokens) for layer in range(1, result.model.layers + 1)])
        fig = heatmaps.layer_animation(frames, result.tokens, head)
    else:
        pooled = [banded.pooled(weights, head - 1, MAX_ANIMATION_TOKENS) for weights in result.layer_attention]
        edges = pooled[0][1]
        labels, _ = sparse_figures.block_labels(edges, result.tokens, result.global_positions)
        fig = heatmaps.layer_animation(np.stack([p for p, _ in pooled]), result.tokens, head, axis_labels=labels)
        st.caption(f"Pooled to {len(labels)} × {len(labels)} blocks of tokens (mean weight per block).")
    st.plotly_chart(fig, key="animation_chart")
    st.caption("Press play, or drag the layer slider under the chart: every layer shares one colour scale.")


def bertviz_section(result: AttentionResult) -> None:
    st.subheader("bertviz views")
    if not st.checkbox("Show the interactive bertviz view (hover over tokens to trace attention)", key="bertviz"):
        return
    view = st.radio("View", ("head", "model"), key="bertviz_view", horizontal=True)
    second = [i for i, segment in enumerate(result.segment_ids) if segment == 1]
    try:
        html, offline = bertviz_html(
            result.layer_attention, result.tokens, view=view, sentence_b_start=second[0] if second else None
        )
    except BertvizTooLarge as error:
        st.info(str(error))
        return
    if not offline:
        st.caption("The bertviz scripts are not installed locally, so this view needs internet access to draw.")
    height = 140 + 110 * len(result.layer_attention) if view == "model" else 120 + 24 * result.n_tokens
    st.iframe(html, height=min(height, BERTVIZ_MAX_HEIGHT))


def downloads_section(result: AttentionResult, analysis: Analysis, layer: int, head: int) -> None:
    st.subheader("Downloads")
    n = min(result.n_tokens, MAX_HEATMAP_TOKENS)

    def head_figure(layer_: int, head_: int):
        if result.n_tokens > n:
            pooled, edges = banded.pooled(result.layer_attention[layer_ - 1], head_ - 1)
            return sparse_figures.pooled_heatmap(
                pooled, edges, edges, result.tokens, title=f"Layer {layer_}, head {head_} (pooled)"
            )
        return heatmaps.head_heatmap(
            head_matrix(result, layer_, head_, n),
            result.tokens,
            result.special_mask,
            result.global_positions,
            title=f"Layer {layer_}, head {head_}",
        )

    stem = f"{result.model.key}_L{layer}H{head}".replace("/", "_")
    columns = st.columns(3)
    columns[0].download_button(
        "Scores (CSV)",
        export.table_csv(overview.scores_table(analysis.scores, analysis.roles)),
        file_name="scores.csv",
        mime="text/csv",
        on_click="ignore",
        key="dl_csv",
    )
    columns[0].download_button(
        "Scores and roles (JSON)",
        export.json_bytes(to_json_dict(result, analysis)),
        file_name="analysis.json",
        mime="application/json",
        on_click="ignore",
        key="dl_json",
    )
    columns[1].download_button(
        "Raw attention (NPZ)",
        lambda: (
            export.banded_npz(result.layer_attention, result.tokens, result.special_mask)
            if result.is_banded
            else export.attention_npz(result.attention, result.tokens, result.special_mask)
        ),
        file_name="attention.npz",
        mime="application/octet-stream",
        on_click="ignore",
        key="dl_npz",
    )
    columns[1].download_button(
        "Head heatmap (interactive HTML)",
        lambda: export.figure_html(head_figure(layer, head)),
        file_name=f"{stem}.html",
        mime="text/html",
        on_click="ignore",
        key="dl_html",
    )
    available, reason = image_export_status()
    if not available:
        columns[2].caption(reason)
        return
    for fmt, mime in (("png", "image/png"), ("svg", "image/svg+xml")):
        columns[2].download_button(
            f"Head heatmap ({fmt.upper()})",
            lambda fmt=fmt: export.figure_image(head_figure(layer, head), fmt),
            file_name=f"{stem}.{fmt}",
            mime=mime,
            on_click="ignore",
            key=f"dl_{fmt}",
        )
    columns[2].download_button(
        f"Every head of layer {layer} (ZIP of PNGs)",
        lambda: export.figures_zip(
            {f"layer{layer}_head{h}": head_figure(layer, h) for h in range(1, result.model.heads + 1)}
        ),
        file_name=f"{result.model.key}_layer{layer}.zip".replace("/", "_"),
        mime="application/zip",
        on_click="ignore",
        key="dl_zip",
    )


def explanations_section() -> None:
    st.subheader("What the numbers mean")
    with st.expander("The layer story"):
        st.markdown(help_text.LAYER_STORY)
    with st.expander("Scores"):
        for name in SCORE_NAMES:
            st.markdown(f"**{overview.SCORE_LABELS.get(name, name)}** (`{name}`): {help_text.SCORE_HELP.get(name, '')}")
    with st.expander("Head roles"):
        for role in ROLES:
            st.markdown(f"**{ROLE_LABELS[role]}**: {help_text.ROLE_HELP.get(role, '')}")


# ---------------------------------------------------------------- page


def main() -> None:
    st.set_page_config(page_title="Attention map analysis", layout="wide")
    init_state()
    text, text_b, name, window, exclude_special = inputs()
    try:
        loaded = get_model(name, window)
        result, analysis = choose_globals(loaded, name, window, text, text_b, exclude_special)
    except (InputError, ModelLoadError) as error:
        st.error(str(error))
        share_state(text, st.session_state["model"], None, None)
        explanations_section()
        return

    info = result.model
    st.caption(f"{info.key}: {info.layers} layers × {info.heads} heads, {result.n_tokens} tokens.")
    page = st.session_state.get("page", PAGES[0])
    messages(result, analysis, diagnosis=page == PAGES[0])
    if page == PAGES[0]:
        overview_section(result, analysis)
    clamp_choice("layer", result.model.layers)
    clamp_choice("head", result.model.heads)
    left, right = st.columns(2)
    layer = left.selectbox("Layer", range(1, result.model.layers + 1), key="layer")
    head = right.selectbox("Head", range(1, result.model.heads + 1), key="head")
    if page == PAGES[1]:
        result_key = (name, window, text, text_b, result.global_positions)
        sparse_app.explorer_page(result, result_key, layer, head)
    elif page == PAGES[2]:
        sparse_app.dense_vs_window_page(st.session_state["model"], text, text_b, exclude_special, layer, head)
    else:
        head_section(result, analysis, layer, head)
        grid_section(result, analysis, layer)
        compare_section(result)
        animation_section(result, head)
        bertviz_section(result)
        downloads_section(result, analysis, layer, head)
    explanations_section()
    share_state(text, st.session_state["model"], layer, head)


main()
