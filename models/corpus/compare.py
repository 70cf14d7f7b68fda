"""Two models over the same corpus (say pre-trained and fine-tuned): what changed, head by head.

    compare_corpus(loaded_a, loaded_b, source, options, progress=...) -> CorpusComparison

The corpus is read once, in chunks (models/corpus/engine.py).  Each chunk is tokenised by both
tokenizers and scored by both models with the corpus engine's batch scorer, and each side's
scores are folded into the corpus aggregates (models/corpus/stats.py), so each side's numbers
are the ones `run_corpus` gives that model alone.  A sentence is *aligned* when both
tokenizers give it the same token ids; for aligned sentences the two models' attention maps
are compared from the same forward passes:

  head similarity   [L, H] per sentence: the mean over its query rows i of
                    cos(A_a[l, h, i, :], A_b[l, h, i, :]) (Kovaleva et al. 2019, as
                    models/compare/heads.py on one input); then mean and 95% interval over the
                    aligned sentences.  Only when both models have the same L × H.
  layer similarity  [P] per layer pair matched at normalised depth (models/compare/layers.py):
                    the same with each layer's head-averaged map, so models of different
                    depths are still compared map against map.

All query rows of a sentence count, special tokens included (as on one input).  Heads are
paired (diff, similarity, ranked changes) when the models have the same L × H and at least one
sentence aligned; otherwise the comparison is layer by layer and a notice says why.  A long
Longformer sentence, kept banded by the engine, is scored but not aligned (no dense map).

Memory is constant in the corpus size: one chunk and two batches' attention at a time, plus
the aggregates (each side's bounded top-k lists are the only per-sentence state).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from i18n import as_text
from models.compare.heads import TOP_HEADS, HeadChange, change_json, changed_heads, layer_rows
from models.compare.layers import LayerComparison, depths, match_layers, row_cosine
from models.corpus.batch import (
    BatchForward,
    Encoded,
    encode_records,
    forward_batch,
    plan_batches,
    runs_alone,
    score_forward,
    score_sentences,
    usable_views,
)
from models.corpus.compare_summary import corpus_notices, score_views, summarise_corpus
from models.corpus.engine import (
    CorpusOptions,
    CorpusProgress,
    Progress,
    chunk_stats,
    chunks,
    model_info,
    no_sentences_message,
)
from models.corpus.io import CorpusInputError, CorpusRecord
from models.corpus.result import CorpusResult, Estimate, finish, rounded
from models.corpus.result import to_json_dict as corpus_json
from models.corpus.source import CorpusSource
from models.corpus.stats import CorpusStats, Moments
from models.load.loading import LoadedModel
from models.score.roles import ROLES
from models.score.scores import PART_NAMES

NO_MOMENTS = Moments(0, np.zeros(0), np.zeros(0))  # merges as the identity


@dataclass(frozen=True, eq=False)
class CorpusComparison:
    """Model A against model B over one corpus.

    a, b              each model's CorpusResult (the numbers run_corpus gives it alone)
    sentences         sentences both models scored
    aligned           sentences both tokenizers split into the same token ids (and whose maps
                      were compared)
    paired            heads paired: same L × H and aligned > 0
    diff              view → name → float64 [L, H], B − A of the corpus means; names are the
                      scores (models.score.scores.SCORE_NAMES) and "partition.<part>" (None when not paired)
    similarity        Estimate [L, H] of the per-sentence head similarity over the aligned
                      sentences (None when not paired)
    layers            layer-level comparison (always): depths, matched pairs, head-mean scores,
                      role shares and partition of each side's corpus means (weight view)
    layer_similarity  Estimate [P] per matched layer pair, head-averaged maps (None when aligned = 0)
    changed           up to `top` heads, least similar first (empty when not paired)
    summary           plain-words messages about the change, with numbers
    notices           what could not be compared, and why
    """

    a: CorpusResult
    b: CorpusResult
    sentences: int
    aligned: int
    paired: bool
    diff: dict[str, dict[str, np.ndarray]] | None
    similarity: Estimate | None
    layers: LayerComparison
    layer_similarity: Estimate | None
    changed: tuple[HeadChange, ...]
    summary: tuple[str, ...]
    notices: tuple[str, ...]


@dataclass(frozen=True)
class _Fold:
    """Running aggregates of a comparison: each side's CorpusStats, sentences both scored,
    and the Moments of the head similarity [L, H] and the layer similarity [P]."""

    a: CorpusStats = field(default_factory=CorpusStats)
    b: CorpusStats = field(default_factory=CorpusStats)
    both: int = 0
    head: Moments = NO_MOMENTS
    layer: Moments = NO_MOMENTS

    def merge(self, other: _Fold) -> _Fold:
        return _Fold(
            self.a.merge(other.a),
            self.b.merge(other.b),
            self.both + other.both,
            self.head.merge(other.head),
            self.layer.merge(other.layer),
        )


def _masked_row_mean(cosine: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Mean over each sentence's real query rows: cosine [R, ..., N], valid [R, N] → [R, ...]."""
    shape = (valid.shape[0],) + (1,) * (cosine.ndim - 2) + (valid.shape[1],)
    mask = valid.reshape(shape)
    return (cosine * mask).sum(axis=-1) / mask.sum(axis=-1)


