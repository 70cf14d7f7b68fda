"""Plain-words summary of what changed between two models on one input, with numbers.

Thresholds are module constants: a shift of the mass partition counts from SHIFT_MIN (5
percentage points of a layer band's attention), a role change from ROLE_GAIN_MIN heads and a
quarter of a layer's heads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from i18n import N_, lazy_ngettext
from models.compare.layers import LayerComparison
from models.score.roles import ROLE_LABELS, ROLES, layer_bands, layer_span
from models.score.scores import PART_NAMES

SHIFT_MIN = 0.05
ROLE_GAIN_MIN = 2
UNCHANGED = 1e-6
MAX_SHIFTS = 2
PART_WORDS = {
    "to_cls": N_("on [CLS]"),
    "to_sep": N_("on [SEP]"),
    "near_diagonal": N_("on the token itself and its neighbours"),
}

# {a}, {b}: the two models' names; {span}: a layer span ("layers 1–2"); {part}: one of PART_WORDS.
SAME = N_("{b} attends exactly like {a} on this input: every head's similarity is 1 and no score moved.")
SIMILARITY = N_(
    "Mean head similarity {mean:.3f} (1 = the same map); least similar: layer {layer}, head {head} ({low:.3f})."
)
UNCHANGED_LAYERS = lazy_ngettext(
    "{span} is unchanged (every head's similarity is 1); the change starts in layer {first}.",
    "{span} are unchanged (every head's similarity is 1); the change starts in layer {first}.",
)
SHIFT = {
    "more": N_(
        "{b} puts {points:.0f} percentage points more of {span}'s attention {part} than {a} "
        "({before:.0%} → {after:.0%})."
    ),
    "less": N_(
        "{b} puts {points:.0f} percentage points less of {span}'s attention {part} than {a} "
        "({before:.0%} → {after:.0%})."
    ),
}
SHIFT_DEPTH = {
    "more": N_(
        "At matching depth, {b}'s layers put {points:.0f} percentage points more of their attention {part} "
        "than {a}'s {span} ({before:.0%} → {after:.0%})."
    ),
    "less": N_(
        "At matching depth, {b}'s layers put {points:.0f} percentage points less of their attention {part} "
        "than {a}'s {span} ({before:.0%} → {after:.0%})."
    ),
}
MODEL_A = N_("model A ({name})")
MODEL_B = N_("model B ({name})")


def model_label(key: str) -> str:
    """A model's name in messages: a local directory by its folder name, a registry key as is."""
    return Path(key).name if Path(key).is_absolute() else key


def shift_messages(partition_a, partition_b_at_a, a: str, b: str, templates: dict) -> list[str]:
    """The largest band-level shifts of to-CLS / to-SEP / near-diagonal mass (A's layer bands)."""
    found = []
    for layers in layer_bands(partition_a.shape[0]).values():
        if layers.size == 0:
            continue
        for k, part in enumerate(PART_NAMES):
            if part not in PART_WORDS:
                continue
            before, after = float(partition_a[layers, k].mean()), float(partition_b_at_a[layers, k].mean())
            if abs(after - before) >= SHIFT_MIN:
                found.append((abs(after - before), layers, part, before, after))
    found.sort(key=lambda item: -item[0])
    return [
        templates["more" if after > before else "less"].format(
            a=a,
            b=b,
            points=100 * size,
            span=layer_span(layers),
            part=PART_WORDS[part],
            before=before,
            after=after,
        )
        for size, layers, part, before, after in found[:MAX_SHIFTS]
    ]


