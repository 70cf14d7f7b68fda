"""Sections of the analysis page about what flows where: attention rollout (Abnar &
Zuidema 2020) and the size of each token's value vectors (Kobayashi et al. 2020)."""

from __future__ import annotations

import streamlit as st

from models.views import Shown
from ui import cache, common, state
from viz import explanations as help_text
from viz import flow, heatmaps
from viz.figures import VIEW_NOTES
from viz.layout import FigureSettings


@st.fragment
def rollout_section(shown: Shown, run_key: tuple, settings: FigureSettings) -> None:
    result = shown.result
    st.subheader("Attention rollout: where each token's representation comes from")
    st.caption(help_text.ROLLOUT_HELP)
    n_layers = result.model.layers
    labels = [f"{i}·{label}" for i, label in enumerate(shown.labels)]
    first_cls = next((i for i, special in enumerate(shown.special_mask) if special), 0)
    left, right = st.columns(2)
    query = left.selectbox(
        "Token",
        range(shown.size),
        index=first_cls,
        format_func=labels.__getitem__,
        key="rollout_token",
        bind=state.BIND,
    )
    layer = right.selectbox(
        "After layer", range(1, n_layers + 1), index=n_layers - 1, key="rollout_layer", bind=state.BIND
    )
    state.check("rollout_token", query, "not a position of this input")
    state.check("rollout_layer", layer, f"this model has layers 1–{n_layers}")
    with st.spinner("Multiplying the layers through…"):
        rows = cache.rollout_rows(shown.result, run_key, shown.view, shown.unit, query)  # [L, M]
    common.show(
        flow.rollout_bars(
            rows[layer - 1], shown.labels, shown.special_mask, labels[query], layer, VIEW_NOTES[shown.view]
        ),
        "rollout_bars",
        sized=False,
    )
    if result.is_banded:
        st.caption(
            "This long input stays banded, so the rollout follows the chosen token's row only "
            "(never an N×N matrix); the full map is drawn for inputs up to 512 tokens."
        )
        return
    matrices = cache.rollout_matrices(shown.result, run_key, shown.view, shown.unit)  # [L, M, M]

    def make():
        return heatmaps.head_heatmap(
            matrices[layer - 1],
            shown.labels,
            shown.special_mask,
            shown.global_positions,
            title=f"Rollout after layer {layer}",
            settings=settings,
            note=VIEW_NOTES[shown.view],
            colour_title="share",
        )

    common.show(make(), "rollout_chart")
    common.figure_downloads(
        make, f"{result.model.key}_rollout_L{layer}_{shown.view}_{shown.unit}", settings, "dl_rollout"
    )


def value_norms_section(shown: Shown) -> None:
    st.subheader("How much each token can move: ‖f(x)‖")
    if shown.result.value_norms is None:
        st.info("This model's family has no value capture, so the norm view and this figure are not available.")
        return
    st.caption(help_text.VALUE_NORMS_HELP)
    common.show(flow.value_norm_heatmap(shown.value_norms, shown.labels), "value_norms_chart", sized=False)
