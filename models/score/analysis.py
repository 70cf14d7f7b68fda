"""Everything the app and the CLI show for one input: scores, roles, layer split, diagnosis,
[CLS] rollout, in two views: the attention weights, and what the heads move (norm view)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from i18n import N_, as_text
from models.frozen import read_only
from models.result import AttentionResult
from models.score import scores as S
from models.score.roles import (
    ROLES,
    Diagnosis,
    RoleThresholds,
    classify_heads,
    diagnose,
    role_shares,
    summary_layers,
)
from models.score.rollout import query_rollout, rollout_rows
from models.score.sweep import VIEWS, View, sweep
from models.score.view_compare import compare_views
from models.score.words import result_words

JSON_DECIMALS = 6
ERR_NO_NORMS = N_("This result has no value norms, so only the 'weight' view can be analysed.")


@dataclass(frozen=True, eq=False)
class Analysis:
    """Scores and roles of every head in one view, for one AttentionResult.

    view             "weight" (attention weights α) or "norm" (row-normalised α·‖f(x)‖,
                     models/score/norms.py); every field below is read in this view
    scores           name → float64 [L, H] (see models.score.scores.SCORE_NAMES)
    partition        [L, H, 4] mass to-CLS / to-SEP / near-diagonal / rest (sums to 1)
    roles            [L, H] role names (models.score.roles.ROLES)
    layer_partition  [L, 4] partition averaged over heads: the layer-by-layer role split
    layer_roles      [L, len(ROLES)] share of each layer's heads in each role
    layer_summary    [L] how good a sentence summary the layer's [CLS] is (cls_out × breadth)
    summary_layers   0-based layers with the best [CLS] summary, best first
    diagnosis        plain-language messages (with the comparison of the two views)
    exclude_special  whether special tokens' query rows were left out of the averages
    rollout          [L, N] float64 attention rollout of the first cls token's row in this
                     view (models/score/rollout.py): what its representation after each layer
                     traces back to; None without a cls token
    """

    scores: Mapping[str, np.ndarray]
    partition: np.ndarray
    roles: np.ndarray
    layer_partition: np.ndarray
    layer_roles: np.ndarray
    layer_summary: np.ndarray
    summary_layers: tuple[int, ...]
    diagnosis: tuple[Diagnosis, ...]
    exclude_special: bool
    view: View = "weight"
    rollout: np.ndarray | None = None

    def __post_init__(self):
        """Read-only arrays and score table: a cached Analysis is shared by every session of
        the app, so no caller may change it in place."""
        object.__setattr__(self, "scores", MappingProxyType({name: read_only(a) for name, a in self.scores.items()}))
        for name in ("partition", "roles", "layer_partition", "layer_roles", "layer_summary", "rollout"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, read_only(value))


def analyze(
    result: AttentionResult,
    exclude_special: bool = False,
    thresholds: RoleThresholds = RoleThresholds(),
    view: View = "weight",
) -> Analysis:
    """The analysis of one view, with its [CLS] rollout (both views' scores are computed:
    the diagnosis compares them)."""
    if view not in VIEWS:
        raise ValueError(
            N_("Unknown view '{view}': use 'weight' (attention weights) or 'norm' (what the heads move).").format(
                view=view
            )
        )
    analyses = analyze_views(result, exclude_special, thresholds, rollout_views=(view,))
    if view not in analyses:
        raise ValueError(ERR_NO_NORMS)
    return analyses[view]


def analyze_views(
    result: AttentionResult,
    exclude_special: bool = False,
    thresholds: RoleThresholds = RoleThresholds(),
    rollout_views: Sequence[View] = ("weight",),
    views: Sequence[View] = VIEWS,
) -> dict[View, Analysis]:
    """Both views from one sweep over the weights: {"weight": Analysis, "norm": Analysis}.

    rollout_views: the views whose [CLS] rollout is computed (`Analysis.rollout`; None in
    the others).  The norm-view rollout is an option: it needs T̃ summed over heads.
    views: the views to return.  With both, each diagnosis compares them and the
    clogged-flow warning is judged on the norm view.  Without value norms (a result built
    by hand) only "weight" is available.
    """
    available = VIEWS if result.value_norms is not None else ("weight",)
    views = tuple(view for view in views if view in available)
    if not views:
        raise ValueError(ERR_NO_NORMS)
    attention = result.layer_attention
    norms = result.value_norms
    if norms is None:
        norms = np.ones((len(attention), attention[0].shape[0], result.n_tokens), dtype=np.float32)
    rollout_views = tuple(view for view in rollout_views if view in views) if result.cls_positions else ()
    positions = S.KeyPositions(result.cls_positions, result.sep_positions, S.punctuation_positions(result.tokens))
    plan = S.read_plan(positions, result.n_tokens)
    stats = sweep(
        attention,
        norms,
        result.global_value_norms,
        result.global_positions,
        means=() if result.is_banded else rollout_views,
        pairs=(plan.queries, plan.keys),
    )
    scale = S.NormScale(norms, stats.norm_totals, result.global_value_norms, result.global_positions)
    both = S.read_views(plan, stats.entries, scale if "norm" in views else None)  # [V, L, H, ...]
    computed = VIEWS[: both.cls_row.shape[0]]
    reads = dataclasses.replace(both, entropy=np.stack([stats.entropy, stats.norm_entropy][: len(computed)]))
    rows = S.query_rows(result.special_mask, exclude_special)
    all_scores = S.head_scores(reads, result.special_mask, rows)  # name → [V, L, H]
    all_partitions = S.partition(reads, result.special_mask, rows)  # [V, L, H, 4]
    summaries = (all_scores["cls_out"] * S.breadth(reads, result.special_mask)).mean(axis=-1)  # [V, L]
    parts = {}
    for index, view in enumerate(computed):
        if view in views:
            scores = {name: values[index] for name, values in all_scores.items()}
            parts[view] = (scores, all_partitions[index], classify_heads(scores, thresholds), summaries[index])
    compared = len(parts) == len(VIEWS)
    comparison = _comparison(result, parts, thresholds) if compared else ()
    out = {}
    for view, (scores, partition, roles, layer_summary) in parts.items():
        best = summary_layers(layer_summary)
        layer_partition = partition.mean(axis=1)
        story = diagnose(
            roles,
            layer_partition,
            scores["cls_out"],
            best,
            thresholds,
            warn=not compared,
            pair=result.text_b is not None,
            said={item.topic for item in comparison if item.topic},
        )
        out[view] = Analysis(
            scores=scores,
            partition=partition,
            roles=roles,
            layer_partition=layer_partition,
            layer_roles=role_shares(roles),
            layer_summary=layer_summary,
            summary_layers=best,
            diagnosis=comparison + story,
            exclude_special=exclude_special,
            view=view,
            rollout=_cls_rollout(result, stats, view) if view in rollout_views else None,
        )
    return out


def _comparison(result: AttentionResult, parts: dict, thresholds: RoleThresholds) -> tuple[Diagnosis, ...]:
    """models.score.view_compare.compare_views on the two views' layer partitions and roles."""
    special = {
        "cls": (result.cls_positions[:1], _label(result, result.cls_positions)),
        "sep": (result.sep_positions, _label(result, result.sep_positions)),
    }
    (_, weight_partition, weight_roles, _), (_, norm_partition, norm_roles, _) = parts["weight"], parts["norm"]
    return compare_views(
        weight_partition.mean(axis=1),
        norm_partition.mean(axis=1),
        weight_roles,
        norm_roles,
        result.value_norms,
        special,
        result.special_mask,
        thresholds,
    )


