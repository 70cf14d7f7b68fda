"""Ray Data engine: the local engine's per-chunk function, run in model-holding actors.

  1. The driver streams the corpus once through the project's own reader
     (models.corpus.io) and notes a split every `split_chunks` chunks: the byte offset,
     record index and line where it starts.  This validates the whole input (bad bytes,
     columns, JSON) before any model loads, and keeps only the split list in memory.
  2. `ray.data.from_items(splits).map_batches(CorpusWorker, batch_size=1, ...)`: each actor
     loads the model once; for each split it reads that byte range with the same reader
     and runs models.corpus.engine.analyse_records, i.e. the same chunks, batches and
     analyse_chunk as the local engine, and returns one partial CorpusStats.
  3. The driver merges the partials as they stream back (progress and partial results).

Why from_items over splits and not ray.data.read_text / read_csv / read_json: those drop
blank lines without counting them, have no record index for the top-k drill-down, and
report a bad byte without its line.  Splitting at chunk boundaries also means both
engines score identical batches.

Workers are separate processes, possibly on nodes that cannot see this checkout:
  - every first-party package they import (`models`, and `i18n`, which models imports)
    travels through the runtime environment's py_modules; torch, transformers and the
    model must be installed on every node (see README, "Corpus analysis");
  - the corpus travels as data: each split's bytes are in its dataset row, read on the
    driver, so no worker opens a path that only the driver has.
With no RAY_ADDRESS the engine starts a Ray of its own (`address="local"`), even when a
`ray start` cluster is recorded on the machine; with RAY_ADDRESS it joins that cluster and
passes no resource counts.

Faults: each partial comes back with its split's number and is merged once.  When a worker
dies (a killed process, a lost node), the run goes on with the splits that have not come
back, on fresh actors, up to MAX_ATTEMPTS runs in all; so no split is counted twice or
lost.  When the attempts are spent, the run raises RayRunError with the partial result
merged so far (complete=False).  (Ray's own actor restarts stay off: with them Ray's core
prints a warning line of its own to stderr at every actor start.)
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import re
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from models.corpus.checkpoint import Checkpointing
from models.corpus.engine import (
    CorpusInterrupted,
    CorpusOptions,
    CorpusProgress,
    Partial,
    Progress,
    analyse_records,
    model_info,
    no_sentences_message,
)
from models.corpus.io import CorpusInputError, ReadSpec, read_header, read_records
from models.corpus.result import CorpusResult, finish
from models.corpus.source import CorpusSource
from models.corpus.stats import CorpusStats

MODELS_DIR = Path(__file__).resolve().parents[1]  # models/
SHIPPED_PACKAGES = ("models", "i18n")  # every first-party package a worker imports
LOCAL_CPUS = 2
MAX_ATTEMPTS = 4  # runs over the splits still missing, the first included
FORWARDED_ENV = ("HF_HUB_OFFLINE", "HF_HOME", "TRANSFORMERS_OFFLINE")
ERR_NO_GPU = (
    "--device cuda: the Ray cluster has no GPU; use --device cpu, or auto to take GPUs only where there are some."
)
ERR_RAY_MISSING = "The Ray engine needs ray[data]: pip install -r requirements.txt."
ERR_WORKERS_LOST = (
    "The Ray run stopped after {done} of {splits} splits ({sentences} sentences merged): a worker failed "
    "{attempts} runs in a row ({reason})."
)


class RayRunError(RuntimeError):
    """The Ray run could not finish; `partial` holds what was merged (complete=False), or None."""

    def __init__(self, message: str, partial: CorpusResult | None):
        super().__init__(message)
        self.partial = partial


@dataclass(frozen=True)
class Split:
    """A byte range of the corpus file: from `start` (record `first_index`, line
    `first_line`) up to record `stop_index` (exclusive)."""

    start: int
    first_index: int
    first_line: int
    stop_index: int
    end: int = -1  # byte where the next split starts (-1: the end of the file)


def plan_splits(
    path: Path, name: str, spec: ReadSpec, records_per_split: int, limit: int | None = None, chunk_records: int = 1
) -> list[Split]:
    """Stream the corpus once and cut it every `records_per_split` records, rounded to whole
    chunks of `chunk_records` (so both engines score the same batches).  When that would give
    fewer splits than `records_per_split` allows for, nothing changes; callers that want every
    worker busy pass a smaller `records_per_split` (see `split_size`)."""
    per_split = max(chunk_records, records_per_split // chunk_records * chunk_records)
    starts: list[tuple[int, int, int]] = []
    end = 0
    with open(path, "rb") as stream:
        for record in read_records(stream, name, spec, stop_index=limit):
            if record.index % per_split == 0:
                starts.append((record.offset, record.index, record.line))
            end = record.index + 1
    stops = [index for _, index, _ in starts[1:]] + [end]
    ends = [offset for offset, _, _ in starts[1:]] + [-1]
    return [
        Split(offset, index, line, stop, byte_end) for (offset, index, line), stop, byte_end in zip(starts, stops, ends)
    ]


def split_size(records: int, workers: int, chunk_records: int, most_chunks: int) -> int:
    """Records per split: at most `most_chunks` chunks, and few enough that each of `workers`
    gets a split when the corpus has that many chunks."""
    chunks = max(1, -(-records // chunk_records))
    per_worker = max(1, -(-chunks // max(1, workers)))
    return min(most_chunks, per_worker) * chunk_records


def runtime_env() -> dict:
    """What every worker needs beyond the installed packages: this project's own packages."""
    env_vars = {"TOKENIZERS_PARALLELISM": "false"}
    env_vars.update({key: os.environ[key] for key in FORWARDED_ENV if key in os.environ})
    root = MODELS_DIR.parent
    return {"py_modules": [str(root / package) for package in SHIPPED_PACKAGES], "env_vars": env_vars}