def role_gains(roles_a, roles_b, a: str, b: str) -> list[str]:
    heads = roles_a.shape[1]
    best = None
    for layer in range(roles_a.shape[0]):
        for role in ROLES:
            count_a, count_b = int((roles_a[layer] == role).sum()), int((roles_b[layer] == role).sum())
            gain = count_b - count_a
            if gain >= max(ROLE_GAIN_MIN, heads / 4) and (best is None or gain > best[0]):
                best = (gain, layer, role, count_a, count_b)
    if best is None:
        return []
    _gain, layer, role, count_a, count_b = best
    return [
        N_("{count_b} of {heads} heads in layer {layer} are now {role} heads in {b} (were {count_a} in {a}).").format(
            count_b=count_b, heads=heads, layer=layer + 1, role=ROLE_LABELS[role], b=b, count_a=count_a, a=a
        )
    ]


def unchanged_prefix(similarity) -> list[str]:
    same = (1 - similarity < UNCHANGED).all(axis=1)
    if same.all() or not same[0]:
        return []
    first_changed = int(np.argmin(same))
    span = layer_span(np.arange(first_changed), start=True)
    return [UNCHANGED_LAYERS.format(span=span, n=first_changed, first=first_changed + 1)]


def _warnings(analysis_a, analysis_b, a: str, b: str) -> list[str]:
    warns_a = {d.message for d in analysis_a.diagnosis if d.level == "warning"}
    warns_b = {d.message for d in analysis_b.diagnosis if d.level == "warning"}
    return [
        N_("{b}'s diagnosis warns, {a}'s does not: {message}").format(a=a, b=b, message=m)
        for m in sorted(warns_b - warns_a)
    ] + [
        N_("{a}'s diagnosis warns, {b}'s no longer does: {message}").format(a=a, b=b, message=m)
        for m in sorted(warns_a - warns_b)
    ]


def summarise(result_a, result_b, analysis_a, analysis_b, similarity, layers, words) -> tuple[str, ...]:
    """Messages, most telling first.  `similarity` [L, H] when heads are paired, else None."""
    a, b = model_label(result_a.model.key), model_label(result_b.model.key)
    if a == b:
        a, b = MODEL_A.format(name=a), MODEL_B.format(name=b)
    messages: list[str] = []
    if similarity is not None:
        moved = max(float(np.abs(analysis_b.partition - analysis_a.partition).max()), 0.0)
        if (1 - similarity < UNCHANGED).all() and moved < UNCHANGED:
            return (SAME.format(a=a, b=b),)
        low = np.unravel_index(int(np.argmin(similarity)), similarity.shape)
        messages.append(
            SIMILARITY.format(
                mean=float(similarity.mean()), layer=low[0] + 1, head=low[1] + 1, low=float(similarity[low])
            )
        )
        messages += unchanged_prefix(similarity)
        messages += shift_messages(analysis_a.layer_partition, analysis_b.layer_partition, a, b, SHIFT)
        messages += role_gains(analysis_a.roles, analysis_b.roles, a, b)
    else:
        messages += depth_shift(layers, a, b)
        if words is not None and words.words:
            template = N_(
                "Word-level attention at matching depth: mean similarity {mean:.3f}; lowest {low:.3f} ({a} layer {la} "
                "against {b} layer {lb})."
            )
            messages.append(lowest_match(template, words.similarity, layers, a, b))
    messages += _warnings(analysis_a, analysis_b, a, b)
    return tuple(messages)


def depth_shift(layers: LayerComparison, a: str, b: str) -> list[str]:
    """The shift messages of models with different depths: A's layers against B's layers at
    matching depth (layers.matched)."""
    at_a = np.stack([layers.partition_b[lb] for _la, lb in layers.matched])  # B's partition at A's depths
    return shift_messages(layers.partition_a, at_a, a, b, SHIFT_DEPTH)


def lowest_match(template, similarity: np.ndarray, layers: LayerComparison, a: str, b: str, **extra) -> str:
    """`template` filled with the mean of `similarity` [P] (one per matched layer pair), its lowest
    value and that pair's layers (1-based)."""
    k = int(np.argmin(similarity))
    la, lb = layers.matched[k]
    return template.format(
        mean=float(similarity.mean()), low=float(similarity[k]), a=a, b=b, la=la + 1, lb=lb + 1, **extra
    )
