"""The compare-models page: two models on the same input (say pre-trained and fine-tuned),
head by head when their tokens and shapes agree, layer by layer otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from models.compare import Comparison, to_json_dict
from models.extract import InputError
from models.loading import ModelLoadError
from models.registry import DEFAULT_MODEL, REGISTRY
from models.roles import ROLE_LABELS
from models.sweep import View
from ui import cache, common, inputs, state
from viz import explanations as help_text
from viz import export, heatmaps, overview

FINETUNED_DIR = Path(__file__).resolve().parents[2] / "out" / "minilm-finetuned"  # made by `make finetune`
VIEW_LABELS: dict[View, str] = {"weight": "Attention weight", "norm": "Information moved (norm)"}


def page() -> None:
    shared = inputs.current()
    st.subheader("Compare two models on the same input")
    st.markdown(help_text.COMPARE_HELP)
    if common.show_problems(shared):
        return
    left, right = st.columns(2)
    with left:
        name_a = _model_picker("a", "Model A", shared.model)
    with right:
        name_b = _model_picker("b", "Model B", str(FINETUNED_DIR) if FINETUNED_DIR.is_dir() else DEFAULT_MODEL)
    view = (
        st.segmented_control(
            "What the figures show",
            list(VIEW_LABELS),
            default="weight",
            key="cmp_view",
            format_func=VIEW_LABELS.get,
            bind=state.BIND,
        )
        or "weight"
    )
    try:
        with st.spinner("Running both models…", show_time=True):
            comparison = cache.compare(name_a, name_b, shared.text, shared.text_b, shared.exclude_special, view)
    except (InputError, ModelLoadError, ValueError) as error:
        st.error(str(error))
        return
    _summary(comparison)
    if comparison.aligned:
        _heads(comparison, shared.figure)
    _layers(comparison)
    _downloads(comparison)


def _model_picker(side: str, label: str, default: str) -> str:
    """A registry key, or a local directory that overrides it."""
    keys = list(REGISTRY)
    in_registry = default in REGISTRY
    key = st.selectbox(
        label,
        keys,
        index=keys.index(default) if in_registry else keys.index(DEFAULT_MODEL),
        key=f"cmp_model_{side}",
        bind=state.BIND,
    )
    folder = st.text_input(
        f"…or a local model directory for {label.split()[-1]}",
        key=f"cmp_dir_{side}",
        value="" if in_registry else default,
        placeholder="/path/to/model",
        bind=state.BIND,
    )
    return folder.strip() or key


def _summary(comparison: Comparison) -> None:
    a, b = comparison.result_a.model, comparison.result_b.model
    st.caption(
        f"A: `{a.key}` ({a.layers} × {a.heads}); B: `{b.key}` ({b.layers} × {b.heads}); "
        f"{comparison.result_a.n_tokens} tokens."
    )
    for notice in comparison.notices:
        st.info(notice, icon=":material/info:")
    if comparison.summary:
        st.info("**What changed from A to B**\n\n" + "\n".join(f"- {line}" for line in comparison.summary))
    columns = st.columns(2)
    for column, name, analysis in zip(columns, ("A", "B"), (comparison.analysis_a, comparison.analysis_b)):
        with column:
            st.markdown(f"**Diagnosis of {name}**")
            for item in analysis.diagnosis:
                st.markdown(f"- {item.message}")


def _heads(comparison: Comparison, settings) -> None:
    st.markdown("**The heads that changed most** (mean cosine similarity of their rows, Kovaleva et al. 2019)")
    rows = [
        {
            "layer": c.layer + 1,
            "head": c.head + 1,
            "similarity": round(c.similarity, 3),
            "role in A": ROLE_LABELS[c.role_before],
            "role in B": ROLE_LABELS[c.role_after],
            **{f"{name} A→B": f"{c.before[name]:.2f} → {c.after[name]:.2f}" for name in ("cls", "sep", "diagonal")},
        }
        for c in comparison.changed
    ]
    st.dataframe(rows, hide_index=True)
    left, right = st.columns(2)
    with left:
        common.show(overview.score_heatmap(comparison.similarity, "similarity"), "cmp_similarity", sized=False)
    with right:
        score = st.selectbox("Score difference (B − A)", list(comparison.diff), key="cmp_score", bind=state.BIND)
        common.show(overview.difference_heatmap(comparison.diff[score], score), "cmp_diff", sized=False)
    _head_maps(comparison, settings)


@st.fragment
def _head_maps(comparison: Comparison, settings) -> None:
    result_a, result_b = comparison.result_a, comparison.result_b
    first = comparison.changed[0] if comparison.changed else None
    layer, head = common.layer_head_picker(result_a.model.layers, result_a.model.heads, prefix="cmp_")
    if first is not None:
        st.caption(f"The head that changed most is layer {first.layer + 1}, head {first.head + 1}.")
    n = result_a.n_tokens

    def make():
        a = np.asarray(cache.view_head(result_a, comparison.analysis_a.view, layer - 1, head - 1))[:n, :n]
        b = np.asarray(cache.view_head(result_b, comparison.analysis_b.view, layer - 1, head - 1))[:n, :n]
        return heatmaps.compare_heads(
            a,
            b,
            result_a.tokens,
            f"A: L{layer} H{head}",
            f"B: L{layer} H{head}",
            settings=settings,
            title=f"Layer {layer}, head {head}: A vs B",
        )

    common.show(make(), "cmp_heads")
    common.figure_downloads(make, f"compare_L{layer}H{head}", settings, "cmp_dl_heads")


def _layers(comparison: Comparison) -> None:
    st.markdown("**Layer by layer** (where each layer's attention goes, A then B)")
    layers = comparison.layers
    left, right = st.columns(2)
    for column, name, partition in zip((left, right), ("A", "B"), (layers.partition_a, layers.partition_b)):
        with column:
            fig = overview.partition_bar(partition)  # [L, 4]
            fig.update_layout(title=f"{name}: where each layer's attention goes")
            common.show(fig, f"cmp_partition_{name}", sized=False)


def _downloads(comparison: Comparison) -> None:
    with st.container(horizontal=True):
        st.download_button(
            "Comparison (JSON)",
            lambda: export.json_bytes(to_json_dict(comparison)),
            file_name="comparison.json",
            mime="application/json",
            on_click="ignore",
            key="cmp_dl_json",
            icon=":material/download:",
        )
        if comparison.aligned:
            table = {"layer": [], "head": [], "similarity": []}
            for layer, row in enumerate(comparison.similarity):
                for head, value in enumerate(row):
                    table["layer"].append(layer + 1)
                    table["head"].append(head + 1)
                    table["similarity"].append(round(float(value), 6))
            st.download_button(
                "Head similarity (CSV)",
                export.table_csv(table),
                file_name="similarity.csv",
                mime="text/csv",
                on_click="ignore",
                key="cmp_dl_csv",
                icon=":material/download:",
            )
