"""Pieces every page uses: the model run with its errors, notices, the layer/head picker,
figure display and figure downloads, and the explanations."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

from i18n import N_, _
from models.extract.attention import InputError
from models.load.loading import ModelLoadError
from models.result import AttentionResult
from models.score.analysis import Analysis
from models.score.roles import ROLE_LABELS, ROLES, Diagnosis
from models.score.scores import SCORE_NAMES
from models.score.sweep import View
from models.types import Notice
from ui import cache, state
from ui.inputs import Inputs
from ui.language import keep_language
from viz import explanations as help_text
from viz import export, layout, overview
from viz.layout import FigureSettings

IMAGE_BUTTONS = (("png", "PNG"), ("svg", "SVG"), ("pdf", "PDF"))  # format names: the same in every language
DATA_MIME_TYPES = {"csv": "text/csv", "json": "application/json", "npz": "application/octet-stream"}
WHY_LAYERS = N_("this model has layers 1–{count}")
WHY_HEADS = N_("this model has heads 1–{count}")
EXPLAINED = N_("**{label}** (`{name}`): {help}")  # a score or role: its label, identifier and meaning
SEPARATOR = layout.SEPARATOR  # between the items of a caption's list


def show_problems(inputs: Inputs, text: bool = True) -> bool:
    """Say why the inputs cannot be used (True when there was something to say); `text`:
    the page reads the text box (the corpus pages do not, so its problems do not stop them)."""
    problems = (*inputs.problems, *(inputs.text_problems if text else ()))
    for problem in problems:
        st.error(str(problem))
    return bool(problems)


def analysis_or_stop(inputs: Inputs) -> tuple[AttentionResult, dict[View, Analysis]] | None:
    """The run the inputs ask for, or None after saying plainly why there is none."""
    if show_problems(inputs):
        return None
    try:
        with st.spinner(_("Running the model…"), show_time=True):
            return cache.run_analysis(*inputs.run_key, inputs.exclude_special)
    except (InputError, ModelLoadError) as error:
        st.error(str(error))
        return None


def model_caption(result: AttentionResult) -> None:
    info = result.model
    window = N_(", window {window}").format(window=info.window) if info.window else ""
    globals_ = N_(", {count} global").format(count=len(result.global_positions)) if result.global_positions else ""
    caption = N_("`{key}`: {layers} layers × {heads} heads{window}; {tokens} tokens{globals}.").format(
        key=info.key, layers=info.layers, heads=info.heads, window=window, tokens=result.n_tokens, globals=globals_
    )
    st.caption(str(caption))


def is_vocabulary_notice(notice: Notice) -> bool:
    """The notice that the model's vocabulary cannot read the input (the [UNK] share)."""
    return notice.kind == "vocabulary"


def notices(result: AttentionResult, prefix: str = "") -> None:
    """The result's notices, warnings first (the [UNK] one: the map says little then), by
    their level.  `prefix` names the run when a page shows several ("A: ")."""
    for notice in sorted(result.notices, key=lambda notice: notice.level != "warning"):
        if notice.level == "warning":
            icon = ":material/translate:" if is_vocabulary_notice(notice) else ":material/warning:"
            st.warning(f"{prefix}{notice}", icon=icon)
        else:
            st.info(f"{prefix}{notice}", icon=":material/info:")


def diagnosis_summary(items: tuple[Diagnosis, ...], heading: str = N_("What the layers do with this input")) -> None:
    """Warnings first, each in its own box; then the layer story as one short list."""
    for item in items:
        if item.level == "warning":
            st.warning(str(item.message), icon=":material/warning:")
    story = [str(item.message) for item in items if item.level != "warning"]
    if story:
        st.info(f"**{heading}**\n\n" + "\n".join(f"- {line}" for line in story))


def layer_head_picker(n_layers: int, n_heads: int, prefix: str = "") -> tuple[int, int]:
    """1-based layer and head selectboxes, bound to the URL as `{prefix}layer`/`{prefix}head`."""
    left, right = st.columns(2)
    layer = left.selectbox(_("Layer"), range(1, n_layers + 1), key=f"{prefix}layer", bind=state.BIND)
    head = right.selectbox(_("Head"), range(1, n_heads + 1), key=f"{prefix}head", bind=state.BIND)
    state.check(f"{prefix}layer", layer, WHY_LAYERS.format(count=n_layers))
    state.check(f"{prefix}head", head, WHY_HEADS.format(count=n_heads))
    return layer, head


