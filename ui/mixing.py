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
from models.load.loading import ModelLoadError
from models.mixing.diagnosis import MEASURE_LABELS, diagnose_mixing
from models.mixing.faithfulness import SentenceFaithfulness, ranked
from models.mixing.measures import MEASURES, Measure
from models.mixing.run import ContextMixing
from models.score.views import Shown
from ui import cache, common, state
from ui.inputs import Inputs
from viz import export, heatmaps
from viz import mixing as mixing_figures
from viz.layout import FigureSettings

FIRST_SIX: tuple[Measure, ...] = tuple(name for name in MEASURES if name != "value_zeroing")
VALUE_ZEROING_KEY = "mix_vz"
MEASURE_KEY = "mix_measure"
LAYER_KEY = "mix_layer"
FAITHFULNESS_KEY = "mix_faith"
LINK_KEYS = (VALUE_ZEROING_KEY, MEASURE_KEY, LAYER_KEY, FAITHFULNESS_KEY)  # the link parameters of this section

MEASURE_MEANINGS: dict[Measure, str] = {
    "attention": N_("the attention weights α, mean over heads"),
    "attention_norm": N_("‖Σ_h α f_h(x)‖: the size of what the heads move from each token"),
    "attention_norm_res": N_("the norm view with the residual connection added"),
    "attention_norm_res_ln": N_("the norm view with the residual connection and LayerNorm 1"),
    "globenc": N_("carried on through LayerNorm 2, the feed-forward block skipped (Modarressi et al. 2022)"),
    "alti": N_("each token's part of LayerNorm 1's output, by its distance to that output (Ferrando et al. 2022)"),
    "value_zeroing": N_("how far each output moves when a token's value vectors are zeroed (Mohebbi et al. 2023)"),
}
FAITH_HEADING = N_("Which map to trust on this model")
FAITH_LIMIT = 128  # content tokens: above this the leave-one-out reruns take longer than the page
COLUMN_GRADIENT = N_("ρ vs gradient×input")
COLUMN_LOO = N_("ρ vs leave-one-out")


def meaning(name: str) -> str:
    """`name` (label): its meaning, the caption under the measure picker."""
    return f"`{name}` ({MEASURE_LABELS[name]}): {MEASURE_MEANINGS[name]}"


@st.fragment
def mixing_section(shared: Inputs, shown: Shown) -> None:
    st.subheader(str(N_("What really moves: context mixing")))
    name, window, text, text_b, _globals = shared.run_key
    try:
        with st.spinner(str(N_("Computing the context-mixing measures…")), show_time=True):
            base = cache.mixing(name, window, text, text_b, FIRST_SIX)
    except InputError as error:
        st.info(str(error), icon=":material/info:")
        return
    st.caption(
        str(
            N_(
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
        )
    )
    n, n_layers = len(base.tokens), base.layers["attention"].shape[0]
    with_zeroing = st.checkbox(
        str(N_("Also compute value zeroing (slow)")),
        key=VALUE_ZEROING_KEY,
        bind=state.BIND,
        help=str(
            N_(
                "Value zeroing reruns every layer once per token: {reruns} layer reruns for these {n} tokens. "
                "Expect seconds for a sentence and minutes near 512 tokens."
            ).format(reruns=n * n_layers, n=n)
        ),
    )
    mixing, measures = base, FIRST_SIX
    if with_zeroing:
        measures = MEASURES
        with st.spinner(
            str(
                N_("Value zeroing: rerunning {layers} layers once for each of {n} tokens…").format(layers=n_layers, n=n)
            ),
            show_time=True,
        ):
            mixing = cache.mixing(name, window, text, text_b, measures)
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
    faithfulness_section(shared, mixing, measures)


def faithfulness_section(shared: Inputs, mixing: ContextMixing, measures: tuple[Measure, ...]) -> None:
    """The ranked faithfulness table of the measures drawn above (`mixing`, computed for
    `measures`), when the reader asks for it."""
    name, window, text, text_b, _globals = shared.run_key
    st.markdown(f"**{FAITH_HEADING}**")
    k = len(mixing.tokens) - len(set(mixing.cls_positions) | set(mixing.sep_positions))
    if not st.checkbox(
        str(N_("Rank the maps against the model's own behaviour")),
        value=True,
        key=FAITHFULNESS_KEY,
        bind=state.BIND,
        help=str(
            N_(
                "Ranks the content tokens by each map and by what the model itself does, then compares the two "
                "rankings (Spearman's ρ). Leave-one-out reruns the model once for each of the {k} content tokens."
            ).format(k=k)
        ),
    ):
        return
    if k > FAITH_LIMIT:
        st.info(
            str(
                N_(
                    "This input has {k:,} content tokens: ranking the maps would "
                    "rerun the model {k:,} times, so the app "
                    "ranks inputs of up to {limit} content tokens. `cli.py "
                    "mixing TEXT --faithfulness` ranks any length."
                ).format(k=k, limit=FAITH_LIMIT)
            ),
            icon=":material/info:",
        )
        return
    try:
        with st.spinner(
            str(N_("Faithfulness: rerunning the model without each of {k} tokens…").format(k=k)), show_time=True
        ):
            result = cache.faithfulness(name, window, text, text_b, measures)
    except (ModelLoadError, InputError) as error:
        st.warning(str(error), icon=":material/warning:")
        return
    if result.content < 2:
        st.info(str(N_("Fewer than two content tokens: there is no ranking to compare.")), icon=":material/info:")
        return
    table = faithfulness_table(result)
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            str(COLUMN_GRADIENT): st.column_config.NumberColumn(format="%.2f"),
            str(COLUMN_LOO): st.column_config.NumberColumn(format="%.2f"),
        },
    )
    order = ranked(result)
    truth = "gradient_x_input" if result.reader == "cls" else "leave_one_out"
    defined = [(measure, rho[truth]) for measure, rho in order if not np.isnan(rho.get(truth, np.nan))]
    if len(defined) >= 2:
        (best, high), (worst, low) = defined[0], defined[-1]
        st.caption(
            str(
                N_(
                    "On this input, {best} agrees best with the model (ρ = "
                    "{high:.2f}) and {worst} least (ρ = {low:.2f})."
                ).format(best=MEASURE_LABELS[best], high=high, worst=MEASURE_LABELS[worst], low=low)
            )
        )
    about = (
        N_(
            "Spearman's ρ between each map's last-layer rollout row of {token} (what the classifier reads) and "
            "the model's own behaviour over the {k} content tokens: gradient×input of the predicted logit, "
            "and the drop in the predicted class's probability when the token is left out. 1 is the same "
            "ranking, 0 unrelated, below 0 opposite."
        )
        if result.reader == "cls"
        else N_(
            "Spearman's ρ between each map's mean last-layer rollout row (this model mean-pools its tokens) and "
            "how far the pooled sentence vector moves (1 − cos) when each of the {k} content tokens is left "
            "out. 1 is the same ranking, 0 unrelated, below 0 opposite. Gradient×input needs a classification "
            "head: a *ForSequenceClassification folder, or the one `make finetune` writes."
        )
    )
    st.caption(str(about.format(token=_special_token(mixing, mixing.cls_positions), k=result.content)))
    st.caption(
        str(
            N_(
                "One sentence is a small sample: `cli.py mixing --corpus FILE --faithfulness` gives each "
                "measure's mean ρ over a corpus with its {level:.0%} interval (docs/faithfulness.md)."
            ).format(level=0.95)
        )
    )
    st.download_button(
        str(N_("Faithfulness (CSV)")),
        export.table_csv(table),
        file_name=f"{common.file_stem('faithfulness')}.csv",
        mime="text/csv",
        on_click="ignore",
        key="dl_faithfulness_csv",
        icon=":material/download:",
    )