def map_similarity(
    forward_a: BatchForward,
    forward_b: BatchForward,
    rows: Sequence[int],
    matched: Sequence[tuple[int, int]],
    heads: bool,
) -> tuple[np.ndarray | None, np.ndarray]:
    """Per-sentence similarity of two models' maps for the batch rows `rows` (the same
    sentences, the same tokens, at those rows of both batches).

    Returns (head [R, L, H] or None when `heads` is False, layer [R, P]): the mean over each
    sentence's real query rows of the row cosine, per head and per matched layer pair of
    head-averaged maps.  float64; nothing is modified.
    """
    rows = list(rows)
    valid = forward_a.masks.valid[rows]  # [R, N_a]
    width = int(valid.sum(axis=1).max())
    valid = valid[:, :width]  # both batches have these sentences' real tokens first

    def dense(forward: BatchForward, layer: int) -> np.ndarray:
        return forward.attention[layer][rows, :, :width, :width].double().numpy()  # [R, H, n, n]

    head = None
    if heads:
        head = np.stack(
            [
                _masked_row_mean(row_cosine(dense(forward_a, layer), dense(forward_b, layer)), valid)
                for layer in range(len(forward_a.attention))
            ],
            axis=1,
        )  # [R, L, H]
    layer = np.stack(
        [
            _masked_row_mean(row_cosine(dense(forward_a, la).mean(axis=1), dense(forward_b, lb).mean(axis=1)), valid)
            for la, lb in matched
        ],
        axis=1,
    )  # [R, P]
    return head, layer


def _similarity_fold(parts: Iterable[tuple[np.ndarray | None, np.ndarray]]) -> tuple[Moments, Moments]:
    head, layer = NO_MOMENTS, NO_MOMENTS
    for head_part, layer_part in parts:
        if head_part is not None:
            head = head.merge(Moments.of(head_part))
        layer = layer.merge(Moments.of(layer_part))
    return head, layer


