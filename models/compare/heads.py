"""Two models on the same input (for example pre-trained vs fine-tuned): what changed, head by head.

When both tokenizers give the same tokens and both models have the same layers × heads, heads
are paired: every per-head score is differenced (b − a), each head's two attention maps are
compared by the mean over query rows of the cosine similarity of the rows (Kovaleva et al.
2019), and the heads that changed most are ranked.  Otherwise the comparison falls back to
layers at matching depth and to words (models/compare/layers.py) and says what it could not
align.  Scores are taken from the analyses passed in, whatever views they hold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from i18n import N_, as_text, lazy_ngettext
from models.compare.layers import (
    ROW_CHUNK,
    LayerComparison,
    WordComparison,
    compare_layers,
    compare_words,
    row_cosine,
)
from models.compare.summary import UNCHANGED, summarise
from models.extract.banded import block
from models.result import AttentionResult
from models.score.analysis import Analysis, analyze
from models.score.scores import PART_NAMES
from models.types import Notice

TOP_HEADS = 10
JSON_DECIMALS = 6

NOTICE_SHAPE = N_(
    "The models have different shapes ({layers_a} × {heads_a} and {layers_b} × {heads_b} layers × "
    "heads), so heads cannot be paired: the models are compared layer by layer at matching depth."
)
NOTICE_UNALIGNED = lazy_ngettext(
    "Could not align {count} token of {name} with a word of the other model: {tokens}.",
    "Could not align {count} tokens of {name} with a word of the other model: {tokens}.",
    count="count",
)


@dataclass(frozen=True)
class HeadChange:
    """One head (0-based layer and head) whose attention changed, with its scores in A and B."""

    layer: int
    head: int
    similarity: float
    role_before: str
    role_after: str
    before: dict[str, float]
    after: dict[str, float]


@dataclass(frozen=True, eq=False)
class Comparison:
    """Model A against model B on one input.

    aligned     True when heads are paired (same tokens, same L × H)
    diff        score → float64 [L, H] of b − a (None when not aligned)
    similarity  float64 [L, H] mean row cosine similarity of the two maps (None when not aligned)
    changed     up to TOP_HEADS heads, least similar first (empty when not aligned)
    layers      layer-level comparison (always)
    words       word-level comparison (when not aligned, else None)
    summary     plain-words messages about the change, with numbers
    notices     what could not be compared, and why
    """

    result_a: AttentionResult
    result_b: AttentionResult
    analysis_a: Analysis
    analysis_b: Analysis
    aligned: bool
    diff: dict[str, np.ndarray] | None
    similarity: np.ndarray | None
    changed: tuple[HeadChange, ...]
    layers: LayerComparison
    words: WordComparison | None
    summary: tuple[str, ...]
    notices: tuple[Notice, ...]


def score_views(analysis: Analysis) -> dict[str, np.ndarray]:
    """Every per-head score an analysis holds, as name → [L, H].

    `scores` keep their names; the mass partition becomes "partition.to_cls" and so on; any
    other mapping of [L, H] arrays (another attention view, say "norm") is prefixed with its
    field name, nested mappings with each key on the way.
    """
    views: dict[str, np.ndarray] = {}

    def collect(prefix: str, value) -> None:
        if isinstance(value, np.ndarray) and value.ndim == 2 and value.dtype.kind == "f":
            views[prefix] = value
        elif isinstance(value, Mapping):
            for key, item in value.items():
                collect(f"{prefix}.{key}" if prefix else str(key), item)

    for field in dataclasses.fields(analysis):
        value = getattr(analysis, field.name)
        if field.name == "scores":
            collect("", value)
        elif isinstance(value, Mapping):
            collect(field.name, value)
    for k, part in enumerate(PART_NAMES):
        views[f"partition.{part}"] = analysis.partition[..., k]
    return views


def head_similarity(result_a: AttentionResult, result_b: AttentionResult) -> np.ndarray:
    """float64 [L, H]: mean over query rows i of cos(A_a[l, h, i, :], A_b[l, h, i, :])."""
    layers, heads, n = len(result_a.layer_attention), result_a.model.heads, result_a.n_tokens
    out = np.zeros((layers, heads))
    for layer, (a, b) in enumerate(zip(result_a.layer_attention, result_b.layer_attention)):
        total = np.zeros(heads)
        for start in range(0, n, ROW_CHUNK):
            rows = slice(start, min(n, start + ROW_CHUNK))
            dense_a = block(a, rows, slice(0, n)).astype(np.float64)  # [H, R, N]
            dense_b = block(b, rows, slice(0, n)).astype(np.float64)
            total += row_cosine(dense_a, dense_b).sum(axis=-1)
        out[layer] = total / n
    return out


def _aligned(result_a: AttentionResult, result_b: AttentionResult) -> bool:
    same_shape = (result_a.model.layers, result_a.model.heads) == (result_b.model.layers, result_b.model.heads)
    return same_shape and result_a.tokens == result_b.tokens


def changed_heads(similarity, views_a, views_b, roles_a, roles_b, top: int) -> tuple[HeadChange, ...]:
    """Up to `top` heads, least similar first (ties: most moved over all `views_*` name → [L, H]);
    a head whose similarity is 1 and whose scores did not move is never listed."""
    shift = sum(np.abs(views_b[name] - views_a[name]) for name in views_a)
    order = np.lexsort((-shift.ravel(), similarity.ravel()))  # least similar first, then most moved
    heads = similarity.shape[1]
    picked = []
    for flat in order[:top]:
        layer, head = divmod(int(flat), heads)
        if 1 - similarity[layer, head] < UNCHANGED and shift[layer, head] < UNCHANGED:
            break
        picked.append(
            HeadChange(
                layer=layer,
                head=head,
                similarity=float(similarity[layer, head]),
                role_before=str(roles_a[layer, head]),
                role_after=str(roles_b[layer, head]),
                before={name: float(values[layer, head]) for name, values in views_a.items()},
                after={name: float(values[layer, head]) for name, values in views_b.items()},
            )
        )
    return tuple(picked)


def compare(
    result_a: AttentionResult,
    analysis_a: Analysis,
    result_b: AttentionResult,
    analysis_b: Analysis,
    top: int = TOP_HEADS,
) -> Comparison:
    """Compare two models' results on the same input (see the module docstring)."""
    views_a, views_b = score_views(analysis_a), score_views(analysis_b)
    shared = [name for name in views_a if name in views_b]
    views_a, views_b = {n: views_a[n] for n in shared}, {n: views_b[n] for n in shared}
    layers = compare_layers(views_a, views_b, analysis_a, analysis_b)
    notices = []
    if analysis_a.exclude_special != analysis_b.exclude_special:
        notices.append(
            Notice(
                "comparison",
                "info",
                N_("The two analyses differ in exclude_special; compare analyses made the same way."),
            )
        )
    aligned = _aligned(result_a, result_b)
    diff = similarity = words = None
    changed: tuple[HeadChange, ...] = ()
    if aligned:
        diff = {name: views_b[name] - views_a[name] for name in shared}
        similarity = head_similarity(result_a, result_b)
        changed = changed_heads(similarity, views_a, views_b, analysis_a.roles, analysis_b.roles, top)
    else:
        a, b = result_a.model, result_b.model
        if result_a.tokens != result_b.tokens:
            notices.append(
                Notice(
                    "comparison",
                    "info",
                    N_(
                        "The two tokenizers split this input differently ({n_a} and {n_b} tokens), so heads cannot "
                        "be paired: the models are compared layer by layer at matching depth, and word by word."
                    ).format(n_a=result_a.n_tokens, n_b=result_b.n_tokens),
                )
            )
        else:
            shapes = NOTICE_SHAPE.format(layers_a=a.layers, heads_a=a.heads, layers_b=b.layers, heads_b=b.heads)
            notices.append(Notice("comparison", "info", shapes))
        words = compare_words(result_a, result_b, layers.matched)
        for name, tokens in ((a.key, words.unaligned_a), (b.key, words.unaligned_b)):
            if tokens:
                shown = ", ".join(tokens[:12]) + (" …" if len(tokens) > 12 else "")
                unaligned = NOTICE_UNALIGNED.format(count=len(tokens), name=name, tokens=shown)
                notices.append(Notice("comparison", "info", unaligned))
    for array in ([*diff.values()] if diff else []) + ([similarity] if similarity is not None else []):
        array.setflags(write=False)
    summary = summarise(result_a, result_b, analysis_a, analysis_b, similarity, layers, words)
    return Comparison(
        result_a,
        result_b,
        analysis_a,
        analysis_b,
        aligned,
        diff,
        similarity,
        changed,
        layers,
        words,
        summary,
        tuple(notices),
    )


