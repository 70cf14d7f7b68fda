"""The compare-models page: two models on the same input (say pre-trained and fine-tuned),
head by head when their tokens and shapes agree, layer by layer otherwise; and, optionally,
the same over a corpus (ui/pages/compare_corpus.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from i18n import N_, _
from models.compare.heads import Comparison, to_json_dict
from models.extract.attention import InputError
from models.load.loading import ModelLoadError
from models.load.registry import DEFAULT_MODEL, REGISTRY
from models.score.sweep import View
from ui import cache, common, inputs, state
from ui.heads import SHORT_HEAD
from ui.pages import compare_corpus
from ui.pages.analysis import VIEW_MEANINGS, meaning, view_switch
from viz import explanations as help_text
from viz import export, heatmaps, overview

FINETUNED_DIR = Path(__file__).resolve().parents[2] / "out" / "minilm-finetuned"  # made by `make finetune`
VIEWS: tuple[View, ...] = ("weight", "norm")
WHAT_CHANGED = N_("What changed from A to B")
DIAGNOSIS_OF = N_("Diagnosis of {name}")


def page() -> None:
    shared = inputs.current()
    st.subheader(_("Compare two models on the same input"))
    st.markdown(str(help_text.COMPARE_HELP))
    if common.show_problems(shared):
        return
    left, right = st.columns(2)
    with left:
        name_a = _model_picker("a", shared.model)
    with right:
        name_b = _model_picker("b", str(FINETUNED_DIR) if FINETUNED_DIR.is_dir() else DEFAULT_MODEL)
    view = view_switch("cmp_view", VIEWS)
    st.caption(meaning(view, VIEW_MEANINGS))
    try:
        with st.spinner(_("Running both models…"), show_time=True):
            comparison = cache.compare(name_a, name_b, shared.text, shared.text_b, shared.exclude_special, view)
    except (InputError, ModelLoadError, ValueError) as error:
        st.error(str(error))
        return
    _summary(comparison)
    if comparison.aligned:
        _heads(comparison, shared.figure)
    _layers(comparison)
    _downloads(comparison)
    compare_corpus.section(name_a, name_b, shared.exclude_special, view)


def _model_picker(side: str, default: str) -> str:
    """A registry key, or a local directory that overrides it."""
    keys = list(REGISTRY)
    in_registry = default in REGISTRY
    key = st.selectbox(
        str(N_("Model {side}").format(side=side.upper())),
        keys,
        index=keys.index(default) if in_registry else keys.index(DEFAULT_MODEL),
        key=f"cmp_model_{side}",
        bind=state.BIND,
    )
    folder = st.text_input(
        str(N_("…or a local model directory for {side}").format(side=side.upper())),
        key=f"cmp_dir_{side}",
        value="" if in_registry else default,
        placeholder="/path/to/model",
        bind=state.BIND,
    )
    return folder.strip() or key


def _summary(comparison: Comparison) -> None:
    a, b = comparison.result_a.model, comparison.result_b.model
    caption = N_(
        "A: `{key_a}` ({layers_a} × {heads_a}); B: `{key_b}` ({layers_b} × {heads_b}); {tokens} tokens."
    ).format(
        key_a=a.key,
        layers_a=a.layers,
        heads_a=a.heads,
        key_b=b.key,
        layers_b=b.layers,
        heads_b=b.heads,
        tokens=comparison.result_a.n_tokens,
    )
    st.caption(str(caption))
    common.notices(comparison.result_a, prefix="A: ")
    common.notices(comparison.result_b, prefix="B: ")
    for notice in comparison.notices:
        st.info(str(notice), icon=":material/info:")
    if comparison.summary:
        st.info(f"**{WHAT_CHANGED}**\n\n" + "\n".join(f"- {line}" for line in comparison.summary))
    columns = st.columns(2)
    for column, name, analysis in zip(columns, ("A", "B"), (comparison.analysis_a, comparison.analysis_b)):
        with column:
            st.markdown(f"**{DIAGNOSIS_OF.format(name=name)}**")
            for item in analysis.diagnosis:
                st.markdown(f"- {item.message}")


def _heads(comparison: Comparison, settings) -> None:
    st.markdown(_("**The heads that changed most** (mean cosine similarity of their rows, Kovaleva et al. 2019)"))
    st.dataframe(compare_corpus.changed_head_rows(comparison.changed), hide_index=True)
    left, right = st.columns(2)
    with left:
        common.show(
            overview.score_heatmap(comparison.similarity, "similarity"),
            "cmp_similarity",
            sized=False,
            stem="similarity",
        )
    with right:
        score = st.selectbox(_("Score difference (B − A)"), list(comparison.diff), key="cmp_score", bind=state.BIND)
        st.caption(f"`{score}`: {overview.score_label(score)}")
        common.show(
            overview.difference_heatmap(comparison.diff[score], score), "cmp_diff", sized=False, stem=f"diff_{score}"
        )
    _head_maps(comparison, settings)


@st.fragment
def _head_maps(comparison: Comparison, settings) -> None:
    result_a, result_b = comparison.result_a, comparison.result_b
    first = comparison.changed[0] if comparison.changed else None
    layer, head = common.layer_head_picker(result_a.model.layers, result_a.model.heads, prefix="cmp_")
    if first is not None:
        st.caption(
            str(
                N_("The head that changed most is layer {layer}, head {head}.").format(
                    layer=first.layer + 1, head=first.head + 1
                )
            )
        )
    n = result_a.n_tokens

    def make():
        a = np.asarray(cache.view_head(result_a, comparison.analysis_a.view, layer - 1, head - 1))[:n, :n]
        b = np.asarray(cache.view_head(result_b, comparison.analysis_b.view, layer - 1, head - 1))[:n, :n]
        return heatmaps.compare_heads(
            a,
            b,
            result_a.tokens,
            f"A: {SHORT_HEAD.format(layer=layer, head=head)}",
            f"B: {SHORT_HEAD.format(layer=layer, head=head)}",
            settings=settings,
            title=str(N_("Layer {layer}, head {head}: A vs B").format(layer=layer, head=head)),
        )

    common.show(make(), "cmp_heads")
    common.figure_downloads(make, f"compare_L{layer}H{head}", settings, "cmp_dl_heads")


def _layers(comparison: Comparison) -> None:
    st.markdown(_("**Layer by layer** (where each layer's attention goes, A then B)"))
    compare_corpus.partition_pair(comparison.layers, "cmp_partition", "partition")


def _downloads(comparison: Comparison) -> None:
    """The comparison (JSON) and the head similarity (CSV, with the view compared), in files
    named after both models, the view and the text."""
    view = comparison.analysis_a.view
    models = "-vs-".join(
        result.model.key.rstrip("/").rsplit("/", 1)[-1] for result in (comparison.result_a, comparison.result_b)
    )
    stem = "_".join(part for part in (models, view, common.text_slug(inputs.current().text)) if part)
    with st.container(horizontal=True):
        common.data_download(
            _("Comparison (JSON)"),
            lambda: export.json_bytes(to_json_dict(comparison)),
            f"{stem}_comparison.json",
            "cmp_dl_json",
        )
        if comparison.aligned:
            table = {"view": [], "layer": [], "head": [], "similarity": []}
            for layer, row in enumerate(comparison.similarity):
                for head, value in enumerate(row):
                    table["view"].append(view)
                    table["layer"].append(layer + 1)
                    table["head"].append(head + 1)
                    table["similarity"].append(round(float(value), 6))
            common.data_download(
                _("Head similarity (CSV)"),
                export.table_csv(table),
                f"{stem}_similarity.csv",
                "cmp_dl_csv",
            )
