"""Attention-map analysis app: `streamlit run app.py` (or `make run`).

The entry file draws what every page shares (heading, inputs in the sidebar, the text
area) and hands over to the chosen page through st.navigation.  The pages live in
ui/pages/; the caches in ui/cache.py; the shareable URL in ui/state.py.
"""

from __future__ import annotations

import streamlit as st

from ui import inputs, state
from ui.pages import analysis, compare, dense_vs_window, sparse

INTRO = (
    "Paste a sentence: the model runs once, and every attention head is measured (how much it looks at "
    "[CLS], [SEP], itself and its neighbours, punctuation) and given a role, layer by layer."
)
PAGES = [
    st.Page(analysis.page, title="Attention analysis", url_path="analysis", icon=":material/grid_on:", default=True),
    st.Page(sparse.page, title="Sparse patterns", url_path="sparse", icon=":material/blur_linear:"),
    st.Page(dense_vs_window.page, title="Dense vs window", url_path="dense-vs-window", icon=":material/compare:"),
    st.Page(compare.page, title="Compare models", url_path="compare", icon=":material/difference:"),
]
PAGE_KEYS = {  # view options of the pages, also bound to the URL
    "view", "unit", "layer", "head", "grid_layer", "anim_head", "rollout_token", "rollout_layer", "score", "hide", "zoom_q", "zoom_k", "cmp_layer_a", "cmp_head_a", "cmp_layer_b", "cmp_head_b",
    "bertviz", "bertviz_view", "sp_window", "sp_dilation", "sp_globals", "sp_seed", "sp_share", "sp_block",
    "sp_random", "sp_buckets", "sp_topk", "sp_pattern", "dv_window", "cmp_model_a", "cmp_dir_a", "cmp_model_b",
    "cmp_dir_b", "cmp_view", "cmp_score", "cmp_layer", "cmp_head", "own_layer", "own_head",
}

st.set_page_config(page_title="Attention map analysis", page_icon=":material/grid_on:", layout="wide")
state.remember_link(inputs.URL_KEYS | PAGE_KEYS)
navigation = st.navigation(PAGES, position="top")
st.title("Attention map analysis")
st.caption(INTRO)
link_notes = st.container()
st.session_state[inputs.INPUTS_KEY] = inputs.shared_inputs()
navigation.run()
state.show_notes(link_notes)
