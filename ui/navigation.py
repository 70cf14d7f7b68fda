"""The app's pages, in the order of the top navigation; app.py hands them to st.navigation.

The titles are translated on every run (`pages()`); the url paths, which the link and
st.switch_page use, never change.  Each page starts with ui.state.keep_history, which
makes a new analysis (the shared inputs, drawn by app.py before it) a new browser history
entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from i18n import N_
from ui import figure_options, mixing, state
from ui.pages import analysis, compare, corpus, dense_vs_window, sparse


@dataclass(frozen=True)
class PageSpec:
    page: Callable[[], None]
    title: str  # a LazyText
    icon: str
    default: bool = False


PAGE_SPECS: dict[str, PageSpec] = {
    "analysis": PageSpec(analysis.page, N_("Attention analysis"), ":material/grid_on:", default=True),
    "sparse": PageSpec(sparse.page, N_("Sparse patterns"), ":material/blur_linear:"),
    "dense-vs-window": PageSpec(dense_vs_window.page, N_("Dense vs window"), ":material/compare:"),
    "compare": PageSpec(compare.page, N_("Compare models"), ":material/difference:"),
    "corpus": PageSpec(corpus.page, N_("Corpus"), ":material/library_books:"),
}


def pages() -> dict[str, st.Page]:
    """The pages with their titles in the active language, keyed by url path."""
    return {
        url_path: st.Page(
            _keeping_history(spec.page),
            title=str(spec.title),
            url_path=url_path,
            icon=spec.icon,
            default=spec.default,
        )
        for url_path, spec in PAGE_SPECS.items()
    }


def _keeping_history(page: Callable[[], None]) -> Callable[[], None]:
    """`page`, after the history entry of the inputs it shows (app.py draws them first; a
    page is found by its url path, so the wrapper changes no link)."""

    def run() -> None:
        state.keep_history()
        page()

    run.__name__ = page.__name__
    return run


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
    # what really moves (context mixing): the section declares its own
    *mixing.LINK_KEYS,
    # the figure options beside the font size, width and scale (in the sidebar, on every page)
    *figure_options.LINK_KEYS,
}
