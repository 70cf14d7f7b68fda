"""The no-op question in plain words: when layers pile their attention weight onto [CLS] or
[SEP], does information really flow there?

The answer rests on the strongest evidence computed: value zeroing where it ran (how much of
the change in the layer's output zeroing that token's value vector accounts for), ALTI
otherwise (how much of LayerNorm 1's output comes from that token, residual included).  The
clogged-flow warning fires on that evidence, never on the weights; the weight and norm
readings follow as "for comparison" sentences.

Rules, per special token (the cls token, all sep tokens together), over each run of
consecutive layers whose weight share is at least HEAVY_SHARE:
  evidence share < NO_OP_RATIO × weight share    a no-op, not clogged flow (info)
  evidence share ≥ HEAVY_SHARE                   clogged flow: it really moves (warning)
  otherwise                                      part of the weight carries information (info)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from i18n import N_, format_list, lazy_ngettext
from models.mixing.measures import Measure
from models.score.roles import Diagnosis, layer_span

HEAVY_SHARE = 0.4  # mean weight share of a layer's query rows on one special token: "piles onto it"
NO_OP_RATIO = 0.5  # evidence below this fraction of the weight share reads as a no-op
EVIDENCE: tuple[Measure, ...] = ("value_zeroing", "alti")  # strongest first

MEASURE_LABELS: dict[Measure, str] = {
    "attention": N_("attention weight"),
    "attention_norm": N_("norm view"),
    "attention_norm_res": N_("norm with residual"),
    "attention_norm_res_ln": N_("norm with residual and LayerNorm"),
    "globenc": N_("GlobEnc"),
    "alti": N_("ALTI"),
    "value_zeroing": N_("value zeroing"),
}

# {span}: "Layers 2–5" / "Layer 3"; {n}: its number of layers; {token}: "[CLS]" or "<s>", etc.
NO_OP_VZ = lazy_ngettext(
    "{span} puts {weight:.0%} of its attention weight on {token}, yet zeroing {token}'s value vector "
    "accounts for only {evidence:.0%} of the change in the layer's output: a no-op, not clogged flow.",
    "{span} put {weight:.0%} of their attention weight on {token}, yet zeroing {token}'s value vector "
    "accounts for only {evidence:.0%} of the change in the layer's output: a no-op, not clogged flow.",
)
NO_OP_ALTI = lazy_ngettext(
    "{span} puts {weight:.0%} of its attention weight on {token}, yet by ALTI, which counts the residual "
    "stream and LayerNorm, only {evidence:.0%} of the layer's output comes from {token}: a no-op, not "
    "clogged flow.",
    "{span} put {weight:.0%} of their attention weight on {token}, yet by ALTI, which counts the residual "
    "stream and LayerNorm, only {evidence:.0%} of the layer's output comes from {token}: a no-op, not "
    "clogged flow.",
)
CLOGGED_VZ = lazy_ngettext(
    "{span} puts {weight:.0%} of its attention weight on {token}, and zeroing {token}'s value vector "
    "accounts for {evidence:.0%} of the change in the layer's output: information really flows through "
    "{token}, and the flow between words is clogged.",
    "{span} put {weight:.0%} of their attention weight on {token}, and zeroing {token}'s value vector "
    "accounts for {evidence:.0%} of the change in the layer's output: information really flows through "
    "{token}, and the flow between words is clogged.",
)
CLOGGED_ALTI = lazy_ngettext(
    "{span} puts {weight:.0%} of its attention weight on {token}, and by ALTI {evidence:.0%} of the layer's "
    "output comes from {token}: information really flows through {token}, and the flow between words is "
    "clogged.",
    "{span} put {weight:.0%} of their attention weight on {token}, and by ALTI {evidence:.0%} of the layer's "
    "output comes from {token}: information really flows through {token}, and the flow between words is "
    "clogged.",
)
PARTLY = lazy_ngettext(
    "{span} puts {weight:.0%} of its attention weight on {token}; by {measure}, {evidence:.0%} of what the "
    "layer moves comes from {token}: part of that weight carries information.",
    "{span} put {weight:.0%} of their attention weight on {token}; by {measure}, {evidence:.0%} of what the "
    "layers move comes from {token}: part of that weight carries information.",
)


class Shares(Protocol):
    """What the diagnosis reads: one input's ContextMixing, or a corpus's mean shares
    (models.corpus.mixing.MixingSummary).  Each mapping: measure → [L]."""

    measures: tuple[Measure, ...]
    mixing_ratio: Mapping[str, np.ndarray]
    to_cls: Mapping[str, np.ndarray]
    to_sep: Mapping[str, np.ndarray]
    unnormalised: tuple[tuple[int, int], ...]

    @property
    def cls_token(self) -> str | None: ...

    @property
    def sep_token(self) -> str | None: ...


def diagnose_mixing(mixing: Shares) -> tuple[Diagnosis, ...]:
    """Plain-language messages with the numbers (see the module docstring)."""
    found: list[Diagnosis] = []
    evidence = next((name for name in EVIDENCE if name in mixing.measures), None)
    specials = []
    if mixing.cls_token is not None:
        specials.append((mixing.cls_token, mixing.to_cls))
    if mixing.sep_token is not None:
        specials.append((mixing.sep_token, mixing.to_sep))
    if "attention" in mixing.measures:
        heavy_any = False
        for token, shares in specials:
            weights = shares["attention"]
            for run in _runs(np.nonzero(weights >= HEAVY_SHARE)[0]):
                heavy_any = True
                found.extend(_reading(mixing, token, shares, run, evidence))
        if not heavy_any and specials:
            cls, sep = (specials[0][0], specials[-1][0])
            found.append(
                Diagnosis(
                    "info",
                    N_(
                        "No layer puts {heavy:.0%} or more of its attention weight "
                        "on {cls} or {sep}, so there is no no-op "
                        "question to answer on this input."
                    ).format(heavy=HEAVY_SHARE, cls=cls, sep=sep),
                )
            )
    ratios = [
        N_("{measure} {ratio:.0%}").format(measure=MEASURE_LABELS[name], ratio=float(mixing.mixing_ratio[name].mean()))
        for name in mixing.measures
    ]
    if ratios:
        found.append(
            Diagnosis(
                "info",
                N_(
                    "Share of a token's new representation that comes from other tokens "
                    "(the mixing ratio, mean over layers): {ratios}."
                ).format(ratios=format_list(ratios)),
            )
        )
    if mixing.unnormalised:
        rows = format_list(
            [N_("layer {layer} row {row}").format(layer=layer + 1, row=row) for layer, row in mixing.unnormalised]
        )
        found.append(
            Diagnosis(
                "info",
                N_(
                    "Value zeroing changed some tokens' output by less than "
                    "rounding, so their rows are left at 0: {rows}."
                ).format(rows=rows),
            )
        )
    return tuple(found)


def _runs(layers: np.ndarray) -> list[np.ndarray]:
    """Ascending 0-based layers → runs of consecutive ones."""
    if layers.size == 0:
        return []
    return np.split(layers, np.nonzero(np.diff(layers) > 1)[0] + 1)


def _reading(mixing: Shares, token: str, shares, run: np.ndarray, evidence: Measure | None):
    """The no-op reading of one run of heavy layers, then the weight/norm comparison."""
    span = layer_span(run, start=True)
    weight = float(shares["attention"][run].mean())
    if evidence is None:
        yield Diagnosis(
            "info",
            N_(
                "{span}: {weight:.0%} of the attention weight goes to {token}, but the weights alone cannot tell a "
                "no-op from clogged flow. Compute value zeroing or ALTI to find out."
            ).format(span=span, weight=weight, token=token),
        )
        return
    moved = float(shares[evidence][run].mean())
    common = dict(span=span, n=run.size, weight=weight, token=token, evidence=moved)
    if moved < NO_OP_RATIO * weight:
        yield Diagnosis("info", (NO_OP_VZ if evidence == "value_zeroing" else NO_OP_ALTI).format(**common))
    elif moved >= HEAVY_SHARE:
        yield Diagnosis("warning", (CLOGGED_VZ if evidence == "value_zeroing" else CLOGGED_ALTI).format(**common))
    else:
        yield Diagnosis("info", PARTLY.format(measure=MEASURE_LABELS[evidence], **common))
    if "attention_norm" in mixing.measures:
        norm = float(shares["attention_norm"][run].mean())
        compare_span = layer_span(run)
        yield Diagnosis(
            "info",
            N_(
                "For comparison, in {span} the weights alone give {token} {weight:.0%}, and the norm view "
                "(‖α f(x)‖, Kobayashi et al. 2020) {norm:.0%}."
            ).format(span=compare_span, token=token, weight=weight, norm=norm),
        )
