"""Cached results are shared by every session of the app: none of their arrays can be written."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.score.analysis import Analysis
from models.score.roles import Diagnosis


def _writable_arrays(value, path: str = "analysis") -> list[str]:
    """Paths of every writable ndarray reachable through dataclass fields, mappings and tuples."""
    if isinstance(value, np.ndarray):
        return [path] if value.flags.writeable else []
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            p for f in dataclasses.fields(value) for p in _writable_arrays(getattr(value, f.name), f"{path}.{f.name}")
        ]
    if hasattr(value, "items"):
        return [p for key, item in value.items() for p in _writable_arrays(item, f"{path}[{key!r}]")]
    if isinstance(value, (tuple, list)):
        return [p for k, item in enumerate(value) for p in _writable_arrays(item, f"{path}[{k}]")]
    return []


def _hand_built() -> Analysis:
    layers, heads = 2, 3
    partition = np.full((layers, heads, 4), 0.25)
    return Analysis(
        scores={"cls": np.zeros((layers, heads))},
        partition=partition,
        roles=np.full((layers, heads), "broad"),
        layer_partition=partition.mean(axis=1),
        layer_roles=np.zeros((layers, 6)),
        layer_summary=np.zeros(layers),
        summary_layers=(0,),
        diagnosis=(Diagnosis("info", "x"),),
        exclude_special=False,
        rollout=np.eye(layers, 4),
    )


def test_an_analysis_built_from_writable_arrays_holds_none():
    analysis = _hand_built()
    assert _writable_arrays(analysis) == []
    with pytest.raises(ValueError):
        analysis.partition[0, 0, 0] = 1.0
    with pytest.raises(TypeError):
        analysis.scores["cls"] = np.ones((2, 3))  # the score table is read-only too


def test_every_array_of_a_real_analysis_and_its_result_is_read_only(minilm):
    from models.extract.attention import extract
    from models.score.analysis import analyze_views

    result = extract(minilm, "The dog chased the cat because it was hungry.")
    analyses = analyze_views(result, rollout_views=("weight", "norm"))
    assert _writable_arrays(result, "result") == []
    for view, analysis in analyses.items():
        assert _writable_arrays(analysis, view) == []