def faithfulness_table(result: SentenceFaithfulness) -> dict[str, list]:
    """Column → values, most faithful measure first; a truth the model has no head for is absent."""
    order = ranked(result)
    table: dict[str, list] = {
        str(N_("rank")): list(range(1, len(order) + 1)),
        str(N_("measure")): [str(MEASURE_LABELS[measure]) for measure, _rho in order],
    }
    for truth, column in (("gradient_x_input", COLUMN_GRADIENT), ("leave_one_out", COLUMN_LOO)):
        if all(truth in rho for _measure, rho in order):
            table[str(column)] = [round(float(rho[truth]), 4) for _measure, rho in order]
    return table


def maps_section(mixing: ContextMixing, shown: Shown, settings: FigureSettings) -> None:
    """The measure and layer pickers, and that measure's per-layer map and rollout."""
    n_layers = mixing.layers["attention"].shape[0]
    left, right = st.columns(2)
    with left:
        measure = st.selectbox(
            str(N_("Measure")),
            mixing.measures,
            key=MEASURE_KEY,
            bind=state.BIND,
            help="\n".join(f"- {meaning(name)}" for name in mixing.measures),
        )
        state.check(MEASURE_KEY, measure, N_("not a measure computed here (value zeroing only when its box is ticked)"))
        st.caption(meaning(measure))
    with right:
        layer = st.selectbox(
            str(N_("Layer of the map")), range(1, n_layers + 1), index=n_layers // 2, key=LAYER_KEY, bind=state.BIND
        )
        state.check(LAYER_KEY, layer, common.WHY_LAYERS.format(count=n_layers))
    st.caption(
        str(N_("Rows: the token whose new representation is read; columns: where it comes from. Always per token."))
    )
    special = _special_mask(mixing, shown)
    label = str(MEASURE_LABELS[measure])
    for key, matrices, title in (
        ("mixing_layer_chart", mixing.layers, N_("Layer {layer}: {measure}")),
        ("mixing_rollout_chart", mixing.rollout, N_("{measure}, rolled out through layer {layer}")),
    ):
        figure = heatmaps.head_heatmap(
            matrices[measure][layer - 1],
            mixing.tokens,
            special,
            title=str(title.format(layer=layer, measure=label)),
            settings=settings,
            colour_title=str(N_("share")),
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
