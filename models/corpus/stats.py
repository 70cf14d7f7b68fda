"""Running corpus aggregates that merge: counts, moments, role counts and top-k lists.

Everything here is immutable: `merge` returns a new value.  Merging is associative and
commutative (up to float64 rounding), so the result never depends on how the corpus was
split into chunks, batches or Ray tasks.  Memory is constant in the corpus size: nothing
per sentence is kept except the k best and worst sentences of each score and head.

Shapes: L layers, H heads, R roles, S scores (models.score.scores.SCORE_NAMES), k top-k size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from models.corpus.scores import SentenceScores
from models.score.roles import ROLES, RoleThresholds, classify_heads, layer_bands
from models.score.scores import SCORE_NAMES

if TYPE_CHECKING:
    from models.corpus.mixing import MixingStats

CONFIDENCE = 0.95
T_QUANTILE_975 = (  # Student's t, 97.5% quantile, for 1..30 degrees of freedom
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)
Z_975 = 1.959964
BANDS = ("lower", "middle", "upper")


def t_quantile(dof: int) -> float:
    """97.5% quantile of Student's t (a table up to 30, then a series in 1/dof; error < 1e-4)."""
    if dof < 1:
        return math.nan
    if dof <= len(T_QUANTILE_975):
        return T_QUANTILE_975[dof - 1]
    z = Z_975
    return z + (z**3 + z) / (4 * dof) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * dof**2)


@dataclass(frozen=True)
class Moments:
    """count, mean and M2 (sum of squared deviations) of a per-sentence quantity, float64.

    Batches are folded in with Chan et al.'s pairwise update, which keeps the variance
    accurate where sums of squares would cancel.
    """

    count: int
    mean: np.ndarray
    m2: np.ndarray

    @staticmethod
    def of(values: np.ndarray) -> Moments:
        """Moments of `values` [B, ...] over its first axis."""
        values = np.asarray(values, dtype=np.float64)
        mean = values.mean(axis=0)
        return Moments(values.shape[0], mean, ((values - mean) ** 2).sum(axis=0))

    def merge(self, other: Moments) -> Moments:
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        count = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / count)
        m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / count)
        return Moments(count, mean, m2)

    @property
    def std(self) -> np.ndarray:
        """Sample standard deviation (n − 1); 0 for fewer than two sentences."""
        if self.count < 2:
            return np.zeros_like(self.mean)
        return np.sqrt(np.maximum(self.m2, 0.0) / (self.count - 1))

    @property
    def ci(self) -> np.ndarray:
        """Half-width of the 95% confidence interval of the mean (t distribution); nan below 2."""
        if self.count < 2:
            return np.full_like(self.mean, np.nan)
        return t_quantile(self.count - 1) * self.std / math.sqrt(self.count)


@dataclass(frozen=True)
class TopK:
    """The k highest and k lowest values of each score and head, and their sentences.

    high_value, low_value  [S, L, H, k] float64, best first (missing: ∓inf)
    high_index, low_index  [S, L, H, k] int64 sentence indices (missing: −1)
    Ties are broken by the lower sentence index, so the lists do not depend on the split.
    """

    high_value: np.ndarray
    high_index: np.ndarray
    low_value: np.ndarray
    low_index: np.ndarray

    @staticmethod
    def empty(shape: tuple[int, ...], k: int) -> TopK:
        full = (*shape, k)
        return TopK(
            np.full(full, -np.inf),
            np.full(full, -1, dtype=np.int64),
            np.full(full, np.inf),
            np.full(full, -1, dtype=np.int64),
        )

    @property
    def k(self) -> int:
        return self.high_value.shape[-1]

    def _pick(self, values: np.ndarray, indices: np.ndarray, high: bool) -> tuple[np.ndarray, np.ndarray]:
        order = np.lexsort((indices, -values if high else values), axis=-1)[..., : self.k]
        return np.take_along_axis(values, order, -1), np.take_along_axis(indices, order, -1)

    def add(self, values: np.ndarray, indices: np.ndarray) -> TopK:
        """Fold in B sentences: values [B, S, L, H], indices [B]."""
        batch = np.moveaxis(np.asarray(values, dtype=np.float64), 0, -1)  # [S, L, H, B]
        index = np.broadcast_to(np.asarray(indices, dtype=np.int64), batch.shape)
        return self.merge(TopK(batch, index, batch, index))

    def merge(self, other: TopK) -> TopK:
        high = self._pick(
            np.concatenate([self.high_value, other.high_value], -1),
            np.concatenate([self.high_index, other.high_index], -1),
            True,
        )
        low = self._pick(
            np.concatenate([self.low_value, other.low_value], -1),
            np.concatenate([self.low_index, other.low_index], -1),
            False,
        )
        return TopK(high[0], high[1], low[0], low[1])

    def referenced(self) -> set[int]:
        found = np.union1d(self.high_index.ravel(), self.low_index.ravel())
        return {int(i) for i in found if i >= 0}


