"""Pieces every page uses: the model run with its errors, notices, the layer/head picker,
figure display and figure downloads, and the explanations."""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

from models.analysis import Analysis
from models.extract import InputError
from models.loading import ModelLoadError
from models.result import AttentionResult
from models.roles import ROLE_LABELS, ROLES, Diagnosis
from models.scores import SCORE_NAMES
from models.sweep import View
from ui import cache, state
from ui.inputs import Inputs
from viz import explanations as help_text
from viz import export, overview
from viz.layout import FigureSettings

IMAGE_BUTTONS = (("png", "PNG"), ("svg", "SVG"), ("pdf", "PDF"))


def show_problems(inputs: Inputs) -> bool:
    """Say why the inputs cannot be used (True when there was something to say)."""
    for problem in inputs.problems:
        st.error(problem)
    return bool(inputs.problems)


def analysis_or_stop(inputs: Inputs) -> tuple[AttentionResult, dict[View, Analysis]] | None:
    """The run the inputs ask for, or None after saying plainly why there is none."""
    if show_problems(inputs):
        return None
    try:
        with st.spinner("Running the model…", show_time=True):
            return cache.run_analysis(*inputs.run_key, inputs.exclude_special)
    except (InputError, ModelLoadError) as error:
        st.error(str(error))
        return None


def model_caption(result: AttentionResult) -> None:
    info = result.model
    window = f", window {info.window}" if info.window else ""
    globals_ = f", {len(result.global_positions)} global" if result.global_positions else ""
    st.caption(f"`{info.key}`: {info.layers} layers × {info.heads} heads{window}; {result.n_tokens} tokens{globals_}.")


def notices(result: AttentionResult) -> None:
    for notice in result.notices:
        st.info(notice, icon=":material/info:")


def diagnosis_summary(items: tuple[Diagnosis, ...], heading: str = "What the layers do with this input") -> None:
    """Warnings first, each in its own box; then the layer story as one short list."""
    for item in items:
        if item.level == "warning":
            st.warning(item.message, icon=":material/warning:")
    story = [item.message for item in items if item.level != "warning"]
    if story:
        st.info(f"**{heading}**\n\n" + "\n".join(f"- {line}" for line in story))


def layer_head_picker(n_layers: int, n_heads: int, prefix: str = "") -> tuple[int, int]:
    """1-based layer and head selectboxes, bound to the URL as `{prefix}layer`/`{prefix}head`."""
    left, right = st.columns(2)
    layer = left.selectbox("Layer", range(1, n_layers + 1), key=f"{prefix}layer", bind=state.BIND)
    head = right.selectbox("Head", range(1, n_heads + 1), key=f"{prefix}head", bind=state.BIND)
    state.check(f"{prefix}layer", layer, f"this model has layers 1–{n_layers}")
    state.check(f"{prefix}head", head, f"this model has heads 1–{n_heads}")
    return layer, head


def show(fig: go.Figure, key: str, sized: bool = True) -> None:
    """Draw a figure as it is exported: its own size and colours (no Streamlit theme)."""
    st.plotly_chart(fig, key=key, theme=None, width="content" if sized else "stretch")


def figure_downloads(
    make: Callable[[], go.Figure], stem: str, settings: FigureSettings, key: str, formats=IMAGE_BUTTONS
) -> None:
    """Download buttons for one figure: PNG (at the settings' scale), SVG, PDF and HTML.

    The figure is built only when a button is clicked."""
    stem = stem.replace("/", "_").replace(" ", "_")
    available, reason = cache.image_export_status()
    with st.container(horizontal=True):
        if available:
            for fmt, label in formats:
                st.download_button(
                    label,
                    lambda fmt=fmt: export.figure_image(make(), fmt, settings.scale),
                    file_name=f"{stem}.{fmt}",
                    mime=export.MIME_TYPES[fmt],
                    on_click="ignore",
                    key=f"{key}_{fmt}",
                    icon=":material/download:",
                )
        st.download_button(
            "HTML",
            lambda: export.figure_html(make()),
            file_name=f"{stem}.html",
            mime="text/html",
            on_click="ignore",
            key=f"{key}_html",
            icon=":material/download:",
        )
    if not available:
        st.caption(reason)


def page_of(url_path: str) -> st.Page:
    """The st.Page registered under `url_path` (for st.switch_page)."""
    from ui.navigation import PAGES  # the pages import this module

    return PAGES[url_path]


def explanations() -> None:
    st.subheader("What the numbers mean")
    with st.expander("The layer story"):
        st.markdown(help_text.LAYER_STORY)
    with st.expander("Scores"):
        for name in SCORE_NAMES:
            st.markdown(f"**{overview.SCORE_LABELS.get(name, name)}** (`{name}`): {help_text.SCORE_HELP.get(name, '')}")
    with st.expander("Head roles"):
        for role in ROLES:
            st.markdown(f"**{ROLE_LABELS[role]}**: {help_text.ROLE_HELP.get(role, '')}")
