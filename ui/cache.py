"""Every cache of the app, in one place.

One model cache keyed by the canonical (model, window) of models.load.loading.resolve, so
`minilm` under window 8 and `minilm-longformer` with window 8 are one object, and the
dense weights a window is put on load once.  Results are immutable and cached as
resources (no copy per rerun); everything is keyed by the inputs that change it.
The functions show no spinner of their own: the pages say what is running.
"""

from __future__ import annotations

import os

import numpy as np
import streamlit as st

from models.compare.heads import Comparison
from models.compare.heads import compare as compare_results
from models.extract.attention import extract, preview_tokens
from models.extract.banded import block
from models.load.device import DEVICE_ENV
from models.load.loading import LoadedModel, check_allowed, load_model, local_model_roots, resolve
from models.mixing.classifier import Classifier, load_classifier
from models.mixing.faithfulness import SentenceFaithfulness, faithfulness_of
from models.mixing.run import ContextMixing, check_family, context_mixing
from models.result import AttentionResult
from models.score.analysis import Analysis, analyze_views
from models.score.rollout import attention_rollout, query_rollout
from models.score.sweep import VIEWS, View
from models.score.views import Unit, view_layer
from models.score.words import merge_words, result_words, word_rollout
from models.sparse import patterns as sparse
from models.sparse.dense_vs_sparse import SWEEP_WINDOWS, WindowPoint, window_sweep, windowed_extract
from viz import export

ERR_COMPARE_VIEW = (
    "The norm view needs both models' value vectors; one of these families has none. Use the weight view."
)


def model_roots() -> tuple[str, ...] | None:
    """The local model folders visitors may load (models.load.loading.local_model_roots): those
    under ATTENTION_MAPS_MODEL_DIRS; when it is unset, any on a server bound to loopback
    only and none on one other machines can reach.  Both the configured server.address and
    STREAMLIT_SERVER_ADDRESS count (an unset address binds every interface)."""
    addresses = [st.config.get_option("server.address")]
    if "STREAMLIT_SERVER_ADDRESS" in os.environ:
        addresses.append(os.environ["STREAMLIT_SERVER_ADDRESS"])
    return local_model_roots(addresses)


@st.cache_resource(max_entries=4, show_spinner=False)
def _load(name: str, window: int | None, roots: tuple[str, ...] | None, device: str) -> LoadedModel:
    return load_model(
        name,
        window,
        load_dense=lambda dense: _load(*resolve(dense), roots, device),
        allowed_roots=roots,
        device=device,
    )


def app_device_choice() -> str:
    """The server's device choice: ATTENTION_MAPS_DEVICE (auto, cpu or cuda; auto when unset)."""
    return os.environ.get(DEVICE_ENV) or "auto"


def get_model(name: str, window: int | None = None) -> LoadedModel:
    """The loaded model for (name, window) on the server's device; raises ModelLoadError with
    a plain message (also for a local folder this server does not allow, checked on every
    call, and for ATTENTION_MAPS_DEVICE=cuda without a GPU)."""
    name, window = resolve(name, window)
    roots = model_roots()
    check_allowed(name, roots)
    return _load(name, window, roots, app_device_choice())


@st.cache_data(max_entries=32, show_spinner=False)
def tokens(name: str, window: int | None, text: str, text_b: str | None) -> tuple[str, ...]:
    """The tokens the model would see (tokeniser only, no forward pass)."""
    return preview_tokens(get_model(name, window), text, text_b)


@st.cache_resource(max_entries=16, show_spinner=False)
def run_model(
    name: str, window: int | None, text: str, text_b: str | None, global_positions: tuple[int, ...] | None
) -> AttentionResult:
    """One forward pass: every layer's and head's attention."""
    return extract(get_model(name, window), text, text_b, global_positions)


@st.cache_resource(max_entries=16, show_spinner=False)
def run_analysis(
    name: str,
    window: int | None,
    text: str,
    text_b: str | None,
    global_positions: tuple[int, ...] | None,
    exclude_special: bool,
) -> tuple[AttentionResult, dict[View, Analysis]]:
    """The model run (shared with the other pages) and its scores, roles, diagnosis and
    [CLS] rollout in every view the model offers ({"weight": …, "norm": …})."""
    result = run_model(name, window, text, text_b, global_positions)
    return result, analyze_views(result, exclude_special=exclude_special, rollout_views=VIEWS)


