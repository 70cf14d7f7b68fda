"""The attention-analysis page: the diagnosis, every head at a glance, one head in detail,
two heads side by side, rollout, the value norms, the bertviz views and the downloads.

The model runs once per input (ui.cache), and both views come from that one run.  Two
switches at the top choose the view (attention weights, or what the heads move) and the
unit (tokens or words); every figure and table below follows them.  Each interactive
section is an `st.fragment`, so switching a layer or head reruns only that section.
"""

from __future__ import annotations

import streamlit as st

from models.analysis import Analysis, to_json_dict
from models.result import AttentionResult
from models.roles import ROLE_LABELS
from models.scores import SCORE_NAMES
from models.sweep import View
from models.views import UNITS, Unit, shown
from ui import common, flow, heads, inputs, state
from viz import explanations as help_text
from viz import export, overview
from viz.bertviz_view import BertvizTooLarge, bertviz_html

BERTVIZ_MAX_HEIGHT = 1600  # px; taller views scroll inside the frame
VIEW_LABELS: dict[View, str] = {"weight": "Attention weight", "norm": "Information moved (norm)"}
UNIT_LABELS: dict[Unit, str] = {"tokens": "Tokens", "words": "Words"}


def page() -> None:
    shared = inputs.current()
    run = common.analysis_or_stop(shared)
    if run is None:
        common.explanations()
        return
    result, analyses = run
    common.model_caption(result)
    common.notices(result)
    view, unit = view_switches(result, analyses)
    analysis = analyses[view]
    try:
        drawn = shown(result, view, unit)
    except ValueError as error:
        st.caption(f"{error} Showing tokens.")
        drawn = shown(result, view, "tokens")
    common.diagnosis_summary(analysis.diagnosis)
    overview_section(analysis)
    heads.head_section(drawn, analysis, shared.figure)
    heads.grid(drawn, analysis, shared.figure)
    heads.animation(drawn, shared.figure)
    heads.compare_section(drawn, shared.figure)
    flow.rollout_section(drawn, shared.run_key, shared.figure)
    flow.value_norms_section(drawn)
    bertviz_section(result)
    data_downloads(result, analysis)
    common.explanations()


def view_switches(result: AttentionResult, analyses: dict[View, Analysis]) -> tuple[View, Unit]:
    """The view and unit every figure below follows (bound to the link)."""
    left, right = st.columns(2)
    views = [view for view in VIEW_LABELS if view in analyses]
    with left:
        view = (
            st.segmented_control(
                "What the figures show",
                views,
                default="weight",
                key="view",
                format_func=VIEW_LABELS.get,
                bind=state.BIND,
                help="Attention weights α, or the share of what each head moves: α·‖f(x)‖.",
            )
            or "weight"
        )
        state.check("view", view, "not a view of this model", shown=VIEW_LABELS.get)
        if len(views) == 1:
            st.caption("This model's family has no value capture, so only the attention weights are shown.")
    with right:
        unit = (
            st.segmented_control(
                "Rows and columns",
                UNITS,
                default="tokens",
                key="unit",
                format_func=UNIT_LABELS.get,
                bind=state.BIND,
                help="Word pieces merged into words: columns summed, rows averaged.",
            )
            or "tokens"
        )
        state.check("unit", unit, shown=UNIT_LABELS.get)
    with st.expander("What the two views mean"):
        st.markdown(help_text.VIEW_HELP)
    return view, unit


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
def bertviz_section(result: AttentionResult) -> None:
    st.subheader("bertviz views")
    if not st.checkbox(
        "Show the interactive bertviz view (hover over tokens to trace attention)", key="bertviz", bind=state.BIND
    ):
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
    st.caption(
        "bertviz numbers layers and heads from 0: its layer 0 is layer 1 here, its head 0 is head 1. "
        "It shows the attention weights (not the norm view) of every token."
    )
    if not offline:
        st.caption("The bertviz scripts are not installed locally, so this view needs internet access to draw.")
    # the model view shrinks itself to the frame's width (viz.bertviz_view), so it never cuts a head off
    height = 140 + 110 * len(result.layer_attention) if view == "model" else 120 + 24 * result.n_tokens
    st.iframe(html, height=min(height, BERTVIZ_MAX_HEIGHT))


def data_downloads(result: AttentionResult, analysis: Analysis) -> None:
    st.subheader("Data downloads")
    columns = st.columns(3)
    columns[0].download_button(
        "Scores (CSV)",
        export.table_csv(overview.scores_table(analysis.scores, analysis.roles)),
        file_name="scores.csv",
        mime="text/csv",
        on_click="ignore",
        key="dl_csv",
        icon=":material/download:",
    )
    columns[1].download_button(
        "Scores and roles (JSON)",
        export.json_bytes(to_json_dict(result, analysis)),
        file_name="analysis.json",
        mime="application/json",
        on_click="ignore",
        key="dl_json",
        icon=":material/download:",
    )
    columns[2].download_button(
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
        icon=":material/download:",
    )
