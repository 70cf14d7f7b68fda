"""The inputs every page shares: the text (or pair), the model, its window and global
tokens, the scoring option and the figure settings.  Drawn by app.py on every run, bound
to the URL, checked at this edge, and handed to the pages as one frozen `Inputs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from models.extract import InputError
from models.loading import ModelLoadError, resolve
from models.registry import DEFAULT_MODEL, REGISTRY, find_spec
from models.window import DEFAULT_WINDOW, WindowError
from ui import cache, state
from viz.labels import token_labels
from viz.layout import DEFAULT_FONT, FigureSettings

DEFAULT_TEXT = "The cat sat on the mat because it was tired."
MAX_TEXT_CHARS = 40_000  # about 8,000 tokens: well past the longest model, and the link stays loadable
INPUTS_KEY = "_inputs"
PNG_SCALES = (1, 2, 3, 4)
URL_KEYS = {"text", "pair", "model", "dir", "window", "globals", "exclude", "font", "width", "scale"}


@dataclass(frozen=True)
class Inputs:
    """What the pages analyse and how they draw it.

    model             registry key or local directory
    window            the Longformer window, for models that take one (else None)
    global_positions  Longformer global tokens (ascending), None for dense models
    problems          messages about inputs that cannot be used; pages show these
                      instead of a result
    """

    text: str
    text_b: str | None
    model: str
    window: int | None
    global_positions: tuple[int, ...] | None
    exclude_special: bool
    figure: FigureSettings
    problems: tuple[str, ...] = field(default=())

    @property
    def run_key(self) -> tuple:
        """The arguments of the model run these inputs ask for (ui.cache.run_model)."""
        return (self.model, self.window, self.text, self.text_b, self.global_positions)


def shared_inputs() -> Inputs:
    """Draw the shared widgets (text area on the page, the rest in the sidebar)."""
    problems: list[str] = []
    text = st.text_area(
        "Sentence or passage to analyse",
        key="text",
        value=DEFAULT_TEXT,
        height=100,
        max_chars=MAX_TEXT_CHARS,
        help="Press Ctrl+Enter (or click away) to run the model.",
        bind=state.BIND,
    )
    text_b = st.text_input("Optional second sentence (the two are analysed as a pair)", key="pair", bind=state.BIND)
    with st.sidebar:
        st.header("Model")
        model = st.selectbox(
            "Model",
            list(REGISTRY),
            key="model",
            index=list(REGISTRY).index(DEFAULT_MODEL),
            bind=state.BIND,
        )
        state.check("model", model, "not a model of the registry")
        st.caption(f"{REGISTRY[model].family}: {REGISTRY[model].description}")
        model_dir = st.text_input(
            "…or a local model directory",
            key="dir",
            placeholder="/path/to/model",
            bind=state.BIND,
            help="A folder with config.json, a tokenizer and *.safetensors weights.",
        ).strip()
        name = model_dir or model
        window = _window(name, problems)
        exclude_special = st.checkbox(
            "Leave special tokens' own rows out of the scores",
            key="exclude",
            bind=state.BIND,
            help="Average the scores over word tokens only, not over [CLS]/[SEP] rows.",
        )
        figure = _figure_settings(problems)
        global_positions = _global_tokens(name, window, text, text_b or None, problems)
    return Inputs(text, text_b or None, name, window, global_positions, exclude_special, figure, tuple(problems))


def current() -> Inputs:
    """The inputs drawn by app.py in this run (for the pages)."""
    return st.session_state[INPUTS_KEY]


def _window(name: str, problems: list[str]) -> int | None:
    spec = find_spec(name)
    if spec is None or not spec.windowed:
        return None
    typed = st.number_input(
        "Attention window (even; W/2 tokens each side)",
        key="window",
        value=DEFAULT_WINDOW,
        step=2,
        bind=state.BIND,
        help="Longformer's sliding window: each token attends to W/2 tokens on each side.",
    )
    try:
        return resolve(name, typed)[1]
    except WindowError as error:
        st.error(str(error))
        problems.append(f"{error} Fix the window in the sidebar.")
        if state.linked("window") == [str(typed)]:
            state.reject("window", str(typed), "it breaks the window rule", "nothing")
        return None


def _figure_settings(problems: list[str]) -> FigureSettings:
    with st.expander("Figure and export settings"):
        font = st.number_input("Font size (px)", key="font", value=DEFAULT_FONT, step=1, bind=state.BIND)
        width = st.number_input(
            "Figure width (px, 0 = sized to the tokens)", key="width", value=0, step=50, bind=state.BIND
        )
        scale = st.selectbox(
            "PNG scale",
            PNG_SCALES,
            key="scale",
            index=1,
            bind=state.BIND,
            help="2× gives sharp images on slides and in print.",
        )
        try:
            return FigureSettings(font_size=int(font), width=int(width) or None, scale=float(scale))
        except ValueError as error:
            st.error(str(error))
            problems.append(f"{error} Fix it under 'Figure and export settings' in the sidebar.")
            return FigureSettings()


def _global_tokens(
    name: str, window: int | None, text: str, text_b: str | None, problems: list[str]
) -> tuple[int, ...] | None:
    """Pick Longformer global tokens by name; None for dense models (or when the model
    cannot load yet: the page then shows why)."""
    if problems or not text.strip():
        return None
    try:
        loaded = cache.get_model(name, window)
        if loaded.family != "longformer":
            return None
        labels = token_labels(cache.tokens(name, window, text, text_b))
    except (ModelLoadError, InputError):
        return None
    cls = next((label for label in labels if "[CLS]" in label or "<s>" in label), labels[0])
    current = st.session_state.get("globals")
    if current is not None and any(label not in labels for label in current):
        st.session_state["globals"] = [label for label in current if label in labels]  # the text changed
    chosen = st.multiselect(
        "Global tokens (attend to and from every token)",
        labels,
        key="globals",
        default=[cls],
        bind=state.BIND,
        help="Longformer's hub tokens. [CLS] is global by default.",
    )
    state.check("globals", chosen, "not tokens of this text")
    return tuple(sorted(labels.index(label) for label in chosen))
