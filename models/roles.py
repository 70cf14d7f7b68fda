"""Name each head's role from its scores, split roles by layer, and diagnose the layer story.

Rules (thresholds after Clark et al. 2019, overridable through `RoleThresholds`), first match wins:
  cls / sep   ≥ `special` (0.6) of the mass on [CLS] + [SEP]; named after the larger of the two
  local       ≥ `positional` (0.5) on one offset: the previous token, itself or the next token
  punct       ≥ `punct` (0.5) on "." and ","
  broad       normalised entropy ≥ `broad` (0.78; Clark's 3.8 nats at 128 tokens is 0.78·ln 128)
  mixed       none of the above
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, get_args

import numpy as np

from models.scores import PART_NAMES

Role = Literal["local", "cls", "sep", "punct", "broad", "mixed"]
ROLES: tuple[Role, ...] = get_args(Role)
ROLE_LABELS: dict[Role, str] = {
    "local": "local / diagonal",
    "cls": "[CLS] aggregation",
    "sep": "[SEP] boundary",
    "punct": "punctuation",
    "broad": "broad",
    "mixed": "mixed",
}
Level = Literal["info", "warning"]


@dataclass(frozen=True)
class RoleThresholds:
    special: float = 0.6  # mass on [CLS] + [SEP] for a cls/sep head
    positional: float = 0.5  # mass on one positional offset (-1, 0, +1) for a local head
    punct: float = 0.5  # mass on "." and "," for a punctuation head
    broad: float = 0.78  # normalised entropy for a broad head
    clog_share: float = 0.9  # share of cls/sep heads, over all layers, that raises the warning
    neighbours: float = 0.2  # mean layer mass within one token that counts as "looks at neighbours"
    focus: float = 0.4  # mean layer mass on [CLS] or [SEP] that counts as "focus" in the story
    look_back: float = 0.5  # [CLS]-row mass on words that counts as "looks back over the sentence"


@dataclass(frozen=True)
class Diagnosis:
    level: Level
    message: str


def classify_heads(scores: Mapping[str, np.ndarray], thresholds: RoleThresholds = RoleThresholds()) -> np.ndarray:
    """[L, H] array of role names from the score arrays ([L, H] each)."""
    cls, sep = scores["cls"], scores["sep"]
    positional = np.maximum.reduce([scores["prev"], scores["diagonal"], scores["next"]])
    roles = np.full(cls.shape, "mixed", dtype=object)
    rules = [
        (cls + sep >= thresholds.special, np.where(cls >= sep, "cls", "sep")),
        (positional >= thresholds.positional, "local"),
        (scores["punct"] >= thresholds.punct, "punct"),
        (scores["entropy"] >= thresholds.broad, "broad"),
    ]
    assigned = np.zeros(cls.shape, dtype=bool)
    for hit, role in rules:
        take = hit & ~assigned
        roles[take] = role[take] if isinstance(role, np.ndarray) else role
        assigned |= take
    return roles


def role_shares(roles: np.ndarray) -> np.ndarray:
    """[L, len(ROLES)]: the share of each layer's heads in each role (rows sum to 1)."""
    return (np.asarray(roles)[:, :, None] == np.array(ROLES, dtype=object)).mean(axis=1)


def layer_bands(n_layers: int) -> dict[str, np.ndarray]:
    """Lower / middle / upper thirds of the stack (0-based layer indices)."""
    lower, middle, upper = np.array_split(np.arange(n_layers), 3)
    return {"lower": lower, "middle": middle, "upper": upper}


def summary_layers(layer_summary: np.ndarray, count: int = 2) -> tuple[int, ...]:
    """0-based layers whose [CLS] is the best sentence-summary candidate, best first."""
    order = np.argsort(-layer_summary, kind="stable")
    return tuple(int(layer) for layer in order[:count] if layer_summary[layer] > 0)


def _span(layers: np.ndarray) -> str:
    first, last = int(layers[0]) + 1, int(layers[-1]) + 1
    return f"layer {first}" if first == last else f"layers {first}–{last}"