def compare_models(
    loaded_a,
    loaded_b,
    text: str,
    text_b: str | None = None,
    exclude_special: bool = False,
    top: int = TOP_HEADS,
) -> Comparison:
    """Run both models once on the same input (cut to the shorter of their limits) and compare.

    loaded_a, loaded_b: models.load.loading.LoadedModel.  Raises models.extract.attention.InputError for bad input.
    """
    from models.extract.attention import extract

    limit = min(loaded_a.spec.max_tokens, loaded_b.spec.max_tokens)
    result_a = extract(loaded_a, text, text_b, max_tokens=limit)
    result_b = extract(loaded_b, text, text_b, max_tokens=limit)
    analysis_a = analyze(result_a, exclude_special=exclude_special)
    analysis_b = analyze(result_b, exclude_special=exclude_special)
    return compare(result_a, analysis_a, result_b, analysis_b, top)


def _rounded(array) -> list:
    return np.round(np.asarray(array, dtype=np.float64), JSON_DECIMALS).tolist()


def layer_rows(depth, scores, roles, partition) -> list[dict]:
    """One JSON row per layer (1-based): its depth, head-mean scores, role shares and partition."""
    from models.score.roles import ROLES

    return [
        {
            "layer": layer + 1,
            "depth": round(float(depth[layer]), JSON_DECIMALS),
            "scores": {name: round(float(values[layer]), JSON_DECIMALS) for name, values in scores.items()},
            "roles": {role: round(float(roles[layer, k]), JSON_DECIMALS) for k, role in enumerate(ROLES)},
            "partition": {part: round(float(partition[layer, k]), JSON_DECIMALS) for k, part in enumerate(PART_NAMES)},
        }
        for layer in range(depth.size)
    ]