def sentence_metrics(scores: SentenceScores, thresholds: RoleThresholds) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-sentence quantities whose mean and spread the corpus reports, and the roles.

    Returns ({name: [B, ...]}, roles [B, L, H]).  Names: "score:<name>" [B, L, H],
    "partition" [B, L, H, 4], "layer_roles" [B, L, R] (share of the layer's heads in each
    role), "layer_partition" [B, L, 4], "layer_summary" [B, L], "layer_cls_out" [B, L],
    "band_partition" [B, 3, 4] and "band_local" [B, 3] (lower / middle / upper thirds),
    "special_share" [B] (share of all heads that are cls/sep heads), and in the norm view
    "norm_sizes" [B, L, 3] (mean ‖f(x)‖ of the words, [CLS] and [SEP]: SentenceScores).
    """
    roles = classify_heads(scores.scores, thresholds)  # [B, L, H], elementwise rules
    layers = roles.shape[1]
    layer_roles = np.stack([(roles == role).mean(axis=-1) for role in ROLES], axis=-1)
    layer_partition = scores.partition.mean(axis=2)
    bands = list(layer_bands(layers).values())
    local = (roles == "local").astype(np.float64)
    metrics = {f"score:{name}": scores.scores[name] for name in SCORE_NAMES}
    metrics.update(
        partition=scores.partition,
        layer_roles=layer_roles,
        layer_partition=layer_partition,
        layer_summary=scores.layer_summary,
        layer_cls_out=scores.scores["cls_out"].mean(axis=-1),
        band_partition=np.stack([layer_partition[:, band].mean(axis=1) for band in bands], axis=1),
        band_local=np.stack([local[:, band].mean(axis=(1, 2)) for band in bands], axis=1),
        special_share=np.isin(roles, ("cls", "sep")).mean(axis=(1, 2)),
    )
    if scores.norm_sizes is not None:
        metrics["norm_sizes"] = scores.norm_sizes
    return metrics, roles


@dataclass(frozen=True)
class ViewStats:
    """One attention view's aggregates.

    moments      name → Moments (see sentence_metrics for the names and shapes)
    role_counts  [R, L, H] int64: in how many sentences each head takes each role
    top          TopK over the S scores
    """

    moments: Mapping[str, Moments]
    role_counts: np.ndarray
    top: TopK

    @staticmethod
    def of(scores: SentenceScores, indices: np.ndarray, thresholds: RoleThresholds, k: int) -> ViewStats:
        metrics, roles = sentence_metrics(scores, thresholds)
        counts = np.stack([(roles == role).sum(axis=0) for role in ROLES]).astype(np.int64)
        values = np.stack([scores.scores[name] for name in SCORE_NAMES], axis=1)  # [B, S, L, H]
        top = TopK.empty(values.shape[1:], k).add(values, indices)
        return ViewStats({name: Moments.of(value) for name, value in metrics.items()}, counts, top)

    def merge(self, other: ViewStats) -> ViewStats:
        return ViewStats(
            {name: moments.merge(other.moments[name]) for name, moments in self.moments.items()},
            self.role_counts + other.role_counts,
            self.top.merge(other.top),
        )


@dataclass(frozen=True)
class CorpusStats:
    """Mergeable aggregates of part of a corpus (or all of it).

    records    records read, skipped ones included
    sentences  sentences scored
    skipped    reason → count (models.corpus.batch.SKIP_REASONS)
    truncated  sentences cut to the model's limit
    views      view name → ViewStats (empty dict when no sentence was scored yet)
    texts      index → (text, text_b) of the sentences named in a top-k list, nothing else
    mixing     the context-mixing aggregates (models.corpus.mixing), None unless asked for
    """

    records: int = 0
    sentences: int = 0
    skipped: Mapping[str, int] = field(default_factory=dict)
    truncated: int = 0
    views: Mapping[str, ViewStats] = field(default_factory=dict)
    texts: Mapping[int, tuple[str, str | None]] = field(default_factory=dict)
    mixing: MixingStats | None = None

    def merge(self, other: CorpusStats) -> CorpusStats:
        views = dict(self.views)
        for name, stats in other.views.items():
            views[name] = views[name].merge(stats) if name in views else stats
        wanted = set().union(*(stats.top.referenced() for stats in views.values())) if views else set()
        texts = {i: t for source in (self.texts, other.texts) for i, t in source.items() if i in wanted}
        skipped = dict(self.skipped)
        for reason, count in other.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + count
        return CorpusStats(
            self.records + other.records,
            self.sentences + other.sentences,
            skipped,
            self.truncated + other.truncated,
            views,
            texts,
            other.mixing if self.mixing is None else self.mixing.merge(other.mixing) if other.mixing else self.mixing,
        )