def held_or_run(request: Hashable, held: tuple | None, label, press, key: str, run: Callable[[], tuple | None]):
    """The run button `label` and what it gives for `request`: a fresh run when pressed (`run`
    returns (request, result), or None when it failed and said why), else the session's held
    (request, result) when it was run for `request`; without either, a caption to press the
    button (`press`, with {button}) and None."""
    if st.button(str(label), type="primary", key=key, icon=":material/play_arrow:"):
        held = run()
    if held is None or held[0] != request:
        st.caption(str(press.format(button=label)))
        return None
    return held[1]


def data_download(
    label: str, data: bytes | Callable[[], bytes], file_name: str, key: str, hint: str | None = None
) -> None:
    """A download button for a data file: `data` is its bytes, or a callable that makes them on
    a click; its type follows the file name's extension, and a click does not rerun the page."""
    st.download_button(
        label,
        data,
        file_name=file_name,
        mime=DATA_MIME_TYPES[file_name.rsplit(".", 1)[-1]],
        on_click="ignore",
        key=key,
        icon=":material/download:",
        help=hint,
    )


def show(fig: go.Figure, key: str, sized: bool = True, stem: str | None = None, of_text: bool = True) -> None:
    """Draw a figure as it is exported: its own size and colours (no Streamlit theme).

    With `stem`, its PNG/SVG/PDF/HTML downloads follow (files `<model>_<text>_<stem>.*`, or
    `<model>_<stem>.*` when the figure is not of the text box's text, `of_text=False`; see
    `file_stem`).  Pages that build a figure lazily call `figure_downloads` instead.  The
    figure settings' title, subtitle and label option reach every chart here, so the screen
    and the downloads agree (figures of `layout.finish` have them already); a figure not of
    the text box's text gets no subtitle, which names that text."""
    settings = current_settings()
    if not of_text:
        settings = replace(settings, subtitle="")
    fig = layout.with_figure_options(fig, settings)
    st.plotly_chart(fig, key=key, theme=None, width="content" if sized else "stretch")
    if stem is not None:
        figure_downloads(lambda: fig, file_stem(stem, of_text), settings, f"dl_{key}")


def current_settings() -> FigureSettings:
    from ui.inputs import current

    return current().figure


def file_stem(what: str, of_text: bool = True) -> str:
    """A download's name: the model, a short slug of the text (`of_text`), then what the file holds."""
    from ui.inputs import current

    shared = current()
    model = shared.model.rstrip("/").rsplit("/", 1)[-1] or "model"
    return "_".join(part for part in (model, text_slug(shared.text) if of_text else "", what) if part)


def text_slug(text: str, words: int = 4, limit: int = 32) -> str:
    """The first few words of a text, for a file name: letters and digits of any script."""
    kept = ["".join(ch for ch in word if ch.isalnum()) for word in text.split()[: words * 2]]
    return "-".join(word for word in kept if word)[:limit].strip("-").lower()


def figure_downloads(
    make: Callable[[], go.Figure], stem: str, settings: FigureSettings, key: str, formats=IMAGE_BUTTONS
) -> None:
    """Download buttons for one figure: PNG (at the settings' scale), SVG, PDF and HTML.

    The figure is built only when a button is clicked, in the language of this run, with the
    settings' title, subtitle and label option (layout.with_figure_options)."""
    stem = stem.replace("/", "_").replace("\\", "_").replace(" ", "_")
    build = make
    make = keep_language(lambda: layout.with_figure_options(build(), settings))
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
        st.caption(str(reason))


def page_of(url_path: str) -> st.Page:
    """The st.Page registered under `url_path` (for st.switch_page)."""
    from ui.navigation import pages  # the pages import this module

    return pages()[url_path]


def explanations() -> None:
    st.subheader(_("What the numbers mean"))
    with st.expander(_("The layer story")):
        st.markdown(str(help_text.LAYER_STORY))
    with st.expander(_("Scores")):
        for name in SCORE_NAMES:
            entry = EXPLAINED.format(label=overview.SCORE_LABELS[name], name=name, help=help_text.SCORE_HELP[name])
            st.markdown(str(entry))
    with st.expander(_("Head roles")):
        for role in ROLES:
            st.markdown(str(EXPLAINED.format(label=ROLE_LABELS[role], name=role, help=help_text.ROLE_HELP[role])))
