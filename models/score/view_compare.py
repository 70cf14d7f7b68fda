"""The diagnosis that compares the two views: attention weight against what is moved.

Kobayashi et al. 2020 showed that heavy attention on [CLS]/[SEP] often moves little,
because those tokens' transformed value vectors ‖f(x)‖ are small.  These messages say so
in numbers taken straight from the analysis arrays: each view's layer partition
([L, 4], models/score/scores.py PART_NAMES) and the value norms [L, H, N].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from i18n import N_, LazyText, format_list
from models.score.roles import LAYER, LAYER_START, Diagnosis, RoleThresholds
from models.score.scores import PART_NAMES

SPECIAL_ROLES = ("cls", "sep")
NO_OP_SHARE = 0.5  # the norm view keeps at most this share of the weight view's mass: "mostly a no-op"
SAME_SIZE = 1.5  # norm ratios within this factor read "about as large as"

# {span}: "Layers 2–3"; {label}: the special token as the tokenizer writes it ([CLS], <s>, [SEP]);
# {size}: one of the size phrases above.
NO_OP = N_(
    "{span} put {weight:.0%} of their attention weight on {label}, but {label}'s value vectors are {size}, "
    "so only {norm:.0%} of what these heads move comes from {label} (norm view, Kobayashi et al. 2020). "
    "Heavy {label} attention here is mostly a no-op, not clogged flow."
)


def layers_phrase(layers: Sequence[int], start: bool = False) -> LazyText:
    """0-based layers → "layer 3", "layers 2–5" or "layers 1, 3 and 4" (1-based, runs joined);
    start=True for the start of a sentence ("Layers 2–5")."""
    layers = sorted(int(layer) + 1 for layer in layers)
    runs: list[list[int]] = []
    for layer in layers:
        if runs and layer == runs[-1][-1] + 1:
            runs[-1].append(layer)
        else:
            runs.append([layer])
    if len(layers) == 1:
        return (LAYER_START if start else LAYER).format(layer=layers[0])
    parts = [N_("{first}–{last}").format(first=run[0], last=run[-1]) if len(run) > 1 else str(run[0]) for run in runs]
    return (N_("Layers {layers}") if start else N_("layers {layers}")).format(layers=format_list(parts))


def size_phrase(ratio: float, label: str) -> LazyText:
    """How a special token's mean ‖f(x)‖ compares with the words': ratio = words / special."""
    if ratio >= SAME_SIZE:
        return (
            N_("{ratio:.0f}× smaller than the words'") if ratio >= 10 else N_("{ratio:.1f}× smaller than the words'")
        ).format(ratio=ratio)
    if ratio <= 1 / SAME_SIZE:
        return N_("{ratio:.1f}× larger than the words'").format(ratio=1 / ratio)
    return N_("about as large as the words'")


def share_claim(template: LazyText, layers: Sequence[int], label: str, ratio: float, **numbers) -> LazyText:
    """A claim about the special token `label` in `layers` (NO_OP or its "carries" twin, for one
    sentence or a corpus): the template filled with the layer span, the token, how its value
    vectors compare with the words' (ratio = words / special) and the view's `numbers`."""
    return template.format(
        span=layers_phrase(layers, start=True), label=label, size=size_phrase(ratio, label), **numbers
    )


def compare_views(
    weight_partition: np.ndarray,  # [L, 4] layer partition, weight view
    norm_partition: np.ndarray,  # [L, 4] layer partition, norm view
    weight_roles: np.ndarray,  # [L, H]
    norm_roles: np.ndarray,  # [L, H]
    value_norms: np.ndarray,  # [L, H, N]
    special: dict[str, tuple[tuple[int, ...], str]],  # "cls"/"sep" → (positions, token label)
    special_mask: np.ndarray,  # [N] bool
    thresholds: RoleThresholds = RoleThresholds(),
) -> tuple[Diagnosis, ...]:
    """Messages comparing the views: the special-token shares, and the clogged-flow warning.

    The warning is judged on the norm view (what is moved); where the weight view would
    say otherwise, the message says that the two views disagree.
    """
    found: list[Diagnosis] = []
    content = ~np.asarray(special_mask, dtype=bool)
    for part, kind in (("to_cls", "cls"), ("to_sep", "sep")):
        positions, label = special.get(kind, ((), ""))
        if not positions or not content.any():
            continue
        k = PART_NAMES.index(part)
        layers = np.flatnonzero(weight_partition[:, k] >= thresholds.focus)
        if layers.size == 0:
            continue
        by_weight = float(weight_partition[layers, k].mean())
        by_norm = float(norm_partition[layers, k].mean())
        ratio = float(value_norms[layers][:, :, content].mean() / value_norms[layers][:, :, list(positions)].mean())
        template = (
            NO_OP
            if by_norm <= NO_OP_SHARE * by_weight
            else N_(
                "{span} put {weight:.0%} of their attention weight on {label}, and {norm:.0%} of what these heads move "
                "comes from {label} (norm view, Kobayashi et al. 2020; its value vectors are {size}): the attention "
                "on {label} carries real information here."
            )
        )
        claim = share_claim(template, layers, label, ratio, weight=by_weight, norm=by_norm)
        found.append(Diagnosis("info", claim, topic=kind))
    by_weight = float(np.isin(weight_roles, SPECIAL_ROLES).mean())
    by_norm = float(np.isin(norm_roles, SPECIAL_ROLES).mean())
    if by_norm >= thresholds.clog_share:
        template = (
            N_(
                "{norm:.0%} of heads, in every part of the stack, move mostly [CLS]/[SEP] information (norm view): "
                "words barely exchange information, which can point to over-fitting or too little variety in the "
                "training input. When fine-tuning, freezing or re-initialising some layers can help."
            )
            if by_weight >= thresholds.clog_share
            else N_(
                "{norm:.0%} of heads, in every part of the stack, move mostly [CLS]/[SEP] information (norm view): "
                "words barely exchange information, which can point to over-fitting or too little variety in the "
                "training input. When fine-tuning, freezing or re-initialising some layers can help. The two views "
                "disagree: by attention weight only {weight:.0%} of heads look mostly at [CLS]/[SEP]."
            )
        )
        found.append(Diagnosis("warning", template.format(norm=by_norm, weight=by_weight)))
    elif by_weight >= thresholds.clog_share:
        found.append(
            Diagnosis(
                "info",
                N_(
                    "By attention weight {weight:.0%} of heads look mostly at [CLS]/[SEP], which would suggest clogged "
                    "information flow, but by norm only {norm:.0%} of heads move "
                    "mostly [CLS]/[SEP] information. The two "
                    "views disagree, and the norm view (what is actually moved) says the flow is not clogged."
                ).format(weight=by_weight, norm=by_norm),
            )
        )
    return tuple(found)
