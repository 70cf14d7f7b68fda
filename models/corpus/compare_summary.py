"""Plain-words summary and notices of a corpus comparison (models/corpus/compare.py), with
numbers; the wording of models/compare/summary.py where it fits, and its thresholds."""

from __future__ import annotations

import numpy as np

from i18n import N_
from models.compare.heads import NOTICE_SHAPE
from models.compare.layers import LayerComparison
from models.compare.summary import (
    MODEL_A,
    MODEL_B,
    SHIFT,
    UNCHANGED,
    depth_shift,
    lowest_match,
    model_label,
    role_gains,
    shift_messages,
    unchanged_prefix,
)
from models.corpus.result import CorpusResult, Estimate, ViewResult

# {a}, {b}: the two models' names (models.compare.summary.model_label).
SAME = N_(
    "{b} attends exactly like {a} on this corpus: every head's similarity is 1 on all {aligned} "
    "sentences and no mean score moved."
)


def score_views(view: ViewResult) -> dict[str, np.ndarray]:
    """A view's per-head corpus means as name → [L, H]: the scores, then "partition.<part>"."""
    names = {name: estimate.mean for name, estimate in view.scores.items()}
    names.update({f"partition.{part}": estimate.mean for part, estimate in view.partition.items()})
    return names


def _names(a: CorpusResult, b: CorpusResult) -> tuple[str, str]:
    name_a, name_b = model_label(a.model.key), model_label(b.model.key)
    if name_a == name_b:
        return MODEL_A.format(name=name_a), MODEL_B.format(name=name_b)
    return name_a, name_b


def summarise_corpus(
    a: CorpusResult,
    b: CorpusResult,
    aligned: int,
    diff: dict[str, dict[str, np.ndarray]] | None,
    similarity: Estimate | None,
    layers: LayerComparison,
    layer_similarity: Estimate | None,
) -> tuple[str, ...]:
    """Messages, most telling first (the wording of models/compare/summary.py where it fits)."""
    name_a, name_b = _names(a, b)
    messages: list[str] = []
    if similarity is not None and diff is not None:
        mean = similarity.mean
        moved = max(float(np.abs(values).max()) for view in diff.values() for values in view.values())
        if (1 - mean < UNCHANGED).all() and moved < UNCHANGED:
            return (SAME.format(a=name_a, b=name_b, aligned=aligned),)
        low = np.unravel_index(int(np.argmin(mean)), mean.shape)
        ci = float(similarity.ci[low]) if np.isfinite(similarity.ci[low]) else 0.0
        messages.append(
            N_(
                "Mean head similarity {mean:.3f} over {aligned} sentences (1 = the same map); least similar: "
                "layer {layer}, head {head} ({low:.3f} ± {ci:.3f})."
            ).format(
                mean=float(mean.mean()), aligned=aligned, layer=low[0] + 1, head=low[1] + 1, low=float(mean[low]), ci=ci
            )
        )
        messages += unchanged_prefix(mean)
        messages += shift_messages(layers.partition_a, layers.partition_b, name_a, name_b, SHIFT)
        messages += role_gains(a.weights.main_roles, b.weights.main_roles, name_a, name_b)
        return tuple(messages)
    messages += depth_shift(layers, name_a, name_b)
    if layer_similarity is not None:
        template = N_(
            "Head-averaged attention at matching depth, over {aligned} sentences both tokenizers split alike: "
            "mean similarity {mean:.3f}; lowest {low:.3f} ({a} layer {la} against {b} layer {lb})."
        )
        messages.append(lowest_match(template, layer_similarity.mean, layers, name_a, name_b, aligned=aligned))
    return tuple(messages)


def corpus_notices(a: CorpusResult, b: CorpusResult, sentences: int, aligned: int) -> tuple[str, ...]:
    notices = []
    if (a.model.layers, a.model.heads) != (b.model.layers, b.model.heads):
        notices.append(
            NOTICE_SHAPE.format(
                layers_a=a.model.layers, heads_a=a.model.heads, layers_b=b.model.layers, heads_b=b.model.heads
            )
        )
    if aligned == 0:
        notices.append(
            N_(
                "The two tokenizers split every sentence differently, so heads cannot be paired: the models are "
                "compared layer by layer at matching depth, by their corpus means."
            )
        )
    elif aligned < sentences:
        notices.append(
            N_(
                "The two tokenizers split {unaligned} of {sentences} sentences differently: the corpus means use "
                "every sentence, the similarity of the maps only the {aligned} split alike."
            ).format(unaligned=sentences - aligned, sentences=sentences, aligned=aligned)
        )
    shared = [view for view in a.views if view in b.views]
    if len(shared) < max(len(a.views), len(b.views)):
        notices.append(
            N_("Only the {views} view is compared: the other model's family has no other.").format(
                views=", ".join(shared)
            )
        )
    return tuple(notices)
