"""Name each head's role from its scores, split roles by layer, and diagnose the layer story.

Rules (thresholds after Clark et al. 2019, overridable through `RoleThresholds`), first match wins:
  cls / sep   ≥ `special` (0.6) of the mass on [CLS] + [SEP]; named after the larger of the two
  local       ≥ `positional` (0.5) on one offset: the previous token, itself or the next token
  punct       ≥ `punct` (0.5) on "." and ","
  broad       normalised entropy ≥ `broad` (0.78; Clark's 3.8 nats at 128 tokens is 0.78·ln 128)
  mixed       none of the above
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import get_args

import numpy as np

from i18n import N_, LazyText, format_list, lazy_ngettext
from models.score.scores import PART_NAMES
from models.types import Level, Role

ROLES: tuple[Role, ...] = get_args(Role)
ROLE_LABELS: dict[Role, str] = {
    "local": N_("local / diagonal"),
    "cls": N_("[CLS] aggregation"),
    "sep": N_("[SEP] boundary"),
    "punct": N_("punctuation"),
    "broad": N_("broad"),
    "mixed": N_("mixed"),
}

LAYER = N_("layer {layer}")
LAYER_START = N_("Layer {layer}")  # the same at the start of a sentence
# {span} is a layer span ("Layers 1–2"); {n} is its number of layers (English verb agreement).
DIAG_CLOGGED = N_(
    "{share:.0%} of heads, in every part of the stack, put most of their attention on [CLS]/[SEP]. "
    "Words barely exchange information, which can point to over-fitting or too little variety in the "
    "training input. When fine-tuning, freezing or re-initialising some layers can help."
)
DIAG_LOCAL = lazy_ngettext(
    "{span} looks at itself and its neighbours: {local:.0%} of its heads are local, and {near:.0%} of "
    "its attention stays near the diagonal (the token itself and its neighbours). Word-level, syntax-like "
    "processing, as expected low in the stack.",
    "{span} look at themselves and their neighbours: {local:.0%} of their heads are local, and {near:.0%} of "
    "their attention stays near the diagonal (the token itself and its neighbours). Word-level, syntax-like "
    "processing, as expected low in the stack.",
)
DIAG_NEAR = lazy_ngettext(
    "{span} keeps more of its attention near the diagonal (the token itself and its neighbours: {near:.0%}) "
    "than the layers above ({above:.0%}), though only {local:.0%} of its heads are mainly local.",
    "{span} keep more of their attention near the diagonal (the token itself and its neighbours: {near:.0%}) "
    "than the layers above ({above:.0%}), though only {local:.0%} of their heads are mainly local.",
)
DIAG_CLS_LOW = lazy_ngettext(
    "{span} already sends {share:.0%} of attention to [CLS]: the sentence is starting to be gathered into "
    "one place. This is normal.",
    "{span} already send {share:.0%} of attention to [CLS]: the sentence is starting to be gathered into "
    "one place. This is normal.",
)
DIAG_SEP_MID = lazy_ngettext(
    "{span} sends {share:.0%} of attention to [SEP]: it marks sentence boundaries, which matters most for "
    "sentence pairs. This is normal.",
    "{span} send {share:.0%} of attention to [SEP]: they mark sentence boundaries, which matters most for "
    "sentence pairs. This is normal.",
)
DIAG_CLS_MID = lazy_ngettext(
    "{span} gathers {share:.0%} of attention into [CLS]: the middle of the stack pools the sentence's "
    "information. This is normal.",
    "{span} gather {share:.0%} of attention into [CLS]: the middle of the stack pools the sentence's "
    "information. This is normal.",
)
DIAG_SUMMARY = lazy_ngettext(
    "Best [CLS] sentence-summary candidate: {layers}.",
    "Best [CLS] sentence-summary candidates: {layers}.",
)
SEP_FLAT = 0.02  # a per-layer [SEP] share that varies less than this is "about the same everywhere"


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
    summary_out: float = 0.3  # least [CLS]-row mass on words for a summary candidate (not broad alone)
    sep_unused: float = 0.1  # below this in every layer, [SEP] is "hardly used"


@dataclass(frozen=True)
class Diagnosis:
    level: Level
    message: str
    topic: str | None = None  # "cls" / "sep" for a claim about that token's layers (one per range)


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


def layer_span(layers: np.ndarray, start: bool = False) -> LazyText:
    """0-based contiguous layers → "layer 3" / "layers 1–2" (1-based); start=True capitalises
    the English for the start of a sentence."""
    first, last = int(layers[0]) + 1, int(layers[-1]) + 1
    if first == last:
        return (LAYER_START if start else LAYER).format(layer=first)
    return (N_("Layers {first}–{last}") if start else N_("layers {first}–{last}")).format(first=first, last=last)


def diagnose(
    roles: np.ndarray,  # [L, H]
    layer_partition: np.ndarray,  # [L, 4] mass partition averaged over heads
    cls_out: np.ndarray,  # [L, H]
    summary: tuple[int, ...],
    thresholds: RoleThresholds = RoleThresholds(),
    warn: bool = True,
    pair: bool = False,
    said: Collection[str] = (),
) -> tuple[Diagnosis, ...]:
    """Plain-language reading of the layer-by-layer role split.

    warn=False leaves out the clogged-flow warning (models/score/view_compare.py judges it on the
    norm view when value norms are available).  pair: the input is a sentence pair (what
    [SEP] receives is then named as the boundary between the two).  One claim per layer
    range: [CLS] focus in the lower and middle thirds together is one sentence, and none at
    all for a token whose layers `said` already names (the two views' comparison, which
    makes the stronger claim about the same layers).
    """
    parts = {name: layer_partition[:, k] for k, name in enumerate(PART_NAMES)}
    found: list[Diagnosis] = []
    special_share = float(np.isin(roles, ("cls", "sep")).mean())
    if warn and special_share >= thresholds.clog_share:
        found.append(Diagnosis("warning", DIAG_CLOGGED.format(share=special_share)))
    if roles.shape[0] < 3:
        found.append(
            Diagnosis("info", N_("The model has fewer than three layers, so there is no layer story to tell."))
        )
        return tuple(found)

    bands = layer_bands(roles.shape[0])
    lower, middle, upper = bands["lower"], bands["middle"], bands["upper"]
    near_low = float(parts["near_diagonal"][lower].mean())
    near_above = float(parts["near_diagonal"][np.concatenate([middle, upper])].mean())
    local_low = float((roles[lower] == "local").mean())
    lower_story = dict(
        span=layer_span(lower, start=True), n=lower.size, local=local_low, near=near_low, above=near_above
    )
    if local_low >= 0.25:
        found.append(Diagnosis("info", DIAG_LOCAL.format(**lower_story)))
    elif near_low >= thresholds.neighbours and near_low > near_above:
        found.append(Diagnosis("info", DIAG_NEAR.format(**lower_story)))
    low_span, middle_span = layer_span(lower, start=True), layer_span(middle, start=True)
    cls_low = float(parts["to_cls"][lower].mean())
    cls_mid, sep_mid = float(parts["to_cls"][middle].mean()), float(parts["to_sep"][middle].mean())
    if "cls" in said:
        pass  # the comparison of the two views already said it, for these very layers
    elif cls_low >= thresholds.focus and cls_mid >= thresholds.focus:  # one claim over both thirds
        both = np.concatenate([lower, middle])
        share = float(parts["to_cls"][both].mean())
        found.append(
            Diagnosis("info", DIAG_CLS_MID.format(span=layer_span(both, start=True), n=both.size, share=share))
        )
    elif cls_low >= thresholds.focus:
        found.append(Diagnosis("info", DIAG_CLS_LOW.format(span=low_span, n=lower.size, share=cls_low)))
    elif cls_mid >= thresholds.focus:
        found.append(Diagnosis("info", DIAG_CLS_MID.format(span=middle_span, n=middle.size, share=cls_mid)))
    if sep_mid >= thresholds.focus and "sep" not in said:
        found.append(Diagnosis("info", DIAG_SEP_MID.format(span=middle_span, n=middle.size, share=sep_mid)))
    found.extend(_sep_story(parts["to_sep"], sep_mid >= thresholds.focus or "sep" in said, pair, thresholds))
    per_layer_out = cls_out.mean(axis=1)
    looking = [int(layer) for layer in upper if per_layer_out[layer] >= thresholds.look_back]
    if looking:
        share = float(per_layer_out[looking].mean())
        found.append(
            Diagnosis(
                "info",
                N_(
                    "In {span}, [CLS] spends {share:.0%} of its own attention on the words: it looks back over the "
                    "sentence, getting ready to summarise it."
                ).format(span=layer_span(np.array(looking)), share=share),
            )
        )
    candidates = [layer for layer in summary if per_layer_out[layer] >= thresholds.summary_out]  # not broad alone
    if candidates:
        reasons = [
            N_(
                "layer {layer} (its [CLS] puts {out:.0%} of its attention on the words and spreads it over them)"
            ).format(layer=layer + 1, out=float(per_layer_out[layer]))
            for layer in candidates
        ]
        found.append(Diagnosis("info", DIAG_SUMMARY.format(layers=format_list(reasons), n=len(candidates))))
    if not found:
        found.append(Diagnosis("info", N_("No clear layer story for this input: heads are mostly mixed.")))
    return tuple(found)


def _sep_story(to_sep: np.ndarray, said: bool, pair: bool, thresholds: RoleThresholds) -> list[Diagnosis]:
    """What [SEP] receives per layer (to_sep [L]): where it peaks, or that it is hardly used."""
    peak, least = int(np.argmax(to_sep)), int(np.argmin(to_sep))
    high, low = float(to_sep[peak]), float(to_sep[least])
    if high < thresholds.sep_unused:
        return [
            Diagnosis(
                "info",
                N_(
                    "This model hardly uses [SEP] here: no layer sends more than {share:.0%} of its attention to it."
                ).format(share=high),
            )
        ]
    if said and not pair:
        return []  # the middle layers' [SEP] focus already says it
    if high - low < SEP_FLAT:
        return [
            Diagnosis(
                "info",
                N_("[SEP] receives about {share:.0%} of the attention in every layer.").format(
                    share=float(to_sep.mean())
                ),
            )
        ]
    message = (
        N_(
            "In this pair, [SEP] (between the two sentences and at the end) receives the most attention in layer "
            "{layer} ({share:.0%}), the least in layer {least} ({low:.0%})."
        )
        if pair
        else N_(
            "[SEP] receives the most attention in layer {layer} ({share:.0%}), the least in layer {least} ({low:.0%})."
        )
    )
    return [Diagnosis("info", message.format(layer=peak + 1, share=high, least=least + 1, low=low))]
