"""Streamlit pages of the sparse-attention side: the pattern explorer and dense vs window.

Imported by app.py, which owns the page, the inputs and the model run; like app.py this
file only wires widgets to models/ and viz/ and holds no logic of its own.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from models import sparse
from models.dense_vs_sparse import SWEEP_WINDOWS, as_longformer, window_sweep
from models.extract import InputError, extract
from models.loading import LoadedModel, ModelLoadError, load_model
from models.registry import REGISTRY
from models.result import AttentionResult
from models.roles import ROLE_LABELS, ROLES
from viz import explanations as help_text
from viz import export, heatmaps, window_sweep as sweep_figures
from viz import sparse as sparse_figures
from viz.labels import token_labels

HUB_PATTERNS = ("global", "longformer", "bigbird")
EXPLORER_MAX_TOKENS = 512  # masks and coverage compare N×N matrices with the dense attention
COMPARE_MAX_TOKENS = 256  # three token-level heatmaps stay under 5 MB of plotly JSON
PATTERN_LABELS: dict[str, str] = {
    "local": "local window",
    "dilated": "dilated window",
    "global": "global tokens only",
    "longformer": "Longformer (window + global)",
    "bigbird": "BigBird (window + global + random blocks)",
    "lsh": "LSH buckets (Reformer)",
    "topk": "top-k of the real attention (learned-sparsity yardstick)",
}


# ---------------------------------------------------------------- caching


@st.cache_resource(max_entries=8, show_spinner="Measuring every sparse pattern…")
def explore_all(
    _result: AttentionResult, result_key: tuple, params: sparse.PatternParams, share: float
) -> dict[str, sparse.PatternReport]:
    """Every pattern's report for one result (`result_key` identifies `_result` for the cache)."""
    return {
        pattern: sparse.explore(
            _result.layer_attention, pattern, params, share, queries=_result.queries, keys=_result.keys
        )
        for pattern in sparse.PATTERNS
    }


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def dense_model(name: str) -> LoadedModel:
    return load_model(name)


@st.cache_resource(max_entries=8, show_spinner="Running the sentence under the window…")
def windowed_run(name: str, window: int, text: str, text_b: str | None) -> AttentionResult:
    """`text` through `name`'s BERT weights under Longformer attention with `window`."""
    return extract(as_longformer(dense_model(name), window), text, text_b, banded=False)


@st.cache_resource(max_entries=8, show_spinner=f"Running the sentence densely and under {len(SWEEP_WINDOWS)} windows…")
def sweep(name: str, text: str, text_b: str | None, exclude_special: bool):
    """(points, dense result): the dense run and one summary per window of SWEEP_WINDOWS."""
    return window_sweep(dense_model(name), text, text_b, SWEEP_WINDOWS, exclude_special=exclude_special)


# ---------------------------------------------------------------- explorer


def _global_picker(result: AttentionResult, key: str) -> tuple[int, ...]:
    labels = token_labels(result.tokens)
    state = st.session_state
    if key not in state or any(label not in labels for label in state[key]):
        state[key] = [labels[p] for p in (result.global_positions or result.cls_positions[:1] or (0,))]
    chosen = st.multiselect("Global (hub) tokens", labels, key=key, help="Click to add or remove tokens.")
    if not chosen:
        st.caption("No hub token chosen: the global pattern allows no pair at all.")
    return tuple(sorted(labels.index(label) for label in chosen))


