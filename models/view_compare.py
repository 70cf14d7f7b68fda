"""The diagnosis that compares the two views: attention weight against what is moved.

Kobayashi et al. 2020 showed that heavy attention on [CLS]/[SEP] often moves little,
because those tokens' transformed value vectors ‖f(x)‖ are small.  These messages say so
in numbers taken straight from the analysis arrays: each view's layer partition
([L, 4], models/scores.py PART_NAMES) and the value norms [L, H, N].
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from models.roles import Diagnosis, RoleThresholds
from models.scores import PART_NAMES

SPECIAL_ROLES = ("cls", "sep")
NO_OP_SHARE = 0.5  # the norm view keeps at most this share of the weight view's mass: "mostly a no-op"
SAME_SIZE = 1.5  # norm ratios within this factor read "about as large as"


def layers_phrase(layers: Sequence[int]) -> str:
    """0-based layers → "layer 3", "layers 2–5" or "layers 1, 3 and 4" (1-based, runs joined)."""
    layers = sorted(int(layer) + 1 for layer in layers)
    runs: list[list[int]] = []
    for layer in layers:
        if runs and layer == runs[-1][-1] + 1:
            runs[-1].append(layer)
        else:
            runs.append([layer])
    parts = [f"{run[0]}–{run[-1]}" if len(run) > 1 else f"{run[0]}" for run in runs]
    if len(layers) == 1:
        return f"layer {parts[0]}"
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"layers {joined}"


def size_phrase(ratio: float, label: str) -> str:
    """How a special token's mean ‖f(x)‖ compares with the words': ratio = words / special."""
    if ratio >= SAME_SIZE:
        return f"{ratio:.0f}× smaller than the words'" if ratio >= 10 else f"{ratio:.1f}× smaller than the words'"
    if ratio <= 1 / SAME_SIZE:
        return f"{1 / ratio:.1f}× larger than the words'"
    return "about as large as the words'"


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
        span = layers_phrase(layers)
        opening = f"{span[0].upper()}{span[1:]} put {by_weight:.0%} of their attention weight on {label}"
        if by_norm <= NO_OP_SHARE * by_weight:
            found.append(Diagnosis("info", (
                f"{opening}, but {label}'s value vectors are {size_phrase(ratio, label)}, so only "
                f"{by_norm:.0%} of what these heads move comes from {label} (norm view, Kobayashi et al. 2020). "
                f"Heavy {label} attention here is mostly a no-op, not clogged flow."
            )))
        else:
            found.append(Diagnosis("info", (
                f"{opening}, and {by_norm:.0%} of what these heads move comes from {label} (norm view, "
                f"Kobayashi et al. 2020; its value vectors are {size_phrase(ratio, label)}): "
                f"the attention on {label} carries real information here."
            )))
    by_weight = float(np.isin(weight_roles, SPECIAL_ROLES).mean())
    by_norm = float(np.isin(norm_roles, SPECIAL_ROLES).mean())
    if by_norm >= thresholds.clog_share:
        note = "" if by_weight >= thresholds.clog_share else (
            f" The two views disagree: by attention weight only {by_weight:.0%} of heads look mostly at [CLS]/[SEP]."
        )
        found.append(Diagnosis("warning", (
            f"{by_norm:.0%} of heads, in every part of the stack, move mostly [CLS]/[SEP] information "
            "(norm view): words barely exchange information, which can point to over-fitting or too "
            "little variety in the training input. When fine-tuning, freezing or re-initialising some "
            f"layers can help.{note}"
        )))
    elif by_weight >= thresholds.clog_share:
        found.append(Diagnosis("info", (
            f"By attention weight {by_weight:.0%} of heads look mostly at [CLS]/[SEP], which would suggest "
            f"clogged information flow, but by norm only {by_norm:.0%} of heads move mostly [CLS]/[SEP] "
            "information. The two views disagree, and the norm view (what is actually moved) says the "
            "flow is not clogged."
        )))
    return tuple(found)
