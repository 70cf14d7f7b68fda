"""Sections of the analysis page about what flows where: attention rollout (Abnar &
Zuidema 2020) and the size of each token's value vectors (Kobayashi et al. 2020).

The rollout's token is written into the link by position (`rollout_token=4`), the form it
is read back in: a bound selectbox would write its label (`4·fox`), which names the
token of one text and one unit only.  So the selectbox is seeded from the link here, and
ui.state.write_link writes its position; a link of the older label form still opens when
that label is this input's token at that position.
"""

from __future__ import annotations

import streamlit as st

from i18n import N_, _
from models.score.views import Shown
from ui import cache, common, state
from viz import explanations as help_text
from viz import flow, heatmaps
from viz.figures import VIEW_NOTES
from viz.layout import FigureSettings

ROLLOUT_TOKEN = "rollout_token"  # the selectbox's key and the link's parameter


@st.fragment
def rollout_section(shown: Shown, run_key: tuple, settings: FigureSettings) -> None:
    result = shown.result
    st.subheader(_("Attention rollout: where each token's representation comes from"))
    st.caption(str(help_text.ROLLOUT_HELP))
    n_layers = result.model.layers
    labels = [f"{i}·{label}" for i, label in enumerate(shown.labels)]
    first_cls = next((i for i, special in enumerate(shown.special_mask) if special), 0)
    left, right = st.columns(2)
    _seed_token(labels, first_cls)
    query = left.selectbox(
        _("Token"),
        range(shown.size),
        index=first_cls,
        format_func=labels.__getitem__,
        key=ROLLOUT_TOKEN,
    )
    state.write_link({ROLLOUT_TOKEN: None if query == first_cls else str(query)}, "rollout")
    layer = right.selectbox(
        _("After layer"), range(1, n_layers + 1), index=n_layers - 1, key="rollout_layer", bind=state.BIND
    )
    state.check("rollout_layer", layer, common.WHY_LAYERS.format(count=n_layers))
    with st.spinner(_("Multiplying the layers through…")):
        rows = cache.rollout_rows(shown.result, run_key, shown.view, shown.unit, query)  # [L, M]
    common.show(
        flow.rollout_bars(
            rows[layer - 1], shown.labels, shown.special_mask, labels[query], layer, str(VIEW_NOTES[shown.view])
        ),
        "rollout_bars",
        sized=False,
        stem=f"rollout_bars_L{layer}_from{query}_{shown.view}_{shown.unit}",
    )
    if result.is_banded:
        st.caption(
            _(
                "This long input stays banded, so the rollout follows the chosen token's row only "
                "(never an N×N matrix); the full map is drawn for inputs up to 512 tokens."
            )
        )
        return
    matrices = cache.rollout_matrices(shown.result, run_key, shown.view, shown.unit)  # [L, M, M]

    def make():
        return heatmaps.head_heatmap(
            matrices[layer - 1],
            shown.labels,
            shown.special_mask,
            shown.global_positions,
            title=str(N_("Rollout after layer {layer}").format(layer=layer)),
            settings=settings,
            note=str(VIEW_NOTES[shown.view]),
            colour_title=_("share"),
        )

    common.show(make(), "rollout_chart")
    common.figure_downloads(
        make, f"{result.model.key}_rollout_L{layer}_{shown.view}_{shown.unit}", settings, "dl_rollout"
    )


def token_of_link(value: str, labels: list[str]) -> int | None:
    """The position a link's rollout_token stands for: a position (`4`), or the label older
    links wrote (`4·fox`) when it is the label of this input's token at that position;
    None for anything else."""
    head, dot, _rest = value.partition("·")
    if not (head.isascii() and head.isdigit()) or int(head) >= len(labels):
        return None
    position = int(head)
    return position if not dot or value == labels[position] else None


def _seed_token(labels: list[str], default: int) -> None:
    """Before the token selectbox: on a Back/Forward run, the token of the link the browser
    went back to; once per session, the token of the link it was opened with (a note says
    when that link's value is not a position of this input)."""
    restored = state.restored(ROLLOUT_TOKEN)
    if restored is not None:
        position = token_of_link(restored[-1], labels) if restored else None
        st.session_state[ROLLOUT_TOKEN] = default if position is None else position
        return
    given = state.linked_once(ROLLOUT_TOKEN)
    if not given:
        return
    position = token_of_link(given[-1], labels)
    if position is None:
        state.reject(ROLLOUT_TOKEN, given[-1], N_("not a position of this input"), labels[default])
    else:
        st.session_state[ROLLOUT_TOKEN] = position


def value_norms_section(shown: Shown) -> None:
    st.subheader(_("How much each token can move: ‖f(x)‖"))
    if shown.result.value_norms is None:
        st.info(_("This model's family has no value capture, so the norm view and this figure are not available."))
        return
    st.caption(str(help_text.VALUE_NORMS_HELP))
    figure = flow.value_norm_heatmap(shown.value_norms, shown.labels, shown.special_mask)
    common.show(figure, "value_norms_chart", sized=False, stem="value_norms")
