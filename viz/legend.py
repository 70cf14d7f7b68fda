"""What several figures share, defined once so it reads the same on every page: axis and
trace words (each translated once) and the colours of the mass partition and of the roles."""

from __future__ import annotations

from i18n import N_

LAYER = N_("layer")  # an axis title
LAYER_NAME = N_("layer {layer}")  # a trace or tick name
HEAD_NAME = N_("head {head}")
SHARE_OF_ATTENTION = N_("share of attention")
SHARE_OF_HEADS = N_("share of heads")

PART_COLOURS: dict[str, str] = {
    "to_cls": "#1f77b4",
    "to_sep": "#ff7f0e",
    "near_diagonal": "#2ca02c",
    "rest": "#bbbbbb",
}
ROLE_COLOURS: dict[str, str] = {
    "local": "#2ca02c",
    "cls": "#1f77b4",
    "sep": "#ff7f0e",
    "punct": "#9467bd",
    "broad": "#8c564b",
    "mixed": "#bbbbbb",
}
