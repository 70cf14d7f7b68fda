"""Corpus section of bench.py: engine throughput against a bare batched forward pass, memory, Ray.

For N = 1,000 and 10,000 sentences (data/sample_corpus.txt repeated to reach N) on `minilm`:
  bare    only model(**inputs, output_attentions=True) over the very batches the engine
          makes (tokenised, length-bucketed and padded beforehand, untimed)
  engine  models.corpus.run_corpus: reading, tokenising, bucketing, forward, every score,
          the aggregates and the diagnosis
Target: engine throughput ≥ 0.85 × bare.  Each cell runs in a fresh process, so its peak
resident memory is its own.  Target: peak at 10,000 ≤ 1.1 × peak at 1,000.
Ray: the same corpus on a fresh local Ray (num_cpus=2, two actors), start-up reported apart.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SAMPLE = ROOT / "data" / "sample_corpus.txt"
COUNTS = (1_000, 10_000)
THROUGHPUT_TARGET, MEMORY_TARGET = 0.85, 1.1


def write_corpus(count: int, folder: Path) -> Path:
    lines = [line for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    path = folder / f"corpus-{count}.txt"
    path.write_text("\n".join(lines[i % len(lines)] for i in range(count)) + "\n", encoding="utf-8")
    return path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, path: str) -> dict:
    """One measurement in this (fresh) process."""
    import torch

    from models.corpus import CorpusOptions, chunks, run_corpus
    from models.corpus_batch import batch_inputs, encode_records, plan_batches
    from models.corpus_source import open_path

    options = CorpusOptions()
    source = open_path(path)
    if mode == "ray":
        from models.corpus_ray import run_corpus_ray, start_ray

        startup = start_ray(num_cpus=2)
        started = time.perf_counter()
        result = run_corpus_ray("minilm", source, options, workers=2)
        seconds = time.perf_counter() - started
        return {"startup_s": startup, "seconds": seconds, "sentences": result.sentences, "peak_mb": _peak_mb()}

    from models.loading import load_model

    loaded = load_model("minilm")
    warm, _ = batch_inputs(loaded, encode_records(loaded, list(source.records(8))).sentences)
    with torch.inference_mode():
        loaded.model(**warm, output_attentions=True)  # first-call set-up, out of both timings
    loaded_mb = _peak_mb()
    if mode == "engine":
        started = time.perf_counter()
        result = run_corpus(loaded, source, options)
        seconds, sentences = time.perf_counter() - started, result.sentences
    else:
        batches = []
        for chunk in chunks(source.records(), options.chunk_records):
            for batch in plan_batches(loaded, encode_records(loaded, chunk).sentences, options.batch_size):
                batches.append(batch_inputs(loaded, batch)[0])
        started = time.perf_counter()
        with torch.inference_mode():
            for inputs in batches:
                loaded.model(**inputs, output_attentions=True)
        seconds, sentences = time.perf_counter() - started, sum(len(b["input_ids"]) for b in batches)
    return {"seconds": seconds, "sentences": sentences, "peak_mb": _peak_mb(), "loaded_mb": loaded_mb}


def _run_child(mode: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, str(ROOT / "bench.py"), "--corpus-child", mode, str(path)],
                         check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def corpus_section(counts=COUNTS, ray_count: int | None = 1_000) -> None:
    import torch

    print(f"\ncorpus: minilm, data/sample_corpus.txt repeated, batch 32, 8 batches per sorting window, "
          f"torch threads {torch.get_num_threads()}, fresh process per cell")
    print(f"{'sentences':>9} {'bare s/s':>9} {'engine s/s':>11} {'ratio':>6} {'engine peak MB':>15}  target")
    peaks, local_rate = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for count in counts:
            path = write_corpus(count, Path(folder))
            bare, engine = _run_child("bare", path), _run_child("engine", path)
            bare_rate, engine_rate = bare["sentences"] / bare["seconds"], engine["sentences"] / engine["seconds"]
            peaks[count], local_rate[count] = engine["peak_mb"], engine_rate
            print(f"{count:>9,} {bare_rate:>9.1f} {engine_rate:>11.1f} {engine_rate / bare_rate:>6.2f} "
                  f"{engine['peak_mb']:>15.0f}  ratio ≥ {THROUGHPUT_TARGET}")
        if len(counts) == 2:
            low, high = counts
            print(f"peak memory {high:,} / {low:,}: {peaks[high] / peaks[low]:.3f}  (target ≤ {MEMORY_TARGET}; "
                  f"the loaded model alone is about {engine['loaded_mb']:.0f} MB of each peak)")
        if ray_count:
            path = write_corpus(ray_count, Path(folder))
            ray = _run_child("ray", path)
            if ray_count not in local_rate:
                engine = _run_child("engine", path)
                local_rate[ray_count] = engine["sentences"] / engine["seconds"]
            rate = ray["sentences"] / ray["seconds"]
            print(f"ray, {ray_count:,} sentences, 2 actors × 1 CPU: start-up {ray['startup_s']:.1f} s (apart); run "
                  f"{ray['seconds']:.1f} s incl. actor start and model load = {rate:.1f} sentences/s "
                  f"against local {local_rate[ray_count]:.1f} sentences/s")
