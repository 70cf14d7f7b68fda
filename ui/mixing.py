"""The analysis page's "What really moves" section: context mixing beyond the attention
weights (models/mixing), for dense BERT-like models.

Measures 1–6 come from the one forward pass and are computed for every input; value zeroing
reruns every layer once per token, so it runs only when the reader ticks it.  One measure's
per-layer map and rollout are drawn as heatmaps; the mixing ratio and the [CLS]/[SEP] shares
per layer as lines, one per measure; then the no-op diagnosis.  A Longformer model or another
family the engine cannot read gets the engine's own message and nothing else.

The measure picker shows identifiers (`alti`), which is what it writes into the link, so a
link opens the same measure in either language; the meaning is written under it.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from i18n import N_
from models.extract.attention import InputError
from models.mixing.diagnosis import MEASURE_LABELS, diagnose_mixing
from models.mixing.measures import MEASURES, Measure
from models.mixing.run import ContextMixing
from models.score.views import Shown
from ui import cache, common, state
from ui.inputs import Inputs
from viz import heatmaps
from viz import mixing as mixing_figures
from viz.layout import FigureSettings

FIRST_SIX: tuple[Measure, ...] = tuple(name for name in MEASURES if name != "value_zeroing")
VALUE_ZEROING_KEY = "mix_vz"
MEASURE_KEY = "mix_measure"
LAYER_KEY = "mix_layer"
LINK_KEYS = (VALUE_ZEROING_KEY, MEASURE_KEY, LAYER_KEY)  # the link parameters of this section

HEADING = N_("What really moves: context mixing")
EXPLANATION = N_(
    "The attention weights say where a head looks, not how much it moves. Each measure below asks "
    "how much of a token's new representation comes from each token, counting more of the layer each "
    "time: the norm of what each head moves (Kobayashi et al. 2020), then the residual connection and "
    "LayerNorm as well (Kobayashi et al. 2021), the second LayerNorm too (GlobEnc, Modarressi et al. "
    "2022), and ALTI, which measures each token's part by how close it lies to the layer's real output "
    "(Ferrando et al. 2022). Value zeroing asks the model itself: rerun the layer with one token's value "
    "vectors set to zero and see how far each output moves (Mohebbi et al. 2023). Rollout multiplies "
    "the layers through (Abnar & Zuidema 2020); the weights and the norm view hold no residual, so "
    "half of each of their layers is taken as the identity first."
)
MEASURE_MEANINGS: dict[Measure, str] = {
    "attention": N_("the attention weights α, mean over heads"),
    "attention_norm": N_("‖Σ_h α f_h(x)‖: the size of what the heads move from each token"),
    "attention_norm_res": N_("the norm view with the residual connection added"),
    "attention_norm_res_ln": N_("the norm view with the residual connection and LayerNorm 1"),
    "globenc": N_("carried on through LayerNorm 2, the feed-forward block skipped (Modarressi et al. 2022)"),
    "alti": N_("each token's part of LayerNorm 1's output, by its distance to that output (Ferrando et al. 2022)"),
    "value_zeroing": N_("how far each output moves when a token's value vectors are zeroed (Mohebbi et al. 2023)"),
}
VALUE_ZEROING_LABEL = N_("Also compute value zeroing (slow)")
VALUE_ZEROING_HELP = N_(
    "Value zeroing reruns every layer once per token: {reruns} layer reruns for these {n} tokens. "
    "Expect seconds for a sentence and minutes near 512 tokens."
)
COMPUTING = N_("Computing the context-mixing measures…")
COMPUTING_ZEROING = N_("Value zeroing: rerunning {layers} layers once for each of {n} tokens…")
MEASURE_LABEL = N_("Measure")
LAYER_LABEL = N_("Layer of the map")
LAYER_TITLE = N_("Layer {layer}: {measure}")
ROLLOUT_TITLE = N_("{measure}, rolled out through layer {layer}")
SHARE = N_("share")
PER_TOKEN = N_("Rows: the token whose new representation is read; columns: where it comes from. Always per token.")
WHY_NOT_COMPUTED = N_("not a measure computed here (value zeroing only when its box is ticked)")


def meaning(name: str) -> str:
    """`name` (label): its meaning, the caption under the measure picker."""
    return f"`{name}` ({MEASURE_LABELS[name]}): {MEASURE_MEANINGS[name]}"


@st.fragment
def mixing_section(shared: Inputs, shown: Shown) -> None:
    st.subheader(str(HEADING))
    name, window, text, text_b, _globals = shared.run_key
    try:
        with st.spinner(str(COMPUTING), show_time=True):
            base = cache.mixing(name, window, text, text_b, FIRST_SIX)
    except InputError as error:
        st.info(str(error), icon=":material/info:")
        return
    st.caption(str(EXPLANATION))
    n, n_layers = len(base.tokens), base.layers["attention"].shape[0]
    with_zeroing = st.checkbox(
        str(VALUE_ZEROING_LABEL),
        key=VALUE_ZEROING_KEY,
        bind=state.BIND,
        help=str(VALUE_ZEROING_HELP.format(reruns=n * n_layers, n=n)),
    )
    mixing = base
    if with_zeroing:
        with st.spinner(str(COMPUTING_ZEROING.format(layers=n_layers, n=n)), show_time=True):
            mixing = cache.mixing(name, window, text, text_b, MEASURES)
    labels = {measure: str(MEASURE_LABELS[measure]) for measure in mixing.measures}
    settings = shared.figure
    maps_section(mixing, shown, settings)
    common.show(
        mixing_figures.ratio_lines(mixing.mixing_ratio, labels, settings),
        "mixing_ratio_chart",
        stem="mixing_ratio",
    )
    cls, sep = _special_token(mixing, mixing.cls_positions), _special_token(mixing, mixing.sep_positions)
    common.show(
        mixing_figures.share_lines(mixing.to_cls, mixing.to_sep, labels, cls, sep, settings),
        "mixing_shares_chart",
        stem="mixing_shares",
    )
    for item in diagnose_mixing(mixing):
        if item.level == "warning":
            st.warning(str(item.message), icon=":material/warning:")
        else:
            st.info(str(item.message), icon=":material/info:")
    for notice in mixing.notices:
        st.caption(str(notice))


def maps_section(mixing: ContextMixing, shown: Shown, settings: FigureSettings) -> None:
    """The measure and layer pickers, and that measure's per-layer map and rollout."""
    n_layers = mixing.layers["attention"].shape[0]
    left, right = st.columns(2)
    with left:
        measure = st.selectbox(
            str(MEASURE_LABEL),
            mixing.measures,
            key=MEASURE_KEY,
            bind=state.BIND,
            help="\n".join(f"- {meaning(name)}" for name in mixing.measures),
        )
        state.check(MEASURE_KEY, measure, WHY_NOT_COMPUTED)
        st.caption(meaning(measure))
    with right:
        layer = st.selectbox(
            str(LAYER_LABEL), range(1, n_layers + 1), index=n_layers // 2, key=LAYER_KEY, bind=state.BIND
        )
        state.check(LAYER_KEY, layer, common.WHY_LAYERS.format(count=n_layers))
    st.caption(str(PER_TOKEN))
    special = _special_mask(mixing, shown)
    label = str(MEASURE_LABELS[measure])
    for key, matrices, title in (
        ("mixing_layer_chart", mixing.layers, LAYER_TITLE),
        ("mixing_rollout_chart", mixing.rollout, ROLLOUT_TITLE),
    ):
        figure = heatmaps.head_heatmap(
            matrices[measure][layer - 1],
            mixing.tokens,
            special,
            title=str(title.format(layer=layer, measure=label)),
            settings=settings,
            colour_title=str(SHARE),
        )
        what = key.removeprefix("mixing_").removesuffix("_chart")
        common.show(figure, key, stem=f"mixing_{measure}_{what}_L{layer}")


def _special_mask(mixing: ContextMixing, shown: Shown) -> np.ndarray:
    """[N] bool: the special tokens, from the analysis run when it tokenised alike, else the
    engine's [CLS] and [SEP] positions."""
    result = shown.result
    if tuple(result.tokens) == mixing.tokens:
        return np.asarray(result.special_mask, dtype=bool)
    mask = np.zeros(len(mixing.tokens), dtype=bool)
    mask[list(mixing.cls_positions) + list(mixing.sep_positions)] = True
    return mask


def _special_token(mixing: ContextMixing, positions: tuple[int, ...]) -> str:
    return mixing.tokens[positions[0]] if positions else "—"