def _params(result: AttentionResult) -> tuple[sparse.PatternParams, float]:
    n = result.n_tokens
    columns = st.columns(4)
    window = columns[0].number_input("Window W (W/2 each side)", 0, 2 * n, min(8, 2 * (n // 2)), 2, key="sp_window")
    dilation = columns[0].number_input("Dilation d", 1, 16, 2, key="sp_dilation")
    with columns[1]:
        globals_ = _global_picker(result, "sp_globals")
    block = columns[2].number_input("BigBird block size b", 1, max(1, n), min(4, n), key="sp_block")
    random_blocks = columns[2].number_input("BigBird random blocks r", 0, 64, 2, key="sp_random")
    buckets = columns[3].number_input("LSH buckets (even)", 2, 256, 8, 2, key="sp_buckets")
    topk = columns[3].number_input("Top-k keys per query", 1, max(1, n), min(8, n), key="sp_topk")
    seed = columns[1].number_input("Random seed", 0, 2**31 - 1, 0, key="sp_seed")
    share = columns[1].slider("Share of attention to keep", 0.5, 0.99, 0.9, 0.01, key="sp_share")
    window, buckets = _even(int(window), "window"), _even(int(buckets), "number of LSH buckets")
    params = sparse.PatternParams(
        window=window, dilation=int(dilation), global_positions=globals_, block=int(block),
        random_blocks=int(random_blocks), buckets=buckets, topk=int(topk), seed=int(seed),
    )
    return params, float(share)


def _even(value: int, what: str) -> int:
    """Round a typed odd value down to even, and say so (the patterns need even values)."""
    if value % 2 == 0:
        return value
    st.caption(f"The {what} must be even, so {value - 1} is used instead of {value}.")
    return value - 1


def _summary_rows(reports: dict[str, sparse.PatternReport]) -> dict[str, list]:
    table: dict[str, list] = {key: [] for key in (
        "pattern", "density", "scores computed", "of N²", "complexity", "coverage", "top-k at same density", "reach ≤ 2 hops"
    )}
    for pattern, report in reports.items():
        table["pattern"].append(PATTERN_LABELS[pattern])
        table["density"].append(round(report.density, 3))
        table["scores computed"].append(report.computed)
        table["of N²"].append(report.n * report.n)
        table["complexity"].append(report.complexity)
        table["coverage"].append(round(float(report.coverage.mean()), 3))
        table["top-k at same density"].append(round(float(report.oracle.mean()), 3))
        reach = sparse.reach_summary(report.hops)["two_hops"] if report.hops is not None else None
        table["reach ≤ 2 hops"].append(f"{reach:.0%}" if reach is not None else "per head")
    return table


def explorer_page(result: AttentionResult, result_key: tuple, layer: int, head: int) -> None:
    st.subheader("Sparse attention patterns on your sentence")
    with st.expander("What these patterns are", expanded=False):
        st.markdown(help_text.SPARSE_HELP)
    if result.is_banded or result.n_tokens > EXPLORER_MAX_TOKENS:
        st.info(
            f"The explorer compares N×N masks with the model's dense attention, so it runs on inputs of up to "
            f"{EXPLORER_MAX_TOKENS} tokens; this one has {result.n_tokens}. Paste a shorter passage to explore it."
        )
        return
    params, share = _params(result)
    try:
        reports = explore_all(result, result_key, params, share)
    except ValueError as error:
        st.error(str(error))
        return
    st.markdown(
        "**Every pattern at a glance.** *Coverage* is the share of the model's real attention that the pattern "
        "keeps, averaged over layers, heads and queries; *top-k at same density* keeps the model's own "
        "largest weights with the same number of keys in every row: no pattern with that many keys per "
        "query can keep more."
    )
    table = _summary_rows(reports)
    st.dataframe(table, hide_index=True)
    st.caption("LSH and top-k masks differ per layer and head, so their reach is not one number.")
    st.plotly_chart(
        sparse_figures.coverage_curves(
            {PATTERN_LABELS[p]: r.layer_coverage for p, r in reports.items()},
            {PATTERN_LABELS[p]: r.oracle.mean(axis=1) for p, r in reports.items() if p != "topk"},
        ),
        key="sp_curves",
    )

    pattern = st.selectbox("Look closer at one pattern", sparse.PATTERNS, key="sp_pattern",
                           format_func=lambda p: PATTERN_LABELS[p])
    report = reports[pattern]
    mask = report.mask if report.mask.ndim == 2 else report.mask[layer - 1, head - 1]
    where = "" if report.mask.ndim == 2 else f" (layer {layer}, head {head}: it differs per head)"
    left, right = st.columns(2)
    with left:
        hubs = params.global_positions if pattern in HUB_PATTERNS else ()
        mask_fig = sparse_figures.mask_figure(mask, result.tokens, hubs, title=f"{PATTERN_LABELS[pattern]}{where}")
        st.plotly_chart(mask_fig, key="sp_mask")
    with right:
        coverage_fig = sparse_figures.coverage_heatmap(report.coverage, title=f"Coverage of {PATTERN_LABELS[pattern]}")
        st.plotly_chart(coverage_fig, key="sp_coverage")
    left, right = st.columns(2)
    with left:
        if report.hops is not None:
            st.plotly_chart(
                sparse_figures.reachability_figure(report.hops, result.tokens, title="Who reaches whom"),
                key="sp_reach",
            )
            summary = sparse.reach_summary(report.hops)
            story = (
                " With hub tokens every pair connects in two steps: any token reaches a hub, and the hub reaches everyone."
                if pattern in HUB_PATTERNS and params.global_positions
                else " Without hub tokens, far-apart tokens need many layers to reach each other."
            )
            st.caption(
                f"{summary['one_hop']:.0%} of token pairs are connected directly, {summary['two_hops']:.0%} within two hops."
                + story
            )
        else:
            st.caption("This pattern differs per head, so reachability is not drawn for it.")
    with right:
        st.plotly_chart(sparse_figures.min_window_figure(report.min_window, result.n_tokens, share), key="sp_minwin")
    stem = f"{pattern}_{result.model.key}".replace("/", "_")
    columns = st.columns(4)
    columns[0].download_button(
        "Coverage table (CSV)",
        lambda: export.table_csv(_coverage_table(report)),
        file_name=f"coverage_{stem}.csv", mime="text/csv", on_click="ignore", key="sp_dl_csv",
    )
    columns[1].download_button(
        "Mask (NPZ)",
        lambda: export.arrays_npz(mask=report.mask, coverage=report.coverage, tokens=np.asarray(result.tokens)),
        file_name=f"mask_{stem}.npz", mime="application/octet-stream", on_click="ignore", key="sp_dl_npz",
    )
    columns[2].download_button(
        "Mask (interactive HTML)",
        lambda: export.figure_html(mask_fig),
        file_name=f"mask_{stem}.html", mime="text/html", on_click="ignore", key="sp_dl_html",
    )
    available, reason = export.image_export_available()
    if available:
        columns[3].download_button(
            "Mask (PNG)",
            lambda: export.figure_image(mask_fig, "png"),
            file_name=f"mask_{stem}.png", mime="image/png", on_click="ignore", key="sp_dl_png",
        )
    else:
        columns[3].caption(reason)


def _coverage_table(report: sparse.PatternReport) -> dict[str, list]:
    n_layers, n_heads = report.coverage.shape
    return {
        "layer": [layer + 1 for layer in range(n_layers) for _ in range(n_heads)],
        "head": [head + 1 for _ in range(n_layers) for head in range(n_heads)],
        "coverage": [round(float(v), 6) for v in report.coverage.ravel()],
        "topk_same_density": [round(float(v), 6) for v in report.oracle.ravel()],
    }


# ---------------------------------------------------------------- dense vs window


def dense_name(model: str) -> str | None:
    """The BERT model whose weights the comparison uses (minilm-longformer shares minilm's)."""
    if model == "minilm-longformer":
        return "minilm"
    spec = REGISTRY.get(model)
    return model if spec is not None and spec.family == "bert" else None


def dense_vs_window_page(model: str, text: str, text_b: str | None, exclude_special: bool, layer: int, head: int) -> None:
    st.subheader("Dense vs Longformer window, same weights")
    st.markdown(help_text.DENSE_VS_WINDOW_HELP)
    name = dense_name(model)
    if name is None:
        st.info("This comparison converts a BERT model's weights to Longformer attention; choose `minilm` "
                "(or `minilm-longformer`, which shares its weights) in the sidebar.")
        return
    window = int(st.select_slider("Window", options=SWEEP_WINDOWS, value=8, key="dv_window"))
    try:
        points, dense = sweep(name, text, text_b, exclude_special)
        windowed = windowed_run(name, window, text, text_b)
    except (InputError, ModelLoadError, ValueError) as error:
        st.error(str(error))
        return
    for notice in dense.notices:
        st.info(f"Dense model: {notice}")
    st.caption(
        f"This page runs `{name}` densely and under its own window slider (4 to 64); the sidebar's "
        "window applies to the other pages."
    )
    if dense.n_tokens > COMPARE_MAX_TOKENS:
        st.info(f"The heatmaps show the first {COMPARE_MAX_TOKENS} tokens; the sweep uses all {dense.n_tokens}.")
    n = min(dense.n_tokens, COMPARE_MAX_TOKENS)
    fig = heatmaps.compare_heads(
        dense.layer_attention[layer - 1][head - 1][:n, :n],
        windowed.layer_attention[layer - 1][head - 1][:n, :n],
        dense.tokens[:n],
        f"dense L{layer} H{head}",
        f"window {window} L{layer} H{head}",
    )
    st.plotly_chart(fig, key="dv_compare")
    # dense first, then the widest window: read left to right as the window shrinks
    ordered = (points[0],) + tuple(sorted(points[1:], key=lambda p: -p.window))
    labels = ["dense"] + [str(p.window) for p in ordered[1:]]
    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            sweep_figures.score_lines(labels, {s: [p.layer_scores[s].mean() for p in ordered] for s in ("cls", "sep", "diagonal", "entropy")}),
            key="dv_scores",
        )
    with right:
        st.plotly_chart(
            sweep_figures.role_bars(labels, np.stack([p.layer_roles.mean(axis=0) for p in ordered])),
            key="dv_roles",
        )
    st.plotly_chart(sweep_figures.moved_heatmap(labels, np.stack([p.moved.mean(axis=1) for p in ordered])), key="dv_moved")
    dense_roles = ordered[0].layer_roles.mean(axis=0)
    narrow = ordered[-1]
    changes = [f"{ROLE_LABELS[role]}: {dense_roles[k]:.0%} → {narrow.layer_roles.mean(axis=0)[k]:.0%}"
               for k, role in enumerate(ROLES) if abs(dense_roles[k] - narrow.layer_roles.mean(axis=0)[k]) >= 0.01]
    if changes:
        st.caption(f"Role shares, dense → window {narrow.window}: " + "; ".join(changes) + ".")