def diagnose(
    roles: np.ndarray,  # [L, H]
    layer_partition: np.ndarray,  # [L, 4] mass partition averaged over heads
    cls_out: np.ndarray,  # [L, H]
    summary: tuple[int, ...],
    thresholds: RoleThresholds = RoleThresholds(),
    warn: bool = True,
) -> tuple[Diagnosis, ...]:
    """Plain-language reading of the layer-by-layer role split.

    warn=False leaves out the clogged-flow warning (models/view_compare.py judges it on the
    norm view when value norms are available).
    """
    parts = {name: layer_partition[:, k] for k, name in enumerate(PART_NAMES)}
    found: list[Diagnosis] = []
    special_share = float(np.isin(roles, ("cls", "sep")).mean())
    if warn and special_share >= thresholds.clog_share:
        found.append(
            Diagnosis(
                "warning",
                f"{special_share:.0%} of heads, in every part of the stack, put most of their attention "
                "on [CLS]/[SEP]. Words barely exchange information, which can point to over-fitting "
                "or too little variety in the training input. When fine-tuning, freezing or "
                "re-initialising some layers can help.",
            )
        )
    if roles.shape[0] < 3:
        found.append(Diagnosis("info", "The model has fewer than three layers, so there is no layer story to tell."))
        return tuple(found)

    bands = layer_bands(roles.shape[0])
    lower, middle, upper = bands["lower"], bands["middle"], bands["upper"]
    near_low = float(parts["near_diagonal"][lower].mean())
    near_above = float(parts["near_diagonal"][np.concatenate([middle, upper])].mean())
    local_low = float((roles[lower] == "local").mean())
    if local_low >= 0.25:
        found.append(
            Diagnosis(
                "info",
                f"{_span(lower).capitalize()} look at themselves and their neighbours: {local_low:.0%} of their "
                f"heads are local, and {near_low:.0%} of their attention stays within one token. Word-level, "
                "syntax-like processing, as expected low in the stack.",
            )
        )
    elif near_low >= thresholds.neighbours and near_low > near_above:
        found.append(
            Diagnosis(
                "info",
                f"{_span(lower).capitalize()} keep more of their attention within one token ({near_low:.0%}) than "
                f"the layers above ({near_above:.0%}), though only {local_low:.0%} of their heads are mainly local.",
            )
        )
    cls_low = float(parts["to_cls"][lower].mean())
    if cls_low >= thresholds.focus:
        found.append(
            Diagnosis(
                "info",
                f"{_span(lower).capitalize()} already send {cls_low:.0%} of attention to [CLS]: "
                "the sentence is starting to be gathered into one place. This is normal.",
            )
        )
    cls_mid, sep_mid = float(parts["to_cls"][middle].mean()), float(parts["to_sep"][middle].mean())
    if sep_mid >= thresholds.focus:
        found.append(
            Diagnosis(
                "info",
                f"{_span(middle).capitalize()} send {sep_mid:.0%} of attention to [SEP]: they mark "
                "sentence boundaries, which matters most for sentence pairs. This is normal.",
            )
        )
    if cls_mid >= thresholds.focus:
        found.append(
            Diagnosis(
                "info",
                f"{_span(middle).capitalize()} gather {cls_mid:.0%} of attention into [CLS]: "
                "the middle of the stack pools the sentence's information. This is normal.",
            )
        )
    per_layer_out = cls_out.mean(axis=1)
    looking = [int(layer) for layer in upper if per_layer_out[layer] >= thresholds.look_back]
    if looking:
        share = float(per_layer_out[looking].mean())
        found.append(
            Diagnosis(
                "info",
                f"In {_span(np.array(looking))}, [CLS] spends {share:.0%} of its own attention on the words: "
                "it looks back over the sentence, getting ready to summarise it.",
            )
        )
    if summary:
        names = " and ".join(str(layer + 1) for layer in summary)
        label = "layer" if len(summary) == 1 else "layers"
        found.append(
            Diagnosis(
                "info",
                f"Best [CLS] sentence-summary candidates: {label} {names} "
                "(their [CLS] spreads the most attention evenly over the words).",
            )
        )
    if not found:
        found.append(Diagnosis("info", "No clear layer story for this input: heads are mostly mixed."))
    return tuple(found)
