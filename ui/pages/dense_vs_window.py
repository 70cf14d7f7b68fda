"""The dense-vs-window page: the chosen BERT model's own weights, run densely and under
Longformer's sliding window, side by side, and swept over windows 64 → 4."""

from __future__ import annotations

import numpy as np
import streamlit as st

from i18n import N_, _, format_list
from models.extract.attention import InputError
from models.load.loading import ModelLoadError
from models.load.registry import find_spec
from models.score.roles import ROLE_LABELS, ROLES
from models.sparse.dense_vs_sparse import SWEEP_WINDOWS
from ui import cache, common, inputs, state
from viz import explanations as help_text
from viz import heatmaps
from viz import window_sweep as sweep_figures

COMPARE_MAX_TOKENS = 256  # three token-level heatmaps stay well under 5 MB of plotly JSON


def dense_model_name(name: str, family: str) -> str | None:
    """The dense BERT model whose weights the comparison uses: the chosen model itself, or
    the model a windowed twin is made from (declared in the registry)."""
    spec = find_spec(name)
    if spec is not None and spec.windowed:
        return spec.windowed_from
    return name if family == "bert" else None


def page() -> None:
    shared = inputs.current()
    st.subheader(_("Dense vs Longformer window, same weights"))
    st.markdown(str(help_text.DENSE_VS_WINDOW_HELP))
    if common.show_problems(shared):
        return
    try:
        chosen = cache.get_model(shared.model, shared.window)
        name = dense_model_name(shared.model, chosen.family)
        if name is None:
            st.info(
                str(
                    N_(
                        "This comparison runs a BERT model's own weights under "
                        "Longformer's window, and `{name}` is a {family} "
                        "model. Choose `minilm` (or `minilm-longformer`, its windowed "
                        "twin), another BERT model or a local BERT "
                        "directory in the sidebar."
                    ).format(name=shared.model, family=chosen.family)
                )
            )
            return
        running = str(
            N_("Running `{name}` densely and under {count} windows…").format(name=name, count=len(SWEEP_WINDOWS))
        )
        with st.spinner(running, show_time=True):
            dense, _analysis = cache.run_analysis(name, None, shared.text, shared.text_b, None, shared.exclude_special)
            points = cache.sweep(name, shared.text, shared.text_b, shared.exclude_special)
    except (InputError, ModelLoadError, ValueError) as error:
        st.error(str(error))
        return
    common.model_caption(dense)
    common.notices(dense, prefix=_("Dense model: "))
    st.caption(
        str(
            N_(
                "This page runs `{name}` densely and under windows {windows}, "
                "each time with [CLS] as the global token. "
                "The sidebar's window applies to the other pages."
            ).format(name=name, windows=format_list(map(str, SWEEP_WINDOWS)))
        )
    )
    heads_side_by_side(name, dense, shared)
    _sweep_figures(points)


@st.fragment
def heads_side_by_side(name: str, dense, shared: inputs.Inputs) -> None:
    window = int(st.select_slider(_("Window"), options=SWEEP_WINDOWS, value=8, key="dv_window", bind=state.BIND))
    state.check("dv_window", window)
    layer, head = common.layer_head_picker(dense.model.layers, dense.model.heads)
    windowed = cache.windowed_run(name, window, shared.text, shared.text_b)  # cached by the sweep
    n = min(dense.n_tokens, COMPARE_MAX_TOKENS)
    if dense.n_tokens > COMPARE_MAX_TOKENS:
        st.info(
            str(
                N_("The heatmaps show the first {limit} tokens; the sweep uses all {n}.").format(
                    limit=COMPARE_MAX_TOKENS, n=dense.n_tokens
                )
            )
        )

    def make():
        return heatmaps.compare_heads(
            dense.layer_attention[layer - 1][head - 1][:n, :n],
            windowed.layer_attention[layer - 1][head - 1][:n, :n],
            dense.tokens[:n],
            str(N_("dense L{layer} H{head}").format(layer=layer, head=head)),
            str(N_("window {window} L{layer} H{head}").format(window=window, layer=layer, head=head)),
            settings=shared.figure,
        )

    common.show(make(), "dv_compare")
    common.figure_downloads(make, f"{name}_dense_vs_window{window}_L{layer}H{head}", shared.figure, "dv_dl")


def _sweep_figures(points) -> None:
    # dense first, then the widest window: read left to right as the window shrinks
    ordered = (points[0], *sorted(points[1:], key=lambda p: -p.window))
    labels = [_("dense"), *(str(p.window) for p in ordered[1:])]
    left, right = st.columns(2)
    with left:
        scores = {s: [p.layer_scores[s].mean() for p in ordered] for s in ("cls", "sep", "diagonal", "entropy")}
        common.show(sweep_figures.score_lines(labels, scores), "dv_scores", sized=False, stem="window_sweep_scores")
    with right:
        shares = np.stack([p.layer_roles.mean(axis=0) for p in ordered])
        common.show(sweep_figures.role_bars(labels, shares), "dv_roles", sized=False, stem="window_sweep_roles")
    common.show(
        sweep_figures.moved_heatmap(labels, np.stack([p.moved.mean(axis=1) for p in ordered])),
        "dv_moved",
        sized=False,
        stem="window_sweep_moved",
    )
    dense_roles, narrow = ordered[0].layer_roles.mean(axis=0), ordered[-1]
    narrow_roles = narrow.layer_roles.mean(axis=0)
    changes = [
        N_("{role}: {before:.0%} → {after:.0%}").format(
            role=ROLE_LABELS[role], before=dense_roles[k], after=narrow_roles[k]
        )
        for k, role in enumerate(ROLES)
        if abs(dense_roles[k] - narrow_roles[k]) >= 0.01
    ]
    if changes:
        joined = str(common.SEPARATOR).join(str(change) for change in changes)
        st.caption(
            str(N_("Role shares, dense → window {window}: {changes}.").format(window=narrow.window, changes=joined))
        )
