"""The attention-analysis page: the diagnosis, every head at a glance, one head in detail,
two heads side by side, rollout, the value norms, the bertviz views and the downloads.

The model runs once per input (ui.cache), and both views come from that one run.  Two
switches at the top choose the view (attention weights, or what the heads move) and the
unit (tokens or words); every figure and table below follows them.  Each interactive
section is an `st.fragment`, so switching a layer or head reruns only that section.

The two switches and the score picker show their identifiers (`weight`/`norm`,
`tokens`/`words`, `cls`, `entropy`, …), which is what they write into the link, so a
link opens the same view in either language; the meaning is written beside them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from i18n import N_, _, message_of
from models.result import AttentionResult
from models.score.analysis import Analysis, to_json_dict
from models.score.roles import ROLE_LABELS
from models.score.scores import SCORE_NAMES
from models.score.sweep import View
from models.score.views import UNITS, Shown, Unit, shown
from ui import common, flow, heads, inputs, mixing, state
from viz import explanations as help_text
from viz import export, overview
from viz.bertviz_view import BertvizTooLarge, bertviz_html

# what links written before the switches showed identifiers hold: label → identifier
LEGACY_VIEW_LABELS = {"Attention weight": "weight", "Information moved (norm)": "norm"}
LEGACY_UNIT_LABELS = {"Tokens": "tokens", "Words": "words"}
VIEW_MEANINGS: dict[View, str] = {
    "weight": N_("attention weights α, as the softmax assigns them"),
    "norm": N_("the share of what each head moves from each key, α·‖f(x)‖"),
}
UNIT_MEANINGS: dict[Unit, str] = {
    "tokens": N_("one row and column per token"),
    "words": N_("word pieces merged into words"),
}
BERTVIZ_VIEWS = {"head": N_("one layer's heads, token by token"), "model": N_("every layer and head, small")}
ROLE_SHARES = N_("Share of each layer's heads in each role")


def english_aliases(labels: dict[str, str]) -> dict[str, str]:
    """English label (a LazyText's value) → identifier: what links written before the
    identifiers held."""
    return {str.__str__(label): key for key, label in labels.items()}


def meaning(key: str, meanings: dict[str, str]) -> str:
    """`key`: its meaning, one line under a switch that shows identifiers."""
    return f"`{key}`: {meanings[key]}"


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
        st.caption(str(N_("{error} Showing tokens.").format(error=message_of(error))))
        drawn = shown(result, view, "tokens")
    common.diagnosis_summary(analysis.diagnosis)
    overview_section(analysis)
    heads.head_section(drawn, analysis, shared.figure)
    heads.grid(drawn, analysis, shared.figure)
    heads.animation(drawn, shared.figure)
    heads.compare_section(drawn, shared.figure)
    flow.rollout_section(drawn, shared.run_key, shared.figure)
    flow.value_norms_section(drawn)
    mixing.mixing_section(shared, drawn)
    bertviz_section(result)
    data_downloads(drawn, analysis)
    common.explanations()


def view_switches(result: AttentionResult, analyses: dict[View, Analysis]) -> tuple[View, Unit]:
    """The view and unit every figure below follows (bound to the link)."""
    left, right = st.columns(2)
    views = [view for view in VIEW_MEANINGS if view in analyses]
    with left:
        view = view_switch("view", views)
        state.check("view", view, N_("not a view of this model"))
        st.caption(meaning(view, VIEW_MEANINGS))
        if len(views) == 1:
            st.caption(_("This model's family has no value capture, so only the attention weights are shown."))
    with right:
        unit = identifier_switch(
            "unit",
            _("Rows and columns"),
            UNITS,
            "tokens",
            LEGACY_UNIT_LABELS,
            _("Word pieces merged into words: columns summed, rows averaged."),
        )
        state.check("unit", unit)
        st.caption(meaning(unit, UNIT_MEANINGS))
    with st.expander(_("What the two views mean")):
        st.markdown(str(help_text.VIEW_HELP))
    return view, unit


def view_switch(key: str, views: Sequence[View]) -> View:
    """The weight/norm switch, bound to the link as `key`."""
    return identifier_switch(
        key,
        _("What the figures show"),
        views,
        "weight",
        LEGACY_VIEW_LABELS,
        _("Attention weights α (weight), or the share of what each head moves: α·‖f(x)‖ (norm)."),
    )


def identifier_switch(
    key: str, label: str, options: Sequence[str], default: str, aliases: dict[str, str], hint: str
) -> str:
    """A segmented control that shows identifiers, bound to the link as `key`, with `hint` as
    its help: the label an older link wrote (`aliases`) is adopted first, and no selection
    falls back to `default`."""
    state.adopt_aliases(key, aliases)
    return st.segmented_control(label, options, default=default, key=key, bind=state.BIND, help=hint) or default


def score_picker(key: str) -> str:
    """A score by its identifier (the link holds `score=entropy` in every language), with
    every score's meaning in the help and the chosen one's under it."""
    state.adopt_aliases(key, english_aliases(overview.SCORE_LABELS))
    score = st.selectbox(
        _("Score"),
        SCORE_NAMES,
        key=key,
        bind=state.BIND,
        help="\n".join(f"- {meaning(name, overview.SCORE_LABELS)}" for name in SCORE_NAMES),
    )
    state.check(key, score)
    st.caption(meaning(score, overview.SCORE_LABELS))
    return score


@st.fragment
def overview_section(analysis: Analysis) -> None:
    st.subheader(_("Every layer and head at a glance"))
    left, right = st.columns(2)
    with left:
        score = score_picker("score")
        common.show(
            overview.score_heatmap(analysis.scores[score], score, analysis.roles),
            "score_chart",
            sized=False,
            stem=f"overview_{score}_{analysis.view}",
        )
    with right:
        common.show(
            overview.partition_bar(analysis.layer_partition),
            "partition_chart",
            sized=False,
            stem=f"partition_{analysis.view}",
        )
    st.caption(str(help_text.PART_HELP))
    st.markdown(f"**{ROLE_SHARES}**")
    st.dataframe(
        overview.role_share_table(analysis.layer_roles),
        hide_index=True,
        column_config={str(label): st.column_config.NumberColumn(format="%d%%") for label in ROLE_LABELS.values()},
    )


@st.fragment
def bertviz_section(result: AttentionResult) -> None:
    st.subheader(_("bertviz views"))
    if not st.checkbox(
        _("Show the interactive bertviz view (hover over tokens to trace attention)"), key="bertviz", bind=state.BIND
    ):
        return
    view = st.radio(
        _("View"),
        tuple(BERTVIZ_VIEWS),
        key="bertviz_view",
        horizontal=True,
        captions=[str(caption) for caption in BERTVIZ_VIEWS.values()],
        bind=state.BIND,
    )
    second = [i for i, segment in enumerate(result.segment_ids) if segment == 1]
    try:
        html, offline = bertviz_html(
            result.layer_attention, result.tokens, view=view, sentence_b_start=second[0] if second else None
        )
    except BertvizTooLarge as error:
        st.info(str(error))
        return
    st.caption(
        _(
            "bertviz numbers layers and heads from 0: its layer 0 is layer 1 here, its head 0 is head 1. "
            "It shows the attention weights (not the norm view) of every token."
        )
    )
    if not offline:
        st.caption(_("The bertviz scripts are not installed locally, so this view needs internet access to draw."))
    # the model view shrinks itself to the frame's width (viz.bertviz_view), so it never cuts a
    # head off; the frame takes the height its content has once drawn, so nothing is cut below
    st.iframe(html, height="content")


def data_downloads(drawn: Shown, analysis: Analysis) -> None:
    """The scores (CSV, with the view they were measured in), the scores and roles (JSON) and
    the matrices of the view shown (NPZ), in files named after the model, view, unit and text."""
    result = drawn.result
    st.subheader(_("Data downloads"))
    stem = common.file_stem(f"{drawn.view}_{drawn.unit}", of_text=False)
    stem = f"{stem}_{common.text_slug(inputs.current().text)}".rstrip("_")
    table = {"view": [], **overview.scores_table(analysis.scores, analysis.roles)}
    table["view"] = [analysis.view] * len(table["layer"])
    columns = st.columns(3)
    with columns[0]:
        common.data_download(_("Scores (CSV)"), export.table_csv(table), f"{stem}_scores.csv", "dl_csv")
    with columns[1]:
        common.data_download(
            _("Scores and roles (JSON)"),
            export.json_bytes(to_json_dict(result, analysis)),
            f"{stem}_analysis.json",
            "dl_json",
        )
    with columns[2]:
        common.data_download(
            _("Raw attention (NPZ)") if drawn.view == "weight" else _("Norm-view matrices (NPZ)"),
            lambda: view_npz(drawn),
            f"{stem}_{drawn.view}.npz",
            "dl_npz",
            _("The matrices of the view shown, every layer and head, with the labels; `view` says which."),
        )


def view_npz(drawn: Shown) -> bytes:
    """NPZ bytes of every layer and head in the shown view and unit: `attention` [L, H, M, M]
    (the weights α, or the norm view's row-normalised α·‖f(x)‖), `tokens` [M] (words for the
    words unit), `special_mask` [M], `view` and `unit`; a banded result stays banded."""
    result = drawn.result
    layers = range(result.model.layers)
    extra = {"view": drawn.view, "unit": drawn.unit}
    if result.is_banded:
        return export.banded_npz([drawn.layer(i) for i in layers], drawn.labels, drawn.special_mask, **extra)
    matrices = np.stack([drawn.heads(i) for i in layers]) if drawn.view != "weight" or drawn.words is not None else None
    return export.attention_npz(
        result.attention if matrices is None else matrices, drawn.labels, drawn.special_mask, **extra
    )
