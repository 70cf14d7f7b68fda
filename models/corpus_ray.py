"""Ray Data engine: the local engine's per-chunk function, run in model-holding actors.

  1. The driver streams the corpus once through the project's own reader
     (models.corpus_io) and notes a split every `split_chunks` chunks: the byte offset,
     record index and line where it starts.  This validates the whole input (bad bytes,
     columns, JSON) before any model loads, and keeps only the split list in memory.
  2. `ray.data.from_items(splits).map_batches(CorpusWorker, batch_size=1, ...)`: each actor
     loads the model once; for each split it reads that byte range with the same reader
     and runs models.corpus.analyse_records, i.e. the same chunks, batches and
     analyse_chunk as the local engine, and returns one partial CorpusStats.
  3. The driver merges the partials as they stream back (progress and partial results).

Why from_items over splits and not ray.data.read_text / read_csv / read_json: those drop
blank lines without counting them, have no record index for the top-k drill-down, and
report a bad byte without its line.  Splitting at chunk boundaries also means both
engines score identical batches.

Workers are separate processes: the `models` package travels to them through the
runtime environment's py_modules; torch, transformers and the model must be installed on
every node (see README, "Corpus analysis").  `ray.init()` with no RAY_ADDRESS starts a
local Ray; with RAY_ADDRESS set it joins that cluster.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from models.corpus import (
    CorpusOptions,
    CorpusProgress,
    Partial,
    Progress,
    analyse_records,
    model_info,
    no_sentences_message,
)
from models.corpus_io import CorpusInputError, ReadSpec, read_records
from models.corpus_result import CorpusResult, finish
from models.corpus_source import CorpusSource
from models.corpus_stats import CorpusStats

MODELS_DIR = Path(__file__).resolve().parent
LOCAL_CPUS = 2
FORWARDED_ENV = ("HF_HUB_OFFLINE", "HF_HOME", "TRANSFORMERS_OFFLINE")
ERR_RAY_MISSING = "The Ray engine needs ray[data]: pip install -r requirements.txt."


@dataclass(frozen=True)
class Split:
    """A byte range of the corpus file: from `start` (record `first_index`, line
    `first_line`) up to record `stop_index` (exclusive)."""

    start: int
    first_index: int
    first_line: int
    stop_index: int


def plan_splits(path: Path, name: str, spec: ReadSpec, records_per_split: int, limit: int | None = None) -> list[Split]:
    """Stream the corpus once and cut it every `records_per_split` records."""
    starts: list[tuple[int, int, int]] = []
    end = 0
    with open(path, "rb") as stream:
        for record in read_records(stream, name, spec, stop_index=limit):
            if record.index % records_per_split == 0:
                starts.append((record.offset, record.index, record.line))
            end = record.index + 1
    stops = [index for _, index, _ in starts[1:]] + [end]
    return [Split(offset, index, line, stop) for (offset, index, line), stop in zip(starts, stops)]


def runtime_env() -> dict:
    """What every worker needs beyond the installed packages: this project's `models`."""
    env_vars = {"TOKENIZERS_PARALLELISM": "false"}
    env_vars.update({key: os.environ[key] for key in FORWARDED_ENV if key in os.environ})
    return {"py_modules": [str(MODELS_DIR)], "env_vars": env_vars}


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
    if not os.environ.get("RAY_ADDRESS"):
        options["num_cpus"] = num_cpus
    ray.init(**options)
    quiet_ray()  # after init: ray.init sets up its own loggers
    return time.perf_counter() - started


class CorpusWorker:
    """A Ray Data actor: loads the model once, then analyses one split per call."""

    def __init__(self, model: str, window, path: str, name: str, spec: dict, options: CorpusOptions, threads: int):
        import torch

        from models.loading import load_model

        torch.set_num_threads(threads)
        self.loaded = load_model(model, window)
        self.path, self.name, self.spec, self.options = path, name, ReadSpec(**spec), options

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        partials = []
        for start, first_index, first_line, stop in zip(
            batch["start"], batch["first_index"], batch["first_line"], batch["stop_index"]
        ):
            with open(self.path, "rb") as stream:
                records = read_records(
                    stream, self.name, self.spec, int(start), int(first_index), int(first_line), int(stop)
                )
                stats = analyse_records(self.loaded, records, self.options)
            partials.append(pickle.dumps((model_info(self.loaded), stats)))
        return {"partial": np.array(partials, dtype=object)}


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
) -> CorpusResult:
    """Analyse a corpus on Ray Data (starting a local Ray if none is running).

    The model is named, not passed: each actor loads its own copy.  `workers` defaults to
    the cluster's CPUs / cpus_per_worker.  Same result as models.corpus.run_corpus.
    """
    start_ray()
    import ray

    with source.as_file() as path:
        splits = plan_splits(path, source.name, source.spec, options.chunk_records * split_chunks, options.limit)
        if not splits:
            raise CorpusInputError(no_sentences_message(source.name, CorpusStats()))
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)) // cpus_per_worker)
        dataset = ray.data.from_items([asdict(split) for split in splits], override_num_blocks=len(splits))
        worker_args = dict(
            model=model,
            window=window,
            path=str(path),
            name=source.name,
            spec=asdict(source.spec),
            options=options,
            threads=cpus_per_worker,
        )
        with warnings.catch_warnings():  # Ray 2.60 warns about extra remote args, yet documents
            warnings.simplefilter("ignore")  # max_restarts=0 as the way to turn restarts off
            dataset = dataset.map_batches(
                CorpusWorker,
                batch_size=1,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=min(workers, len(splits))),
                num_cpus=cpus_per_worker,
                fn_constructor_kwargs=worker_args,
                max_restarts=0,  # a failed split is an error, not a silent retry
            )
        stats, info, done, total = CorpusStats(), None, 0, splits[-1].stop_index
        started = time.perf_counter()
        for row in dataset.iter_rows():  # partials stream back as splits finish, in any order
            info, partial = pickle.loads(row["partial"])
            stats, done = stats.merge(partial), done + 1
            if progress is not None:
                progress(CorpusProgress(stats.records, stats.sentences, total, time.perf_counter() - started))
            if on_partial is not None and stats.sentences and done % options.partial_every == 0:
                on_partial(
                    finish(stats, info, source.name, options.exclude_special, options.thresholds, False, options.views)
                )
    if not stats.sentences:
        raise CorpusInputError(no_sentences_message(source.name, stats))
    return finish(stats, info, source.name, options.exclude_special, options.thresholds, views=options.views)