def compare_chunk(
    loaded_a: LoadedModel, loaded_b: LoadedModel, records: Sequence[CorpusRecord], options: CorpusOptions
) -> _Fold:
    """One chunk: both models' aggregates, and the similarity of their maps on aligned sentences.

    When both models cut the chunk into the same batches (the same tokenizer, the usual case),
    each batch's two forward passes give both the scores and the similarity; otherwise each
    model scores its own batches and the aligned sentences get forward passes of their own.
    """
    chunk_a, chunk_b = encode_records(loaded_a, records), encode_records(loaded_b, records)
    partner = {s.index: s for s in chunk_b.sentences}
    aligned = {s.index for s in chunk_a.sentences if s.index in partner and partner[s.index].ids == s.ids}
    views_a, views_b = usable_views(loaded_a, options.views), usable_views(loaded_b, options.views)
    heads = (loaded_a.layers, loaded_a.heads) == (loaded_b.layers, loaded_b.heads)
    matched = match_layers(loaded_a.layers, loaded_b.layers)
    plan_a = plan_batches(loaded_a, chunk_a.sentences, options.batch_size)
    plan_b = plan_batches(loaded_b, chunk_b.sentences, options.batch_size)
    scored_a, scored_b, parts = [], [], []
    together = [[s.index for s in batch] for batch in plan_a] == [[s.index for s in batch] for batch in plan_b]
    for batch_a, batch_b in zip(plan_a, plan_b) if together else ():
        if runs_alone(loaded_a, batch_a) or runs_alone(loaded_b, batch_b):
            scored_a.append((batch_a, score_sentences(loaded_a, batch_a, options.exclude_special, views_a)))
            scored_b.append((batch_b, score_sentences(loaded_b, batch_b, options.exclude_special, views_b)))
            continue
        with torch.inference_mode():
            forward_a, forward_b = forward_batch(loaded_a, batch_a, views_a), forward_batch(loaded_b, batch_b, views_b)
            scored_a.append((batch_a, score_forward(forward_a, options.exclude_special, views_a)))
            scored_b.append((batch_b, score_forward(forward_b, options.exclude_special, views_b)))
            rows = [k for k, sentence in enumerate(batch_a) if sentence.index in aligned]
            if rows:
                parts.append(map_similarity(forward_a, forward_b, rows, matched, heads))
    if not together:
        scored_a = [(b, score_sentences(loaded_a, b, options.exclude_special, views_a)) for b in plan_a]
        scored_b = [(b, score_sentences(loaded_b, b, options.exclude_special, views_b)) for b in plan_b]
        parts = list(_aligned_passes(loaded_a, loaded_b, chunk_a.sentences, aligned, partner, options, matched, heads))
    head, layer = _similarity_fold(parts)
    both = len({s.index for s in chunk_a.sentences} & set(partner))
    return _Fold(chunk_stats(chunk_a, scored_a, options), chunk_stats(chunk_b, scored_b, options), both, head, layer)


def _aligned_passes(loaded_a, loaded_b, sentences: Sequence[Encoded], aligned, partner, options, matched, heads):
    """Forward passes over the aligned sentences alone (batched for the larger model's budget)."""
    larger = max((loaded_a, loaded_b), key=lambda loaded: loaded.layers * loaded.heads)
    subset = [s for s in sentences if s.index in aligned]
    for batch in plan_batches(larger, subset, options.batch_size):
        batch_b = [partner[s.index] for s in batch]
        if runs_alone(loaded_a, batch) or runs_alone(loaded_b, batch_b):
            continue
        with torch.inference_mode():
            forward_a, forward_b = (
                forward_batch(loaded_a, batch, ("weight",)),
                forward_batch(loaded_b, batch_b, ("weight",)),
            )
            yield map_similarity(forward_a, forward_b, range(len(batch)), matched, heads)


def _layer_comparison(a: CorpusResult, b: CorpusResult) -> LayerComparison:
    """Each side's weight-view layer summaries, and the layers that meet at matching depth."""

    def side(result: CorpusResult):
        view = result.weights
        scores = {name: values.mean(axis=1) for name, values in score_views(view).items()}
        roles = np.stack([view.layer_roles[role].mean for role in ROLES], axis=1)  # [L, R]
        partition = np.stack([view.layer_partition[part].mean for part in PART_NAMES], axis=1)  # [L, 4]
        return scores, roles, partition

    (scores_a, roles_a, partition_a), (scores_b, roles_b, partition_b) = side(a), side(b)
    return LayerComparison(
        depth_a=depths(a.model.layers),
        depth_b=depths(b.model.layers),
        matched=match_layers(a.model.layers, b.model.layers),
        scores_a=scores_a,
        scores_b=scores_b,
        roles_a=roles_a,
        roles_b=roles_b,
        partition_a=partition_a,
        partition_b=partition_b,
    )


def _frozen_diff(a: CorpusResult, b: CorpusResult) -> dict[str, dict[str, np.ndarray]]:
    diff = {}
    for view in (view for view in a.views if view in b.views):
        views_a, views_b = score_views(a.views[view]), score_views(b.views[view])
        diff[view] = {name: views_b[name] - views_a[name] for name in views_a}
        for values in diff[view].values():
            values.setflags(write=False)
    return diff


