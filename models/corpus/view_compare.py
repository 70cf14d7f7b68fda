"""The two views compared over a corpus: attention weight against what the heads move.

models/score/view_compare.py makes these claims for one sentence; here they are made on the
corpus means, each with its 95% interval and the number of sentences, e.g. "Layers 2–5
put 0.58 ± 0.02 of their attention weight on [CLS], but [CLS]'s value vectors are 23×
smaller than the words', so only 0.14 ± 0.01 of what these heads move comes from [CLS],
over 1,200 sentences".  The clogged-flow warning is judged on the norm view; where the
weight view would say otherwise, the message says that the two views disagree.

For a set of layers, the interval given is the mean of the layers' own half-widths: the
spread of a mean over layers is at most the mean of their spreads, so it is never narrower
than the true one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from i18n import N_
from models.corpus.diagnosis import not_settled, over_sentences, plus_minus
from models.score.roles import Diagnosis, RoleThresholds
from models.score.scores import PART_NAMES
from models.score.view_compare import NO_OP_SHARE, share_claim

SIZE_INDEX = {"words": 0, "cls": 1, "sep": 2}  # columns of the norm sizes (corpus_scores.NORM_SIZES)

# {span}: "Layers 2–3"; {label}: [CLS] or [SEP]; {weight}, {norm}: "0.58 ± 0.02" (a share and its
# 95% interval); {size}: how the token's value vectors compare with the words' ("23× smaller than
# the words'"); {over}: "over 1,200 sentences".
C_NO_OP = N_(
    "{span} put {weight} of their attention weight on {label}, but {label}'s value vectors are {size}, "
    "so only {norm} of what these heads move comes from {label}, {over} (norm view, Kobayashi et al. "
    "2020). Heavy {label} attention here is mostly a no-op, not clogged flow."
)


@dataclass(frozen=True)
class ViewEvidence:
    """What the comparison reads from one view's corpus aggregates.

    layer_partition, layer_partition_ci  [L, 4]  mean and 95% half-width (PART_NAMES)
    special_share, special_share_ci      float   share of heads that are cls/sep heads
    """

    layer_partition: np.ndarray
    layer_partition_ci: np.ndarray
    special_share: float
    special_share_ci: float


def compare_corpus_views(
    weight: ViewEvidence,
    norm: ViewEvidence,
    norm_sizes: np.ndarray,  # [L, 3] corpus mean ‖f(x)‖ of the words, [CLS] and [SEP] (over heads)
    sentences: int,
    thresholds: RoleThresholds = RoleThresholds(),
) -> tuple[Diagnosis, ...]:
    """Messages comparing the views over the corpus: the [CLS]/[SEP] shares of the layers that
    focus on them by weight, and the clogged-flow warning judged on the norm view."""
    found: list[Diagnosis] = []
    over = over_sentences(sentences)
    for part, kind, label in (("to_cls", "cls", "[CLS]"), ("to_sep", "sep", "[SEP]")):
        k = PART_NAMES.index(part)
        layers = np.flatnonzero(weight.layer_partition[:, k] >= thresholds.focus)
        special_size = float(norm_sizes[layers, SIZE_INDEX[kind]].mean()) if layers.size else 0.0
        if layers.size == 0 or special_size <= 0:
            continue
        by_weight = float(weight.layer_partition[layers, k].mean())
        by_norm = float(norm.layer_partition[layers, k].mean())
        ratio = float(norm_sizes[layers, SIZE_INDEX["words"]].mean()) / special_size
        template = (
            C_NO_OP
            if by_norm <= NO_OP_SHARE * by_weight
            else N_(
                "{span} put {weight} of their attention weight on {label}, and {norm} of what these heads move comes "
                "from {label}, {over} (norm view, Kobayashi et al. 2020; its value vectors are {size}): the attention "
                "on {label} carries real information here."
            )
        )
        numbers = dict(
            over=over,
            weight=plus_minus(by_weight, _span_ci(weight.layer_partition_ci[layers, k])),
            norm=plus_minus(by_norm, _span_ci(norm.layer_partition_ci[layers, k])),
        )
        found.append(Diagnosis("info", share_claim(template, layers, label, ratio, **numbers)))
    clog = thresholds.clog_share
    norm_ci, weight_ci = _finite(norm.special_share_ci), _finite(weight.special_share_ci)
    shares = dict(
        over=over,
        norm=norm.special_share,
        ci=norm_ci,
        norm_ci=norm_ci,
        weight=weight.special_share,
        weight_ci=weight_ci,
    )
    if norm.special_share >= clog:
        disagree = ""
        if weight.special_share < clog:
            disagree = N_(
                " The two views disagree: by attention weight only {weight:.0%} (± "
                "{ci:.1%}) of heads look mostly at [CLS]/[SEP]."
            ).format(weight=weight.special_share, ci=_finite(weight.special_share_ci))
        warning = N_(
            "{norm:.0%} of heads (± {ci:.1%}, {over}) move mostly [CLS]/[SEP] information (norm view): words "
            "barely exchange information, which can point to over-fitting or too little variety in the training "
            "input; when fine-tuning, freezing or re-initialising some layers can help.{settled}{disagree}"
        )
        settled = not_settled(norm.special_share, norm.special_share_ci, clog)
        found.append(Diagnosis("warning", warning.format(settled=settled, disagree=disagree, **shares)))
    elif weight.special_share >= clog:
        disagreement = N_(
            "By attention weight {weight:.0%} of heads (± {weight_ci:.1%}, {over}) look mostly at [CLS]/[SEP], "
            "which would suggest clogged information flow, but by norm only {norm:.0%} (± {norm_ci:.1%}) move "
            "mostly [CLS]/[SEP] information. The two views disagree, and the norm view (what is actually moved) "
            "says the flow is not clogged."
        )
        found.append(Diagnosis("info", disagreement.format(**shares)))
    return tuple(found)


def _span_ci(cis: np.ndarray) -> float:
    """The half-width given for a mean over layers: the mean of theirs (nan below two sentences)."""
    return float(np.mean(cis))


def _finite(ci: float) -> float:
    return ci if np.isfinite(ci) else 0.0
