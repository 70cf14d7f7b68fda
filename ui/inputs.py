"""The inputs every page shares: the text (or pair), the model, its window and global
tokens, the scoring option and the figure settings.  Drawn by app.py on every run, bound
to the URL, checked at this edge, and handed to the pages as one frozen `Inputs`.

An examples picker above the text area fills the text and the pair with one of the
examples of the interface's language (models/examples.py).

The text area is not bound to the URL like the other widgets: its length is checked here
(a text over MAX_TEXT_CHARS is refused with a message, not cut), and `_text_link` writes it
into the link itself, compressed when long (ui.state.link_text).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

import i18n
from i18n import N_, _, message_of
from models.examples import example, examples_for
from models.extract.attention import InputError
from models.extract.window import DEFAULT_WINDOW, WindowError
from models.load.device import DeviceError, describe, resolve_device
from models.load.loading import ModelLoadError, resolve
from models.load.registry import DEFAULT_MODEL, REGISTRY, find_spec
from ui import cache, state
from viz.labels import token_labels
from viz.layout import DEFAULT_FONT, FigureSettings

DEFAULT_TEXT = "The cat sat on the mat because it was tired."
MAX_TEXT_CHARS = 40_000  # about 8,000 tokens: well past the longest model
INPUTS_KEY = "_inputs"
SENTENCE_FREE_PAGES = frozenset({"corpus"})  # url paths of the pages that read no text box
PNG_SCALES = (1, 2, 3, 4)
URL_KEYS = {"lang", "text", "pair", "model", "dir", "window", "globals", "exclude", "font", "width", "scale"}
TEXT_KEY, PAIR_KEY, EXAMPLE_KEY = "text", "pair", "example"
WHY_NOT_TOKENS = N_("not tokens of this text")


@dataclass(frozen=True)
class Inputs:
    """What the pages analyse and how they draw it.

    model             registry key or local directory
    window            the Longformer window, for models that take one (else None)
    global_positions  Longformer global tokens (ascending), None for dense models
    problems          messages about inputs that cannot be used; pages show these
                      instead of a result
    text_problems     the same about the text box alone (the corpus pages do not read it)
    """

    text: str
    text_b: str | None
    model: str
    window: int | None
    global_positions: tuple[int, ...] | None
    exclude_special: bool
    figure: FigureSettings
    problems: tuple[str, ...] = field(default=())
    text_problems: tuple[str, ...] = field(default=())

    @property
    def run_key(self) -> tuple:
        """The arguments of the model run these inputs ask for (ui.cache.run_model)."""
        return (self.model, self.window, self.text, self.text_b, self.global_positions)


def shared_inputs(sentence: bool = True) -> Inputs:
    """Draw the shared widgets (text area on the page, the rest in the sidebar).  `sentence`:
    the page reads the text box; a page that does not (the corpus pages, SENTENCE_FREE_PAGES)
    draws neither the text boxes nor the Longformer global tokens of that text, and the text
    and pair keep their values (and their place in the link) for the next page."""
    problems: list[str] = []
    text_problems: list[str] = []
    _seed_text()
    if sentence:
        examples_picker()
        text = st.text_area(
            _("Sentence or passage to analyse"),
            key=TEXT_KEY,
            height=100,
            persist_state="session",  # kept while a page without the box (the corpus page) is shown
            help=_("Press Ctrl+Enter (or click away) to run the model."),
        )
        text_b = st.text_input(
            _("Optional second sentence (the two are analysed as a pair)"), key=PAIR_KEY, bind=state.BIND
        )
    else:
        text, text_b = _kept_sentence()
    _text_link(text, shown=sentence)
    if len(text) > MAX_TEXT_CHARS:
        text_problems.append(
            N_(
                "This text has {length:,} characters; the text box takes at most {limit:,}, so nothing was analysed. "
                "Shorten it, or take a long document elsewhere: a Longformer model such as minilm-longformer, "
                "the Corpus page (a file of many sentences), or the command line `python cli.py analyze`."
            ).format(length=len(text), limit=MAX_TEXT_CHARS)
        )
    with st.sidebar:
        st.header(_("Model"))
        model = st.selectbox(
            _("Model"),
            list(REGISTRY),
            key="model",
            index=list(REGISTRY).index(DEFAULT_MODEL),
            bind=state.BIND,
        )
        state.check("model", model, N_("not a model of the registry"))
        st.caption(f"{REGISTRY[model].family}: {REGISTRY[model].description}")
        model_dir = st.text_input(
            _("…or a local folder or Hub id"),
            key="dir",
            placeholder="/path/to/model or org/name",
            bind=state.BIND,
            help=_(
                "A folder with config.json, a tokenizer and *.safetensors weights, or a Hugging Face Hub id "
                "(org/name, name@revision) read from the local Hub cache; safetensors only, never remote code."
            ),
        ).strip()
        name = model_dir or model
        window = _window(name, problems)
        exclude_special = st.checkbox(
            _("Leave special tokens' own rows out of the scores"),
            key="exclude",
            bind=state.BIND,
            help=_("Average the scores over word tokens only, not over [CLS]/[SEP] rows."),
        )
        figure = _figure_settings(problems)
        global_positions = (
            _global_tokens(name, window, text, text_b or None, [*problems, *text_problems]) if sentence else None
        )
        _device_caption()
    return Inputs(
        text,
        text_b or None,
        name,
        window,
        global_positions,
        exclude_special,
        figure,
        tuple(problems),
        tuple(text_problems),
    )


def _device_caption() -> None:
    """Where the models run (ATTENTION_MAPS_DEVICE on the server; docs/deployment.md)."""
    try:
        shown = describe(resolve_device(cache.app_device_choice()))
    except DeviceError:
        shown = _("cuda was asked for, but there is no GPU")
    st.caption(N_("Models run on: {device}").format(device=shown))


def current() -> Inputs:
    """The inputs drawn by app.py in this run (for the pages)."""
    return st.session_state[INPUTS_KEY]


def examples_picker() -> None:
    """A picker of the examples written in the interface's language; choosing one fills the
    text and the pair (in the callback, before the bound text widgets are drawn)."""
    keys = [item.key for item in examples_for(i18n.get_language())]
    st.selectbox(
        _("Examples"),
        keys,
        index=None,
        key=EXAMPLE_KEY,
        format_func=_example_label,
        placeholder=_("Try an example sentence or pair…"),
        on_change=_fill_example,
        help=_("Fills the text (and the second sentence of a pair) with an example written for this app."),
        width=480,
    )


def _example_label(key: str) -> str:
    item = example(key)
    return str(item.label) if item is not None else key


def _fill_example() -> None:
    item = example(st.session_state.get(EXAMPLE_KEY) or "")
    if item is not None:
        st.session_state[TEXT_KEY] = item.text
        st.session_state[PAIR_KEY] = item.text_b or ""
    st.session_state[EXAMPLE_KEY] = None  # the picker shows its prompt again; the text is now the user's


def _seed_text() -> None:
    """Once per session, before the text area is drawn: the link's text (unpacked when the
    link holds it compressed), else the default sentence."""
    if TEXT_KEY in st.session_state:
        return
    given = state.linked(TEXT_KEY)
    text = DEFAULT_TEXT
    if given is not None:
        value = given[-1] if given else ""
        try:
            text = state.text_of_link(value)
        except state.LinkTextError:
            shown = value if len(value) <= 24 else value[:24] + "…"
            state.reject(TEXT_KEY, shown, N_("not a readable compressed text"), N_("the default sentence"))
    st.session_state[TEXT_KEY] = text


def _kept_sentence() -> tuple[str, str]:
    """The text and the pair on a page that does not draw their boxes.  Both keep their values
    while their boxes are not drawn: the text area through persist_state="session", the pair
    as a bound widget (Streamlit leaves its parameter out of the link until it is drawn again;
    the text stays in the link, written by `_text_link`)."""
    session = st.session_state
    return session.get(TEXT_KEY, DEFAULT_TEXT), session.get(PAIR_KEY) or ""


def _text_link(text: str, shown: bool = True) -> None:
    """Write the text into the link (left out when it is the default, as a bound widget
    does), compressed when long; a text too long even so is left out, and a note says so
    (under the text box: `shown`, when it is drawn)."""
    value = state.link_text(text)
    params = st.query_params
    if text == DEFAULT_TEXT or value is None:
        if TEXT_KEY in params:
            del params[TEXT_KEY]
    elif params.get_all(TEXT_KEY) != [value]:
        params[TEXT_KEY] = value
    if value is None and shown:
        st.caption(_("This text is too long to share by link: the link leaves it out."))


def _window(name: str, problems: list[str]) -> int | None:
    spec = find_spec(name)
    if spec is None or not spec.windowed:
        return None
    typed = st.number_input(
        _("Attention window (even; W/2 tokens each side)"),
        key="window",
        value=DEFAULT_WINDOW,
        step=2,
        bind=state.BIND,
        help=_("Longformer's sliding window: each token attends to W/2 tokens on each side."),
    )
    try:
        return resolve(name, typed)[1]
    except WindowError as error:
        st.error(str(error))
        problems.append(N_("{error} Fix the window in the sidebar.").format(error=message_of(error)))
        if state.linked("window") == [str(typed)]:
            state.reject("window", str(typed), N_("it breaks the window rule"), N_("nothing"))
        return None


def _figure_settings(problems: list[str]) -> FigureSettings:
    with st.expander(_("Figure and export settings")):
        font = st.number_input(_("Font size (px)"), key="font", value=DEFAULT_FONT, step=1, bind=state.BIND)
        width = st.number_input(
            _("Figure width (px, 0 = sized to the tokens)"), key="width", value=0, step=50, bind=state.BIND
        )
        scale = st.selectbox(
            _("PNG scale"),
            PNG_SCALES,
            key="scale",
            index=1,
            bind=state.BIND,
            help=_("2× gives sharp images on slides and in print."),
        )
        from ui.figure_options import figure_options  # title, subtitle, labels and guide lines

        options = figure_options()
        try:
            return FigureSettings(font_size=int(font), width=int(width) or None, scale=float(scale), **options)
        except ValueError as error:
            st.error(str(error))
            problems.append(
                N_("{error} Fix it under 'Figure and export settings' in the sidebar.").format(error=message_of(error))
            )
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
        _("Global tokens (attend to and from every token)"),
        labels,
        key="globals",
        default=[cls],
        bind=state.BIND,
        help=_("Longformer's hub tokens. [CLS] is global by default."),
    )
    state.check("globals", chosen, WHY_NOT_TOKENS)
    return tuple(sorted(labels.index(label) for label in chosen))