@st.cache_resource(max_entries=8, show_spinner=False)
def explore_all(
    _result: AttentionResult, result_key: tuple, params: sparse.PatternParams, share: float
) -> dict[str, sparse.PatternReport]:
    """Every sparse pattern measured on one result (`result_key` identifies `_result`); LSH
    only when the model's family gives plain queries and keys."""
    return {
        pattern: sparse.explore(
            _result.layer_attention, pattern, params, share, queries=_result.queries, keys=_result.keys
        )
        for pattern in sparse.PATTERNS
        if pattern != "lsh" or _result.queries is not None
    }


@st.cache_resource(max_entries=16, show_spinner=False)
def windowed_run(dense_name: str, window: int, text: str, text_b: str | None) -> AttentionResult:
    """The dense model's weights under `window`, cut at the dense model's token limit."""
    dense_limit = get_model(dense_name).spec.max_tokens
    return windowed_extract(get_model(dense_name, window), dense_limit, text, text_b)


@st.cache_resource(max_entries=8, show_spinner=False)
def sweep(dense_name: str, text: str, text_b: str | None, exclude_special: bool) -> tuple[WindowPoint, ...]:
    """The dense run (shared with the analysis page) and one summary per SWEEP_WINDOWS window."""
    dense, _analysis = run_analysis(dense_name, None, text, text_b, None, exclude_special)
    return window_sweep(
        dense, lambda window: windowed_run(dense_name, window, text, text_b), SWEEP_WINDOWS, exclude_special
    )


@st.cache_resource(max_entries=8, show_spinner=False)
def rollout_matrices(_result: AttentionResult, result_key: tuple, view: View, unit: Unit) -> np.ndarray:
    """[L, M, M] rollout of a dense result in a view and unit (`result_key` identifies `_result`)."""
    matrices = attention_rollout(_result, view)
    if unit == "words":
        matrices = merge_words(matrices, result_words(_result))
    matrices.setflags(write=False)
    return matrices


@st.cache_resource(max_entries=32, show_spinner=False)
def rollout_rows(_result: AttentionResult, result_key: tuple, view: View, unit: Unit, query: int) -> np.ndarray:
    """[L, M] rollout of one token's (or word's) row; banded results too (no N×N)."""
    if unit == "words":
        return word_rollout(_result, [query], view)[2][0]
    return query_rollout(_result, [query], view)[0]


@st.cache_resource(max_entries=8, show_spinner=False)
def mixing(name: str, window: int | None, text: str, text_b: str | None, measures: tuple[str, ...]) -> ContextMixing:
    """The context-mixing measures (models.mixing.run) of one input, in MEASURES order; raises
    InputError with the engine's message for a Longformer or another family it cannot read."""
    loaded = get_model(name, window)
    check_family(loaded, dense=True)  # the section draws [N, N] maps
    return context_mixing(loaded, text, text_b, measures)


@st.cache_resource(max_entries=4, show_spinner=False)
def classifier(name: str, window: int | None) -> Classifier | None:
    """The classification head of the model (models.mixing.classifier), or None for a bare
    encoder; raises ModelLoadError where a promised head cannot be loaded."""
    return load_classifier(get_model(name, window))


@st.cache_resource(max_entries=8, show_spinner=False)
def faithfulness(
    name: str, window: int | None, text: str, text_b: str | None, measures: tuple[str, ...]
) -> SentenceFaithfulness:
    """Each measure's Spearman ρ against the model's own gradients and leave-one-out, on the
    cached mixing of the same input (only the ground truths run here)."""
    loaded = get_model(name, window)
    return faithfulness_of(loaded, classifier(name, window), mixing(name, window, text, text_b, measures), text, text_b)


@st.cache_resource(max_entries=8, show_spinner=False)
def compare(name_a: str, name_b: str, text: str, text_b: str | None, exclude_special: bool, view: View) -> Comparison:
    """Model A against model B on one input, in one view (each model runs once, cached)."""
    result_a, analyses_a = run_analysis(name_a, None, text, text_b, None, exclude_special)
    result_b, analyses_b = run_analysis(name_b, None, text, text_b, None, exclude_special)
    if view not in analyses_a or view not in analyses_b:
        raise ValueError(ERR_COMPARE_VIEW)
    return compare_results(result_a, analyses_a[view], result_b, analyses_b[view])


def view_head(result: AttentionResult, view: View, layer: int, head: int) -> np.ndarray:
    """[N, N] one head (0-based) in a view, dense."""
    n = result.n_tokens
    return block(view_layer(result, layer, view), slice(0, n), slice(0, n), head=head)


@st.cache_data(max_entries=1, show_spinner=False)
def image_export_status() -> tuple[bool, str]:
    """Whether PNG/SVG/PDF export works here (starts kaleido's browser once)."""
    return export.image_export_available()
