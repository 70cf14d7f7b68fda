"""The figure options a paper needs beside the size: a title of one's own, a subtitle naming
the model and the sentence, token labels with or without their position, and the guide
lines along special tokens.  Drawn with the font size, width and scale (ui.inputs), bound to
the link like them, and carried to every figure and export by viz.layout.FigureSettings.
"""

from __future__ import annotations

import streamlit as st

from i18n import _
from ui import state
from viz.layout import MAX_TITLE, subtitle_of

TITLE_KEY, SUBTITLE_KEY, INDEX_KEY, GUIDES_KEY = "fig_title", "fig_subtitle", "fig_index", "fig_guides"
LINK_KEYS = {TITLE_KEY, SUBTITLE_KEY, INDEX_KEY, GUIDES_KEY}


def figure_options() -> dict:
    """Draw the options (inside the figure settings' expander) and return them as
    FigureSettings fields.  The subtitle names the model and text of the widgets drawn above."""
    title = st.text_input(
        _("Figure title (empty: each figure's own)"),
        key=TITLE_KEY,
        max_chars=MAX_TITLE,
        bind=state.BIND,
    )
    subtitle = st.checkbox(
        _("Subtitle with the model and the sentence"),
        key=SUBTITLE_KEY,
        value=True,
        bind=state.BIND,
        help=_("Cut with an ellipsis where the figure ends."),
    )
    index = st.checkbox(_("Token labels with their position (0·, 1·, …)"), key=INDEX_KEY, value=True, bind=state.BIND)
    guides = st.checkbox(
        _("Guide lines along special tokens ([CLS], [SEP], global tokens)"),
        key=GUIDES_KEY,
        value=True,
        bind=state.BIND,
    )
    return dict(
        title=title.strip(),
        subtitle=_subtitle() if subtitle else "",
        index_labels=bool(index),
        special_lines=bool(guides),
    )


def _subtitle() -> str:
    """The model (a local folder before the registry's choice) and the text and pair, as the
    widgets drawn before the figure settings hold them."""
    from ui.inputs import PAIR_KEY, TEXT_KEY  # ui.inputs draws these options

    values = st.session_state
    model = str(values.get("dir") or "").strip() or str(values.get("model") or "")
    return subtitle_of(model, str(values.get(TEXT_KEY) or ""), values.get(PAIR_KEY) or None)
