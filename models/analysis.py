"""Everything the app and the CLI show for one input: scores, roles, layer split, diagnosis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models import scores as S
from models.result import AttentionResult
from models.roles import (
    ROLES,
    Diagnosis,
    RoleThresholds,
    classify_heads,
    diagnose,
    role_shares,
    summary_layers,
)

JSON_DECIMALS = 6


@dataclass(frozen=True, eq=False)
class Analysis:
    """Scores and roles of every head, for one AttentionResult.

    scores           name → float64 [L, H] (see models.scores.SCORE_NAMES)
    partition        [L, H, 4] mass to-CLS / to-SEP / near-diagonal / rest (sums to 1)
    roles            [L, H] role names (models.roles.ROLES)
    layer_partition  [L, 4] partition averaged over heads: the layer-by-layer role split
    layer_roles      [L, len(ROLES)] share of each layer's heads in each role
    layer_summary    [L] how good a sentence summary the layer's [CLS] is (cls_out × breadth)
    summary_layers   0-based layers with the best [CLS] summary, best first
    diagnosis        plain-language messages
    exclude_special  whether special tokens' query rows were left out of the averages
    """

    scores: dict[str, np.ndarray]
    partition: np.ndarray
    roles: np.ndarray
    layer_partition: np.ndarray
    layer_roles: np.ndarray
    layer_summary: np.ndarray
    summary_layers: tuple[int, ...]
    diagnosis: tuple[Diagnosis, ...]
    exclude_special: bool


def analyze(
    result: AttentionResult,
    exclude_special: bool = False,
    thresholds: RoleThresholds = RoleThresholds(),
) -> Analysis:
    attention = result.layer_attention
    rows = S.query_rows(result.special_mask, exclude_special)
    scores = {
        "cls": S.cls_score(attention, result.cls_positions, rows),
        "sep": S.sep_score(attention, result.sep_positions, rows),
        "diagonal": S.diagonal_score(attention, rows),
        "prev": S.prev_score(attention, rows),
        "next": S.next_score(attention, rows),
        "punct": S.punct_score(attention, result.tokens, rows),
        "entropy": S.entropy_score(attention, rows),
        "cls_out": S.cls_out_score(attention, result.cls_positions, result.special_mask),
    }
    partition = S.mass_partition(attention, result.cls_positions, result.sep_positions, result.special_mask, rows)
    roles = classify_heads(scores, thresholds)
    layer_partition = partition.mean(axis=1)
    breadth = S.cls_breadth(attention, result.cls_positions, result.special_mask)
    layer_summary = (scores["cls_out"] * breadth).mean(axis=1)
    best = summary_layers(layer_summary)
    return Analysis(
        scores=scores,
        partition=partition,
        roles=roles,
        layer_partition=layer_partition,
        layer_roles=role_shares(roles),
        layer_summary=layer_summary,
        summary_layers=best,
        diagnosis=diagnose(roles, layer_partition, scores["cls_out"], best, thresholds),
        exclude_special=exclude_special,
    )


def _rounded(array: np.ndarray) -> list:
    return np.round(np.asarray(array, dtype=np.float64), JSON_DECIMALS).tolist()


def to_json_dict(result: AttentionResult, analysis: Analysis) -> dict:
    """The stable JSON document printed by `cli.py analyze --format json` (see README)."""
    return {
        "model": {
            "key": result.model.key,
            "family": result.model.family,
            "layers": result.model.layers,
            "heads": result.model.heads,
            "window": result.model.window,
        },
        "tokens": list(result.tokens),
        "special": {"cls": list(result.cls_positions), "sep": list(result.sep_positions)},
        "global": list(result.global_positions),
        "segments": list(result.segment_ids),
        "truncated": result.truncated,
        "notices": list(result.notices),
        "exclude_special": analysis.exclude_special,
        "scores": {name: _rounded(values) for name, values in analysis.scores.items()},
        "partition": {name: _rounded(analysis.partition[..., k]) for k, name in enumerate(S.PART_NAMES)},
        "roles": analysis.roles.tolist(),
        "layers": [
            {
                "layer": layer + 1,
                "roles": {role: round(float(analysis.layer_roles[layer, k]), JSON_DECIMALS) for k, role in enumerate(ROLES)},
                "partition": {
                    name: round(float(analysis.layer_partition[layer, k]), JSON_DECIMALS)
                    for k, name in enumerate(S.PART_NAMES)
                },
                "summary": round(float(analysis.layer_summary[layer]), JSON_DECIMALS),
            }
            for layer in range(analysis.roles.shape[0])
        ],
        "summary_layers": [layer + 1 for layer in analysis.summary_layers],
        "diagnosis": [{"level": d.level, "message": d.message} for d in analysis.diagnosis],
    }
