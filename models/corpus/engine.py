"""Corpus analysis engine: stream records → chunks → padded batches → mergeable aggregates.

    run_corpus(loaded, source, options, progress=..., on_partial=...) -> CorpusResult

runs in this process (the local engine).  `analyse_chunk` is the one per-chunk function:
the local engine calls it on consecutive chunks of the stream, the Ray engine
(models.corpus.ray_engine) calls the very same function inside its actors, and both merge the
returned CorpusStats.  A chunk is `batch_size × sort_batches` records: it is sorted by
length and cut into batches (models.corpus.batch), so padding stays small.

Memory is constant in the corpus size: one chunk of records and its batches at a time,
plus the aggregates (models.corpus.stats).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice

import numpy as np

from models.corpus.batch import Encoded, EncodedChunk, encode_records, plan_batches, score_sentences
from models.corpus.checkpoint import Checkpointing
from models.corpus.io import CorpusInputError, CorpusRecord
from models.corpus.result import CorpusResult, finish
from models.corpus.scores import SentenceScores
from models.corpus.source import CorpusSource
from models.corpus.stats import CorpusStats, ViewStats
from models.extract.attention import InputError
from models.load.loading import LoadedModel
from models.result import ModelInfo
from models.score.roles import RoleThresholds
from models.score.sweep import VIEWS, View

ERR_NO_SENTENCES = "No sentence in '{name}' could be analysed ({counts})."
ERR_OPTION = "{name} must be a whole number of at least {least}; got {value!r}."
ERR_VIEW = "Unknown attention view {view!r}; the views are: {views}."
ERR_NO_WEIGHT = "The views must include 'weight' (the norm view is read alongside it); got {views!r}."
SKIP_WORDS = {"blank": "blank", "empty": "without tokens", "missing": "without the text column or field"}


class CorpusInterrupted(KeyboardInterrupt):
    """A local run stopped by KeyboardInterrupt (Ctrl+C, or a signal handler that raises it).

    records, sentences   how far it got (records read and sentences scored in whole chunks)
    total                records expected (None when unknown)
    partial              the result so far (complete=False), None when no sentence was scored
    """

    def __init__(self, records: int, sentences: int, total: int | None, partial: CorpusResult | None):
        super().__init__(records, sentences, total)
        self.records, self.sentences, self.total, self.partial = records, sentences, total, partial


@dataclass(frozen=True)
class CorpusOptions:
    """How to run.  batch_size: sentences per forward pass; sort_batches: batches per
    length-sorting window (a chunk); limit: read only the first N records; top_k: sentences
    kept per head, score and direction; partial_every: chunks between partial results;
    views: the attention views to score: "weight" always, and "norm" unless left out (a
    family without a capture entry gives the weight view only, and the result says so);
    measures: the context-mixing measures to aggregate per layer (models.corpus.mixing; none
    by default: each costs one more forward pass per sentence, value zeroing N layer reruns)."""

    batch_size: int = 32
    sort_batches: int = 8
    limit: int | None = None
    top_k: int = 5
    exclude_special: bool = False
    thresholds: RoleThresholds = field(default_factory=RoleThresholds)
    partial_every: int = 2
    views: tuple[View, ...] = VIEWS
    measures: tuple[str, ...] = ()

    def __post_init__(self):
        for name, least in (("batch_size", 1), ("sort_batches", 1), ("top_k", 1), ("partial_every", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise CorpusInputError(ERR_OPTION.format(name=name, least=least, value=value))
        if self.limit is not None and (
            isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1
        ):
            raise CorpusInputError(ERR_OPTION.format(name="limit", least=1, value=self.limit))
        for view in self.views:
            if view not in VIEWS:
                raise CorpusInputError(ERR_VIEW.format(view=view, views=", ".join(VIEWS)))
        if "weight" not in self.views:
            raise CorpusInputError(ERR_NO_WEIGHT.format(views=self.views))
        if self.measures:
            from models.mixing.run import check_measures

            try:
                object.__setattr__(self, "measures", check_measures(self.measures))
            except ValueError as error:
                raise CorpusInputError(str(error)) from None

    @property
    def chunk_records(self) -> int:
        return self.batch_size * self.sort_batches


@dataclass(frozen=True)
class CorpusProgress:
    """Where a run stands.  total: records expected (None when unknown, e.g. stdin)."""

    records: int
    sentences: int
    total: int | None
    elapsed_s: float

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(self.records / self.total, 1.0)

    @property
    def rate(self) -> float:
        """Sentences scored per second."""
        return self.sentences / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if not self.total or not self.records:
            return None
        return max(self.total - self.records, 0) * self.elapsed_s / self.records


Progress = Callable[[CorpusProgress], None]
ScoredBatch = tuple[Sequence[Encoded], Mapping[str, SentenceScores]]  # a batch and its views' scores
Partial = Callable[[CorpusResult], None]


def model_info(loaded: LoadedModel) -> ModelInfo:
    return ModelInfo.of(loaded)


def analyse_chunk(loaded: LoadedModel, records: Sequence[CorpusRecord], options: CorpusOptions) -> CorpusStats:
    """The per-chunk function of both engines: tokenise, bucket, score, fold → partial aggregates."""
    chunk = encode_records(loaded, records)
    scored = [
        (batch, score_sentences(loaded, batch, options.exclude_special, options.views))
        for batch in plan_batches(loaded, chunk.sentences, options.batch_size)
    ]
    stats = chunk_stats(chunk, scored, options)
    if not options.measures:
        return stats
    from models.corpus.mixing import mixing_stats

    return replace(stats, mixing=mixing_stats(loaded, chunk.sentences, options.measures))


def chunk_stats(chunk: EncodedChunk, scored: Sequence[ScoredBatch], options: CorpusOptions) -> CorpusStats:
    """Fold a chunk's scored batches ((batch, view → scores of its sentences), in any order)
    into partial aggregates."""
    order: list[Encoded] = []
    per_view: dict[str, list[SentenceScores]] = {}
    for batch, views in scored:
        for view, scores in views.items():
            per_view.setdefault(view, []).append(scores)
        order.extend(batch)
    if not order:
        return CorpusStats(records=chunk.records, skipped=chunk.skipped)
    indices = np.array([s.index for s in order], dtype=np.int64)
    views = {
        view: ViewStats.of(SentenceScores.concat(parts), indices, options.thresholds, options.top_k)
        for view, parts in per_view.items()
    }
    texts = {s.index: (s.text, s.text_b) for s in order}
    partial = CorpusStats(chunk.records, len(order), chunk.skipped, sum(s.truncated for s in order), views, texts)
    return CorpusStats().merge(partial)  # keeps only the texts named in a top-k list


def chunks(records: Iterable[CorpusRecord], size: int) -> Iterator[list[CorpusRecord]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


def analyse_records(
    loaded: LoadedModel,
    records: Iterable[CorpusRecord],
    options: CorpusOptions,
    on_chunk: Callable[[CorpusStats, int], None] | None = None,
    start: CorpusStats = CorpusStats(),
    chunks_done: int = 0,
) -> CorpusStats:
    """Fold a stream of records chunk by chunk into `start` (the aggregates of the
    `chunks_done` chunks before it, when resuming); `on_chunk(total so far, chunks done)`."""
    total = start
    for done, chunk in enumerate(chunks(records, options.chunk_records), start=chunks_done + 1):
        total = total.merge(analyse_chunk(loaded, chunk, options))
        if on_chunk is not None:
            on_chunk(total, done)
    return total


def no_sentences_message(name: str, stats: CorpusStats) -> str:
    counts = ", ".join(f"{count} {SKIP_WORDS[reason]}" for reason, count in stats.skipped.items() if count)
    return ERR_NO_SENTENCES.format(
        name=name, counts=f"{stats.records} records read" + (f": {counts}" if counts else "")
    )


def run_corpus(
    loaded: LoadedModel,
    source: CorpusSource,
    options: CorpusOptions = CorpusOptions(),
    progress: Progress | None = None,
    on_partial: Partial | None = None,
    checkpoint: Checkpointing | None = None,
) -> CorpusResult:
    """Analyse a corpus in this process.

    progress(CorpusProgress) is called after every chunk; on_partial(CorpusResult with
    complete=False) every `options.partial_every` chunks.  With `checkpoint`
    (models.corpus.checkpoint.prepare), the merged aggregates are written every
    `checkpoint.every` chunks, when interrupted and at the end, and a resumed run skips the
    chunks its checkpoint holds.  Raises CorpusInputError for bad input (with line and byte
    offset where it applies) or when no sentence is left, and CorpusInterrupted (a
    KeyboardInterrupt) with the partial result when interrupted.
    """
    if options.measures:  # a family the measures cannot read fails before any work
        from models.mixing.run import check_family

        try:
            check_family(loaded, dense=True)
        except InputError as error:
            raise CorpusInputError(str(error)) from None
    total = source.estimate_records(options.limit)
    info = model_info(loaded)
    started = time.perf_counter()
    resumed = checkpoint.resumed if checkpoint is not None else None
    start, chunks_done = (resumed.stats, resumed.position) if resumed is not None else (CorpusStats(), 0)
    merged = [start, chunks_done]  # the aggregates of the chunks done, for an interruption

    def partial(stats: CorpusStats) -> CorpusResult:
        return finish(
            stats, info, source.name, options.exclude_special, options.thresholds, complete=False, views=options.views
        )

    def on_chunk(stats: CorpusStats, done: int) -> None:
        merged[:] = stats, done
        if checkpoint is not None and done % checkpoint.every == 0:
            checkpoint.save(stats, done, info)
        if progress is not None:
            progress(CorpusProgress(stats.records, stats.sentences, total, time.perf_counter() - started))
        if on_partial is not None and stats.sentences and done % options.partial_every == 0:
            on_partial(partial(stats))

    try:
        if resumed is not None and resumed.complete:
            stats = start
        else:
            records = islice(source.records(options.limit), start.records, None)  # past the chunks done
            stats = analyse_records(loaded, records, options, on_chunk, start, chunks_done)
    except CorpusInterrupted:
        raise
    except KeyboardInterrupt:
        done, position = merged
        if checkpoint is not None:
            checkpoint.save(done, position, info)
        kept = partial(done) if done.sentences else None
        raise CorpusInterrupted(done.records, done.sentences, total, kept) from None
    if checkpoint is not None:
        checkpoint.save(stats, merged[1], info, complete=True)
    if not stats.sentences:
        raise CorpusInputError(no_sentences_message(source.name, stats))
    return finish(stats, info, source.name, options.exclude_special, options.thresholds, views=options.views)
