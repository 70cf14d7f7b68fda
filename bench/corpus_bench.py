"""Corpus section of bench/main.py: engine throughput against a bare batched forward pass, memory, Ray.

For N = 1,000 and 10,000 sentences (models/data/sample_corpus.txt repeated to reach N) on `minilm`:
  bare    only model(**inputs, output_attentions=True) over the very batches the engine
          makes (tokenised, length-bucketed and padded beforehand, untimed)
  engine  models.corpus.engine.run_corpus: reading, tokenising, bucketing, forward, every score,
          the aggregates and the diagnosis
Target: engine throughput ≥ 0.85 × bare.  The two are timed alternately in one process,
after one untimed pass over every batch shape, and the best of R repeats of each is kept:
the development machine is shared, and other jobs slow single passes down by up to 10×.
"fwd share" is the part of the engine's own time spent inside the model's forward passes
(timed by hooks in the same run, median over the repeats): a steadier reading of the same
ratio, since other jobs slow both parts of one run alike.
Torch runs with one thread by default here (--corpus-threads): on the shared 2-core machine,
two intra-op threads made the same forward passes up to 6× slower whenever another job held
a core (measured: 13.2 s with 2 threads against 2.0 s with 1), which swamps the ratio.
Peak memory: the engine alone in a fresh process per N, so the peak is its own.
Target: peak at 10,000 ≤ 1.1 × peak at 1,000.
Ray: the same corpus on a fresh local Ray (num_cpus=2, two actors), start-up reported apart.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run alone or from bench/main.py: the project's packages
from models.examples import sample_corpus  # noqa: E402

SAMPLE = sample_corpus()
COUNTS = (1_000, 10_000)
THROUGHPUT_TARGET, MEMORY_TARGET = 0.85, 1.1


def write_corpus(count: int, folder: Path) -> Path:
    lines = [line for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    path = folder / f"corpus-{count}.txt"
    path.write_text("\n".join(lines[i % len(lines)] for i in range(count)) + "\n", encoding="utf-8")
    return path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, path: str, repeats: int = 3, threads: int = 1, device: str = "cpu") -> dict:
    """One measurement in this (fresh) process: "ray", "memory" (the engine once) or "speed"
    (on `device`: the bare forward passes get their inputs there beforehand, untimed)."""
    import torch

    torch.set_num_threads(threads)
    from models.corpus.batch import batch_inputs, encode_records, plan_batches
    from models.corpus.engine import CorpusOptions, chunks, run_corpus
    from models.corpus.source import open_path

    options = CorpusOptions()
    source = open_path(path)
    if mode == "ray":
        from models.corpus.ray_engine import run_corpus_ray, start_ray

        startup = start_ray(num_cpus=2)
        started = time.perf_counter()
        result = run_corpus_ray("minilm", source, options, workers=2)
        seconds = time.perf_counter() - started
        return {"startup_s": startup, "seconds": seconds, "sentences": result.sentences, "peak_mb": _peak_mb()}

    from models.load.loading import load_model

    loaded = load_model("minilm", device=device)
    loaded_mb = _peak_mb()
    on_gpu = device == "cuda"

    def synchronise() -> None:
        if on_gpu:
            torch.cuda.synchronize()

    if mode == "memory":
        started = time.perf_counter()
        result = run_corpus(loaded, source, options)
        return {
            "seconds": time.perf_counter() - started,
            "sentences": result.sentences,
            "peak_mb": _peak_mb(),
            "loaded_mb": loaded_mb,
        }

    batches = []  # the engine's own batches, built untimed
    for chunk in chunks(source.records(), options.chunk_records):
        for batch in plan_batches(loaded, encode_records(loaded, chunk).sentences, options.batch_size):
            inputs = batch_inputs(loaded, batch)[0]
            batches.append({name: tensor.to(device) for name, tensor in inputs.items()})

    def bare() -> None:
        with torch.inference_mode():
            for inputs in batches:
                loaded.model(**inputs, output_attentions=True)
        synchronise()

    inside = [0.0, 0.0]  # [start of the running forward pass, seconds spent in forward passes]
    loaded.model.register_forward_pre_hook(lambda *_: inside.__setitem__(0, time.perf_counter()))
    loaded.model.register_forward_hook(lambda *_: inside.__setitem__(1, inside[1] + time.perf_counter() - inside[0]))
    with torch.inference_mode():  # first call of each batch shape, out of both timings
        for inputs in {tuple(b["input_ids"].shape): b for b in batches}.values():
            loaded.model(**inputs, output_attentions=True)
    times: dict[str, list[float]] = {"bare": [], "engine": [], "share": []}
    for _ in range(repeats):
        for name, work in (("bare", bare), ("engine", lambda: run_corpus(loaded, source, options))):
            inside[1] = 0.0
            started = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - started)
        times["share"].append(inside[1] / times["engine"][-1])
    return {"sentences": sum(len(b["input_ids"]) for b in batches), **times}


def _run_child(mode: str, path: Path, repeats: int = 3, threads: int = 1, device: str = "cpu") -> dict:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "main.py"),
            "--corpus-child",
            mode,
            str(path),
            "--corpus-repeats",
            str(repeats),
            "--corpus-threads",
            str(threads),
            "--corpus-device",
            device,
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def corpus_section(counts=COUNTS, ray_count: int | None = 1_000, repeats: int = 3, threads: int = 1) -> None:
    print(
        f"\ncorpus: minilm, data/sample_corpus.txt repeated, batch 32, 8 batches per sorting window, "
        f"torch threads {threads}, best of {repeats} alternating passes (median in brackets)"
    )
    print(f"{'sentences':>9} {'bare s/s':>15} {'engine s/s':>15} {'ratio':>6} {'fwd share':>9} {'peak MB':>8}  target")
    peaks, local_rate = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for count in counts:
            path = write_corpus(count, Path(folder))
            speed, memory = _run_child("speed", path, repeats, threads), _run_child("memory", path, 1, threads)
            bare = [speed["sentences"] / s for s in speed["bare"]]
            engine = [speed["sentences"] / s for s in speed["engine"]]
            peaks[count], local_rate[count] = memory["peak_mb"], max(engine)
            print(
                f"{count:>9,} {max(bare):>6.1f} [{statistics.median(bare):>6.1f}] "
                f"{max(engine):>6.1f} [{statistics.median(engine):>6.1f}] {max(engine) / max(bare):>6.2f} "
                f"{statistics.median(speed['share']):>9.2f} {memory['peak_mb']:>8.0f}  "
                f"ratio ≥ {THROUGHPUT_TARGET}"
            )
        gpu_section(counts[-1], Path(folder), repeats, threads, local_rate[counts[-1]])
        if len(counts) == 2:
            low, high = counts
            print(
                f"peak memory {high:,} / {low:,} sentences (engine alone, fresh processes): "
                f"{peaks[high] / peaks[low]:.3f}  (target ≤ {MEMORY_TARGET}; the loaded model alone is about "
                f"{memory['loaded_mb']:.0f} MB of each peak)"
            )
        if ray_count:
            path = write_corpus(ray_count, Path(folder))
            ray = _run_child("ray", path)
            if ray_count not in local_rate:
                local_rate[ray_count] = max(
                    ray_count / s for s in _run_child("speed", path, repeats, threads)["engine"]
                )
            rate = ray["sentences"] / ray["seconds"]
            print(
                f"ray, {ray_count:,} sentences, 2 actors × 1 CPU: start-up {ray['startup_s']:.1f} s (apart); run "
                f"{ray['seconds']:.1f} s including actor start and model load = {rate:.1f} sentences/s, against "
                f"local {local_rate[ray_count]:.1f} sentences/s ({threads} torch thread(s), model already loaded)"
            )


def gpu_section(count: int, folder: Path, repeats: int, threads: int, cpu_rate: float) -> None:
    """On a machine with a CUDA GPU: the engine against a bare batched forward on the same GPU
    (target ≥ THROUGHPUT_TARGET) and its speed-up over the CPU engine; one line saying so otherwise."""
    import torch

    if not torch.cuda.is_available():
        print("gpu: no CUDA GPU on this machine; run bench/main.py where there is one for the GPU line")
        return
    speed = _run_child("speed", write_corpus(count, folder), repeats, threads, device="cuda")
    bare = max(speed["sentences"] / s for s in speed["bare"])
    engine = max(speed["sentences"] / s for s in speed["engine"])
    print(
        f"gpu ({torch.cuda.get_device_name(0)}), {count:,} sentences: bare {bare:.1f} s/s, engine {engine:.1f} s/s, "
        f"ratio {engine / bare:.2f} (target ≥ {THROUGHPUT_TARGET}); speed-up over the CPU engine "
        f"{engine / cpu_rate:.1f}×"
    )
