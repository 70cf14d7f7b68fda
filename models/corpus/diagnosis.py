"""The layer story of a whole corpus, told with how sure each claim is.

The claims and thresholds are those of models.score.roles.diagnose (RoleThresholds, the
lower / middle / upper thirds of models.score.roles.layer_bands); here each is made on the
corpus mean and given with its 95% interval and the number of sentences, e.g.
"[CLS] focus in layers 2–3: 0.58 ± 0.02 over 1,200 sentences".  A claim whose interval
reaches across its threshold is marked as not settled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from i18n import N_, lazy_ngettext
from models.score.roles import Diagnosis, RoleThresholds, layer_bands, layer_span
from models.score.scores import PART_NAMES

FEW_SENTENCES = 30  # below this, say that the intervals are wide
STABLE_SHARE = 0.9  # a head whose main role holds in this share of sentences is "stable"
LOCAL_HEADS = 0.25  # share of local heads in the lower layers that tells the neighbour story

OVER = lazy_ngettext("over {n:,} sentence", "over {n:,} sentences", count="n")
C_FEW = lazy_ngettext(
    "Only {n} sentence: the intervals are wide. Analyse at least {enough} for a firm reading.",
    "Only {n} sentences: the intervals are wide. Analyse at least {enough} for a firm reading.",
    count="n",
)


@dataclass(frozen=True)
class CorpusEvidence:
    """The corpus means and 95% half-widths a diagnosis reads (n sentences).

    band_partition, band_partition_ci  [3, 4]  lower / middle / upper × to_cls, to_sep, near_diagonal, rest
    band_local                          [3]     share of local heads per band
    layer_cls_out, layer_cls_out_ci     [L]     [CLS]-row mass on words, averaged over heads
    layer_summary, layer_summary_ci     [L]     cls_out × [CLS] breadth
    special_share, special_share_ci     float   share of heads that are cls/sep heads
    main_share                          [L, H]  share of sentences in which the head takes its main role
    """

    sentences: int
    band_partition: np.ndarray
    band_partition_ci: np.ndarray
    band_local: np.ndarray
    layer_cls_out: np.ndarray
    layer_cls_out_ci: np.ndarray
    layer_summary: np.ndarray
    layer_summary_ci: np.ndarray
    special_share: float
    special_share_ci: float
    main_share: np.ndarray


def plus_minus(mean: float, ci: float) -> str:
    """ "0.58 ± 0.02" (3 decimals below a half-width of 0.005; the mean alone without one)."""
    if not np.isfinite(ci):
        return f"{mean:.2f}"
    return f"{mean:.2f} ± {ci:.2f}" if ci >= 0.005 else f"{mean:.3f} ± {ci:.3f}"


def over_sentences(n: int):
    """ "over 1,200 sentences"."""
    return OVER.format(n=n)


def not_settled(mean: float, ci: float, threshold: float):
    """The "not settled" sentence when the interval reaches below `threshold`, else ""."""
    if np.isfinite(ci) and mean - ci < threshold:
        return N_(" Not settled: the {level:.0%} interval reaches below the threshold of {threshold:.2f}.").format(
            level=0.95, threshold=threshold
        )
    return ""


def corpus_diagnosis(
    evidence: CorpusEvidence, thresholds: RoleThresholds = RoleThresholds(), warn: bool = True
) -> tuple[Diagnosis, ...]:
    """Plain-language reading of one view's corpus aggregates, each claim with its interval.

    warn=False leaves out the clogged-flow warning (models/corpus/view_compare.py judges it
    on the norm view when both views are there).
    """
    n, found = evidence.sentences, []
    part = {name: k for k, name in enumerate(PART_NAMES)}
    share, share_ci = evidence.special_share, evidence.special_share_ci
    if warn and share >= thresholds.clog_share:
        found.append(
            Diagnosis(
                "warning",
                N_(
                    "{share:.0%} of heads (± {ci:.1%}, {over}) put most of "
                    "their attention on [CLS]/[SEP]. Words barely "
                    "exchange information, which can point to over-fitting or "
                    "too little variety in the training input; "
                    "when fine-tuning, freezing or re-initialising some layers can help.{settled}"
                ).format(
                    share=share,
                    ci=share_ci,
                    over=over_sentences(n),
                    settled=not_settled(share, share_ci, thresholds.clog_share),
                ),
            )
        )
    layers = evidence.layer_cls_out.shape[0]
    if layers < 3:
        found.append(
            Diagnosis("info", N_("The model has fewer than three layers, so there is no layer story to tell."))
        )
        return tuple(found)
    bands = layer_bands(layers)
    lower, middle, upper = (bands[name] for name in ("lower", "middle", "upper"))

    def band(index: int, name: str) -> tuple[float, float]:
        return float(evidence.band_partition[index, part[name]]), float(evidence.band_partition_ci[index, part[name]])

    near, near_ci = band(0, "near_diagonal")
    local = float(evidence.band_local[0])
    if local >= LOCAL_HEADS or near >= thresholds.neighbours:
        found.append(
            Diagnosis(
                "info",
                N_(
                    "{span} look at themselves and their neighbours: {value} of "
                    "attention near the diagonal (the token itself "
                    "and its neighbours) {over}, and "
                    "{local:.0%} of their heads are local on average. "
                    "Word-level, syntax-like processing, as expected low "
                    "in the stack."
                ).format(
                    span=layer_span(lower, start=True),
                    value=plus_minus(near, near_ci),
                    over=over_sentences(n),
                    local=local,
                ),
            )
        )
    for index, span, name, label, meaning in (
        (0, lower, "to_cls", "[CLS]", N_("the sentence starts to be gathered into one place")),
        (1, middle, "to_sep", "[SEP]", N_("they mark sentence boundaries, which matters most for pairs")),
        (1, middle, "to_cls", "[CLS]", N_("the middle of the stack pools the sentence's information")),
    ):
        mean, ci = band(index, name)
        if mean >= thresholds.focus:
            found.append(
                Diagnosis(
                    "info",
                    N_(
                        "{label} focus in {span}: {value} of attention {over}; {meaning}. This is normal.{settled}"
                    ).format(
                        label=label,
                        span=layer_span(span),
                        value=plus_minus(mean, ci),
                        over=over_sentences(n),
                        meaning=meaning,
                        settled=not_settled(mean, ci, thresholds.focus),
                    ),
                )
            )
    looking = [int(layer) for layer in upper if evidence.layer_cls_out[layer] >= thresholds.look_back]
    if looking:
        mean = float(evidence.layer_cls_out[looking].mean())
        ci = float(evidence.layer_cls_out_ci[looking].max())
        found.append(
            Diagnosis(
                "info",
                N_(
                    "In {span}, [CLS] spends {value} of its own attention on the words {over}: it looks back over the "
                    "sentence, getting ready to summarise it.{settled}"
                ).format(
                    span=layer_span(np.array(looking)),
                    value=plus_minus(mean, ci),
                    over=over_sentences(n),
                    settled=not_settled(mean, ci, thresholds.look_back),
                ),
            )
        )
    found.extend(_summary(evidence))
    stable = int((evidence.main_share >= STABLE_SHARE).sum())
    found.append(
        Diagnosis(
            "info",
            N_(
                "{stable} of {heads} heads keep the same role in at least "
                "{share:.0%} of the sentences; the others change "
                "role with the sentence (see each head's role shares)."
            ).format(stable=stable, heads=evidence.main_share.size, share=STABLE_SHARE),
        )
    )
    if n < FEW_SENTENCES:
        found.append(Diagnosis("info", C_FEW.format(n=n, enough=FEW_SENTENCES)))
    return tuple(found)


def _summary(evidence: CorpusEvidence) -> list[Diagnosis]:
    order = [int(k) for k in np.argsort(-evidence.layer_summary, kind="stable") if evidence.layer_summary[k] > 0][:2]
    if not order:
        return []
    named = [
        N_("layer {layer} ({value})").format(
            layer=k + 1, value=plus_minus(float(evidence.layer_summary[k]), float(evidence.layer_summary_ci[k]))
        )
        for k in order
    ]
    text = named[0] if len(named) == 1 else N_("{first}, then {second}").format(first=named[0], second=named[1])
    close = ""
    if len(order) == 2:
        first, second = order
        if evidence.layer_summary[first] - evidence.layer_summary_ci[first] <= (
            evidence.layer_summary[second] + evidence.layer_summary_ci[second]
        ):
            close = N_(" Their intervals overlap, so the corpus does not tell them apart.")
    return [
        Diagnosis(
            "info",
            N_(
                "Best [CLS] sentence-summary candidates (their [CLS] spreads "
                "the most attention evenly over the words): "
                "{candidates}.{close}"
            ).format(candidates=text, close=close),
        )
    ]
