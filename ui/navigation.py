"""The app's pages, in the order of the top navigation; app.py hands them to st.navigation."""

from __future__ import annotations

import streamlit as st

from ui.pages import analysis, compare, corpus, dense_vs_window, sparse

PAGES: dict[str, st.Page] = {
    "analysis": st.Page(
        analysis.page, title="Attention analysis", url_path="analysis", icon=":material/grid_on:", default=True
    ),
    "sparse": st.Page(sparse.page, title="Sparse patterns", url_path="sparse", icon=":material/blur_linear:"),
    "dense-vs-window": st.Page(
        dense_vs_window.page, title="Dense vs window", url_path="dense-vs-window", icon=":material/compare:"
    ),
    "compare": st.Page(compare.page, title="Compare models", url_path="compare", icon=":material/difference:"),
    "corpus": st.Page(corpus.page, title="Corpus", url_path="corpus", icon=":material/library_books:"),
}

# The link keys of the pages' own view options (each widget's key is its URL parameter);
# with ui.inputs.URL_KEYS they are every key a link may hold.
PAGE_KEYS = {
    # attention analysis
    "view",
    "unit",
    "layer",
    "head",
    "hide",
    "zoom_q",
    "zoom_k",
    "grid_layer",
    "anim_head",
    "score",
    "cmp_layer_a",
    "cmp_head_a",
    "cmp_layer_b",
    "cmp_head_b",
    "rollout_token",
    "rollout_layer",
    "bertviz",
    "bertviz_view",
    # sparse patterns
    "sp_window",
    "sp_dilation",
    "sp_globals",
    "sp_seed",
    "sp_share",
    "sp_block",
    "sp_random",
    "sp_buckets",
    "sp_topk",
    "sp_pattern",
    "own_layer",
    "own_head",
    # dense vs window
    "dv_window",
    # compare models
    "cmp_model_a",
    "cmp_dir_a",
    "cmp_model_b",
    "cmp_dir_b",
    "cmp_view",
    "cmp_score",
    "cmp_layer",
    "cmp_head",
    # corpus
    "corpus_source",
    "corpus_column",
    "corpus_pair_column",
    "corpus_limit",
    "corpus_score",
    "corpus_threshold",
    "corpus_layer",
    "corpus_head",
}