def _label(result: AttentionResult, positions: tuple[int, ...]) -> str:
    return result.tokens[positions[0]] if positions else ""


def _cls_rollout(result: AttentionResult, stats, view: View) -> np.ndarray:
    """[L, N] rollout of the first cls row: from the sweep's head means, or through the band."""
    cls = result.cls_positions[:1]
    if view in stats.head_means:
        return rollout_rows(stats.head_means[view], cls)[0]
    return query_rollout(result, cls, view)[0]


def _rounded(array: np.ndarray) -> list:
    return np.round(np.asarray(array, dtype=np.float64), JSON_DECIMALS).tolist()


def to_json_dict(result: AttentionResult, analysis: Analysis, word_level: bool = False) -> dict:
    """The stable JSON document printed by `cli.py analyze --format json` (see README).

    Scores, partition, roles, layers, diagnosis and rollout follow `analysis.view`.
    word_level merges word pieces in the rollout (models/score/words.py; dense inputs only).
    """
    document = {
        "model": result.model.as_json(),
        "view": analysis.view,
        "tokens": list(result.tokens),
        "special": {"cls": list(result.cls_positions), "sep": list(result.sep_positions)},
        "global": list(result.global_positions),
        "segments": list(result.segment_ids),
        "truncated": result.truncated,
        "typed_markers": list(result.typed_markers),
        "notices": [as_text(notice) for notice in result.notices],
        "unk_share": round(float(result.unk_share), JSON_DECIMALS),
        "exclude_special": analysis.exclude_special,
        "scores": {name: _rounded(values) for name, values in analysis.scores.items()},
        "partition": {name: _rounded(analysis.partition[..., k]) for k, name in enumerate(S.PART_NAMES)},
        "roles": analysis.roles.tolist(),
        "layers": [
            {
                "layer": layer + 1,
                "roles": {
                    role: round(float(analysis.layer_roles[layer, k]), JSON_DECIMALS) for k, role in enumerate(ROLES)
                },
                "partition": {
                    name: round(float(analysis.layer_partition[layer, k]), JSON_DECIMALS)
                    for k, name in enumerate(S.PART_NAMES)
                },
                "summary": round(float(analysis.layer_summary[layer]), JSON_DECIMALS),
            }
            for layer in range(analysis.roles.shape[0])
        ],
        "summary_layers": [layer + 1 for layer in analysis.summary_layers],
        "diagnosis": [{"level": d.level, "message": as_text(d.message)} for d in analysis.diagnosis],
        "value_norms": _rounded(result.value_norms) if result.value_norms is not None else None,
    }
    if result.global_value_norms is not None:
        document["global_value_norms"] = _rounded(result.global_value_norms)
    document.update(_rollout_json(result, analysis, word_level))
    return document


def _rollout_json(result: AttentionResult, analysis: Analysis, word_level: bool) -> dict:
    """ "rollout" of the first cls row (token or word level) and, at word level, "words"."""
    if analysis.rollout is None:
        return {"rollout": None}
    query, layers = result.cls_positions[0], analysis.rollout
    if not word_level:
        return {"rollout": {"query": query, "layers": _rounded(layers)}}
    words = result_words(result)
    word = next(w for w, group in enumerate(words.groups) if query in group)
    return {
        "words": {"labels": list(words.labels), "groups": [list(group) for group in words.groups]},
        "rollout": {"query": word, "layers": _rounded(layers @ words.merge)},
    }
