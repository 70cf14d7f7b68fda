"""Attention-map analysis app: `streamlit run app.py` (or `make run`).

The entry file draws what every page shares (the language switch, heading, inputs in the
sidebar, the text area) and hands over to the chosen page through st.navigation.  The
pages live in ui/pages/; the caches in ui/cache.py; the shareable URL in ui/state.py; the
interface language in ui/language.py (chosen first, so everything below is drawn in it).
"""

from __future__ import annotations

from pathlib import Path

# plotly imports pandas on the first figure it validates.  Imported here, first, it is whole
# before any session draws a chart: two script threads (two sessions at once) importing it
# midway through a figure ended in "partially initialized module 'pandas'" errors.
import pandas  # noqa: F401
import streamlit as st

from i18n import N_
from models.load.loading import quiet_transformers
from ui import inputs, language, state
from ui.navigation import PAGE_KEYS, pages

ICON = Path(__file__).resolve().parent / "static" / "favicon.png"  # local: nothing is fetched from a font server
TITLE = N_("Attention map analysis")
quiet_transformers()  # the app says what matters itself; no transformers warnings in the server log
state.remember_link(inputs.URL_KEYS | PAGE_KEYS)
language.language_switch()
st.set_page_config(page_title=str(TITLE), page_icon=ICON, layout="wide")
navigation = st.navigation(list(pages().values()), position="top")
st.title(str(TITLE))
st.caption(
    str(
        N_(
            "Paste a sentence: the model runs once, and every attention head is measured (how much it looks at "
            "[CLS], [SEP], itself and its neighbours, punctuation) and given a role, layer by layer."
        )
    )
)
link_notes = st.container()
sentence = navigation.url_path not in inputs.SENTENCE_FREE_PAGES  # the corpus page draws no text box
st.session_state[inputs.INPUTS_KEY] = inputs.shared_inputs(sentence)
navigation.run()
state.show_notes(link_notes)