def quiet_ray() -> None:
    """Keep Ray's own progress bars and log lines off the CLI's stderr."""
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "ERROR")  # Ray Data re-reads this whenever it resets its loggers
    for name in ("ray", "ray.data", "ray._private", "ray.util"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.enable_operator_progress_bars = False
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False


def start_ray(num_cpus: int = LOCAL_CPUS) -> float:
    """Start a local Ray (or join RAY_ADDRESS) with `runtime_env()`; seconds it took, 0 when
    Ray already runs (then whoever started it must have passed `runtime_env()` to ray.init)."""
    token_given = os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
    if os.environ.get("RAY_ADDRESS") and token_given and not os.environ.get("RAY_AUTH_MODE"):
        # a joining driver never turns token authentication on by itself (docs/ray-cluster.md);
        # Ray reads the mode when it is first imported
        os.environ["RAY_AUTH_MODE"] = "token"
    try:
        import ray
    except ImportError:
        raise CorpusInputError(ERR_RAY_MISSING) from None
    if ray.is_initialized():
        quiet_ray()
        return 0.0
    started = time.perf_counter()
    options = dict(
        include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR, runtime_env=runtime_env()
    )  # local py_modules are accepted only here, per job
    if os.environ.get("RAY_ADDRESS"):
        ray.init(**options)  # joins that cluster: it has its own resources
    else:
        ray.init(address="local", num_cpus=num_cpus, **options)  # never a cluster recorded in /tmp/ray
    quiet_ray()  # after init: ray.init sets up its own loggers
    return time.perf_counter() - started


class CorpusWorker:
    """A Ray Data actor: loads the model once, then analyses one split per call."""

    def __init__(
        self, model: str, window, name: str, spec: dict, options: CorpusOptions, threads: int, device: str = "cpu"
    ):
        import torch

        from models.load.loading import load_model

        torch.set_num_threads(threads)
        self.loaded = load_model(model, window, device=device)
        self.name, self.spec, self.options = name, ReadSpec(**spec), options

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        partials = []
        for data, header, first_index, first_line, stop in zip(
            batch["data"], batch["header"], batch["first_index"], batch["first_line"], batch["stop_index"]
        ):  # batch_size=1: one split
            stream = io.BytesIO(bytes(data))  # a table's header line, then the split's records
            records = read_records(
                stream, self.name, self.spec, int(header), int(first_index), int(first_line), int(stop)
            )
            stats = analyse_records(self.loaded, records, self.options)
            partials.append(pickle.dumps((model_info(self.loaded), stats)))
        return {"split": batch["split"], "partial": np.array(partials, dtype=object)}


def split_rows(path: Path, splits: list[Split], spec: ReadSpec, name: str) -> list[dict]:
    """One dataset row per split, carrying the split's bytes (the corpus travels as data); a
    CSV/TSV split carries the header line in front, and `header` says where its records start."""
    rows = []
    with open(path, "rb") as stream:
        header = b""
        if spec.format in ("csv", "tsv"):
            _names, header_end, _line = read_header(stream, name, spec)
            stream.seek(0)
            header = stream.read(header_end)
        for number, split in enumerate(splits):
            stream.seek(split.start)
            data = stream.read(split.end - split.start) if split.end >= 0 else stream.read()
            rows.append(
                {
                    "split": number,
                    "data": header + data,
                    "header": len(header),
                    "first_index": split.first_index,
                    "first_line": split.first_line,
                    "stop_index": split.stop_index,
                }
            )
    return rows


def run_corpus_ray(
    model: str,
    source: CorpusSource,
    options: CorpusOptions = CorpusOptions(),
    window=None,
    progress: Progress | None = None,
    on_partial: Partial | None = None,
    workers: int | None = None,
    split_chunks: int = 4,
    cpus_per_worker: int = 1,
    checkpoint: Checkpointing | None = None,
    device: str = "cpu",
) -> CorpusResult:
    """Analyse a corpus on Ray Data (starting a local Ray if none is running).

    The model is named, not passed: each actor loads its own copy.  `workers` defaults to
    the cluster's CPUs / cpus_per_worker.  Same result as models.corpus.engine.run_corpus.  The
    splits' partials are merged in split order (those that come back early wait), so the
    result does not depend on which actor finished first, and a checkpoint (see
    models.corpus.checkpoint) holds the splits merged so far.  Raises RayRunError when
    workers keep failing and CorpusInterrupted on KeyboardInterrupt, both with the partial
    result.  `device` (auto, cpu or cuda): with GPUs in the cluster, auto and cuda give each
    actor one GPU (and `workers` defaults to the number of GPUs); cuda on a cluster without
    one is refused.
    """
    resumed = checkpoint.resumed if checkpoint is not None else None
    if resumed is not None and resumed.complete:
        return _finish(resumed.stats, resumed.model, source, options, True)
    start_ray()
    import ray

    gpus = int(ray.cluster_resources().get("GPU", 0))
    if device == "cuda" and not gpus:
        raise CorpusInputError(ERR_NO_GPU)
    gpus_per_worker = 1 if device in ("auto", "cuda") and gpus else 0
    with source.as_file() as path:
        if workers is None and gpus_per_worker:
            workers = gpus
        elif workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)) // cpus_per_worker)
        if resumed is not None:
            per_split = resumed.split_records  # the same cut as the run it continues
        else:
            records = sum(1 for _ in _records_of(path, source, options.limit))
            per_split = split_size(records, workers, options.chunk_records, split_chunks)
        splits = plan_splits(path, source.name, source.spec, per_split, options.limit, options.chunk_records)
        if not splits:
            raise CorpusInputError(no_sentences_message(source.name, CorpusStats()))
        rows = split_rows(path, splits, source.spec, source.name)
    worker_args = dict(
        model=model,
        window=window,
        name=source.name,
        spec=asdict(source.spec),
        options=options,
        threads=cpus_per_worker,
        device="cuda" if gpus_per_worker else "cpu",
    )
    merged = _InOrder(resumed.stats if resumed is not None else CorpusStats(), resumed.position if resumed else 0)
    total, info, started = splits[-1].stop_index, resumed.model if resumed else None, time.perf_counter()

    def save() -> None:
        if checkpoint is not None:
            checkpoint.save(merged.stats, merged.position, info, split_records=per_split)

    try:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            pending = [row for row in rows if not merged.has(int(row["split"]))]
            if not pending:
                break
            try:
                for row in _run_splits(ray, pending, worker_args, workers, cpus_per_worker, gpus_per_worker):
                    info, partial = pickle.loads(row["partial"])
                    moved = merged.add(int(row["split"]), partial)
                    so_far = merged.everything()
                    if progress is not None:
                        elapsed = time.perf_counter() - started
                        progress(CorpusProgress(so_far.records, so_far.sentences, total, elapsed))
                    if moved:  # a split is a few chunks: every one that extends the prefix is saved
                        save()
                    if on_partial is not None and so_far.sentences and merged.count % options.partial_every == 0:
                        on_partial(_finish(so_far, info, source, options, False))
            except ray.exceptions.RayError as error:
                if attempt == MAX_ATTEMPTS:
                    save()
                    so_far = merged.everything()
                    message = ERR_WORKERS_LOST.format(
                        done=merged.count,
                        splits=len(splits),
                        sentences=so_far.sentences,
                        attempts=MAX_ATTEMPTS,
                        reason=_reason(error),
                    )
                    kept = _finish(so_far, info, source, options, False) if so_far.sentences else None
                    raise RayRunError(message, kept) from None
    except KeyboardInterrupt:
        save()
        so_far = merged.everything()
        kept = _finish(so_far, info, source, options, False) if so_far.sentences else None
        raise CorpusInterrupted(so_far.records, so_far.sentences, total, kept) from None
    if checkpoint is not None:
        checkpoint.save(merged.stats, merged.position, info, complete=True, split_records=per_split)
    if not merged.stats.sentences:
        raise CorpusInputError(no_sentences_message(source.name, merged.stats))
    return _finish(merged.stats, info, source, options, True)


