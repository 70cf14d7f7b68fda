"""Attention-map analysis app: `streamlit run app.py` (or `make run`).

The entry file draws what every page shares (heading, inputs in the sidebar, the text
area) and hands over to the chosen page through st.navigation.  The pages live in
ui/pages/; the caches in ui/cache.py; the shareable URL in ui/state.py.
"""

from __future__ import annotations

import streamlit as st

from ui import inputs, state
from ui.navigation import PAGE_KEYS, PAGES

INTRO = (
    "Paste a sentence: the model runs once, and every attention head is measured (how much it looks at "
    "[CLS], [SEP], itself and its neighbours, punctuation) and given a role, layer by layer."
)
st.set_page_config(page_title="Attention map analysis", page_icon=":material/grid_on:", layout="wide")
state.remember_link(inputs.URL_KEYS | PAGE_KEYS)
navigation = st.navigation(list(PAGES.values()), position="top")
st.title("Attention map analysis")
st.caption(INTRO)
link_notes = st.container()
st.session_state[inputs.INPUTS_KEY] = inputs.shared_inputs()
navigation.run()
state.show_notes(link_notes)