def compare_corpus(
    loaded_a: LoadedModel,
    loaded_b: LoadedModel,
    source: CorpusSource,
    options: CorpusOptions = CorpusOptions(),
    progress: Progress | None = None,
    top: int = TOP_HEADS,
) -> CorpusComparison:
    """Read the corpus once and compare the two models over it (see the module docstring).

    progress(CorpusProgress) is called after every chunk (sentences: those both scored).
    Raises CorpusInputError for bad input, or when a model is left with no sentence.
    """
    total = source.estimate_records(options.limit)
    started = time.perf_counter()
    fold = _Fold()
    for records in chunks(source.records(options.limit), options.chunk_records):
        fold = fold.merge(compare_chunk(loaded_a, loaded_b, records, options))
        if progress is not None:
            progress(CorpusProgress(fold.a.records, fold.both, total, time.perf_counter() - started))
    for stats in (fold.a, fold.b):
        if not stats.sentences:
            raise CorpusInputError(no_sentences_message(source.name, stats))
    a, b = (
        finish(stats, model_info(loaded), source.name, options.exclude_special, options.thresholds, views=options.views)
        for stats, loaded in ((fold.a, loaded_a), (fold.b, loaded_b))
    )
    aligned = fold.layer.count
    paired = (a.model.layers, a.model.heads) == (b.model.layers, b.model.heads) and aligned > 0
    diff = _frozen_diff(a, b) if paired else None
    similarity = Estimate.of(fold.head) if paired else None
    layer_similarity = Estimate.of(fold.layer) if aligned else None
    layers = _layer_comparison(a, b)
    changed: tuple[HeadChange, ...] = ()
    if paired:
        views_a, views_b = score_views(a.weights), score_views(b.weights)
        changed = changed_heads(similarity.mean, views_a, views_b, a.weights.main_roles, b.weights.main_roles, top)
    return CorpusComparison(
        a=a,
        b=b,
        sentences=fold.both,
        aligned=aligned,
        paired=paired,
        diff=diff,
        similarity=similarity,
        layers=layers,
        layer_similarity=layer_similarity,
        changed=changed,
        summary=summarise_corpus(a, b, aligned, diff, similarity, layers, layer_similarity),
        notices=corpus_notices(a, b, fold.both, aligned),
    )


def _estimate_json(estimate: Estimate | None) -> dict | None:
    if estimate is None:
        return None
    return {"mean": rounded(estimate.mean), "std": rounded(estimate.std), "ci": rounded(estimate.ci)}


def to_json_dict(comparison: CorpusComparison) -> dict:
    """The stable JSON document printed by `cli.py compare --corpus FILE --format json` (see README).

    a, b: each side's `models.corpus.result.to_json_dict`; similarity [L, H] corpus means, with
    similarity_std and similarity_ci (95% half-width); layers and heads are 1-based.
    """
    c = comparison
    layers = c.layers
    return {
        "a": corpus_json(c.a),
        "b": corpus_json(c.b),
        "sentences": c.sentences,
        "aligned_sentences": c.aligned,
        "paired": c.paired,
        "diff": None
        if c.diff is None
        else {view: {name: rounded(values) for name, values in names.items()} for view, names in c.diff.items()},
        "similarity": rounded(c.similarity.mean) if c.similarity is not None else None,
        "similarity_std": rounded(c.similarity.std) if c.similarity is not None else None,
        "similarity_ci": rounded(c.similarity.ci) if c.similarity is not None else None,
        "changed": [change_json(change) for change in c.changed],
        "layers": {
            "a": layer_rows(layers.depth_a, layers.scores_a, layers.roles_a, layers.partition_a),
            "b": layer_rows(layers.depth_b, layers.scores_b, layers.roles_b, layers.partition_b),
            "matched": [[la + 1, lb + 1] for la, lb in layers.matched],
            "similarity": _estimate_json(c.layer_similarity),
        },
        "summary": [as_text(message) for message in c.summary],
        "notices": [as_text(notice) for notice in c.notices],
    }