class _InOrder:
    """Split partials merged in split order: `stats` holds splits 0 … position−1; a split
    that comes back before its predecessors waits in `waiting`.  Each split counts once."""

    def __init__(self, stats: CorpusStats, position: int):
        self.stats, self.position, self.waiting = stats, position, {}

    def has(self, split: int) -> bool:
        return split < self.position or split in self.waiting

    def add(self, split: int, partial: CorpusStats) -> bool:
        """Take one split's partial; True when the in-order prefix grew."""
        if self.has(split):
            return False  # never merged twice
        self.waiting[split] = partial
        moved = False
        while self.position in self.waiting:
            self.stats = self.stats.merge(self.waiting.pop(self.position))
            self.position += 1
            moved = True
        return moved

    @property
    def count(self) -> int:
        return self.position + len(self.waiting)

    def everything(self) -> CorpusStats:
        """The prefix and the waiting splits together (for progress and partial results)."""
        stats = self.stats
        for split in sorted(self.waiting):
            stats = stats.merge(self.waiting[split])
        return stats


def _finish(stats: CorpusStats, info, source: CorpusSource, options: CorpusOptions, complete: bool) -> CorpusResult:
    return finish(stats, info, source.name, options.exclude_special, options.thresholds, complete, options.views)


def _run_splits(ray, rows: list[dict], worker_args: dict, workers: int, cpus_per_worker: int, gpus_per_worker: int = 0):
    """One Ray Data run of CorpusWorker over `rows`; yields each split's row as it finishes."""
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
    with warnings.catch_warnings():  # Ray 2.60 warns about extra remote args, yet documents
        warnings.simplefilter("ignore")  # max_restarts=0 as the way to turn restarts off
        dataset = dataset.map_batches(
            CorpusWorker,
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=min(workers, len(rows))),
            num_cpus=cpus_per_worker,
            num_gpus=gpus_per_worker,
            fn_constructor_kwargs=worker_args,
            max_restarts=0,  # a dead worker ends this run; run_corpus_ray runs the missing splits again
        )
    yield from dataset.iter_rows()


def _records_of(path: Path, source: CorpusSource, limit: int | None):
    with open(path, "rb") as stream:
        yield from read_records(stream, source.name, source.spec, stop_index=limit)


ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def plain_lines(error: BaseException) -> list[str]:
    """A Ray error's non-blank lines, without the terminal colour codes Ray puts in them."""
    return [line.strip() for line in ANSI_COLOUR.sub("", str(error)).splitlines() if line.strip()]


def _reason(error: BaseException) -> str:
    """The first line of a Ray error, without its traceback."""
    lines = plain_lines(error)
    return (lines[0] if lines else type(error).__name__)[:200]