def change_json(change: HeadChange) -> dict:
    """A changed head as JSON: 1-based layer and head, rounded numbers."""
    return {
        "layer": change.layer + 1,
        "head": change.head + 1,
        "similarity": round(change.similarity, JSON_DECIMALS),
        "role_before": change.role_before,
        "role_after": change.role_after,
        "before": {name: round(value, JSON_DECIMALS) for name, value in change.before.items()},
        "after": {name: round(value, JSON_DECIMALS) for name, value in change.after.items()},
    }


def to_json_dict(comparison: Comparison) -> dict:
    """The stable JSON document printed by `cli.py compare --format json` (see README).

    a, b: each side's `models.score.analysis.to_json_dict`; layers and heads are 1-based.
    """
    from models.score.analysis import to_json_dict as analysis_json

    c = comparison
    layers = c.layers
    return {
        "a": analysis_json(c.result_a, c.analysis_a),
        "b": analysis_json(c.result_b, c.analysis_b),
        "aligned": c.aligned,
        "diff": {name: _rounded(values) for name, values in c.diff.items()} if c.diff is not None else None,
        "similarity": _rounded(c.similarity) if c.similarity is not None else None,
        "changed": [change_json(change) for change in c.changed],
        "layers": {
            "a": layer_rows(layers.depth_a, layers.scores_a, layers.roles_a, layers.partition_a),
            "b": layer_rows(layers.depth_b, layers.scores_b, layers.roles_b, layers.partition_b),
            "matched": [[la + 1, lb + 1] for la, lb in layers.matched],
        },
        "words": None
        if c.words is None
        else {
            "words": list(c.words.words),
            "similarity": _rounded(c.words.similarity),
            "unaligned_a": list(c.words.unaligned_a),
            "unaligned_b": list(c.words.unaligned_b),
        },
        "summary": [as_text(message) for message in c.summary],
        "notices": [as_text(notice) for notice in c.notices],
    }
