"""Benchmark: the bare forward pass (our physical limit) against the full analysis.

  python bench.py [--repeats R] [--long-repeats R] [--skip-short] [--skip-long] [--threads T]
                  [--skip-corpus] [--corpus-only] [--corpus-counts N ...] [--corpus-repeats R]
                  [--corpus-threads T] [--skip-ray] [--ray-count N] [--skip-ui] [--ui-repeats R]
                  [--skip-mixing] [--mixing-only]

Short section: for N = 16, 128 and 512 tokens on the embedded `minilm`, the median time of
  forward   model(**inputs, output_attentions=True) alone
  full      extract() + analyze_views(): forward with value capture, every score, roles and
            diagnosis in both views (weight and norm) and the [CLS] rollout
and their ratio (target ≤ 1.10 at N = 128 and 512), then what each view costs on its own
(analysis only, on an extracted result): weight, norm, both, and the optional norm-view
rollout on top.  The cells of one N are timed in interleaved rounds, so a busy machine
slows them alike.  --threads T runs torch, the sweep's workers and BLAS on T threads
(default: torch's own count); on a machine shared with other jobs, T = 1 gives the steadiest
ratios.

Long section: `minilm-longformer` with window 512 (global [CLS]) at N = 1024, 2048 and
4096, the full analysis as above (both views, [CLS] rollout through the band).  Each
measurement runs in a fresh process, so its peak resident memory (ru_maxrss) is its own.
Prints forward and analysis time (target ratio ≤ 1.2) and the peak memory of the analysis
against the forward pass alone (target ≤ 1.5×).

UI section (bench/ui_bench.py): a layer switch in headless Chromium, from the click until the page
has settled, on a 13-token sentence (target ≤ 0.5 s) and a ~3,400-token Longformer
document (target ≤ 1.0 s).

Context-mixing section (bench/mixing_bench.py): measures 1–6 against the bare forward pass at
N = 128 (time and memory, targets ≤ 1.5×), value zeroing against one rerun per token (≥ 3×
faster, equal to 1e-5), and `cli.py analyze` of a 4,096-token Longformer document as a whole
process against a forward-only process (time ≤ 1.3×, memory ≤ 1.5×).

Corpus section (bench/corpus_bench.py): corpus-engine throughput against a bare batched forward
pass (target ≥ 0.85×), peak memory at 10,000 against 1,000 sentences (target ≤ 1.1×), and
the Ray engine against the local one with Ray's start-up time apart.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))  # run as `python bench/main.py` (make bench): the project's packages

import torch  # noqa: E402

from models.extract.attention import extract  # noqa: E402
from models.load.loading import load_model  # noqa: E402
from models.score.analysis import analyze_views  # noqa: E402

LENGTHS = (16, 128, 512)
TARGET_RATIO = 1.10
LONG_LENGTHS = (1024, 2048, 4096)
LONG_WINDOW = 512
LONG_TIME_TARGET, LONG_MEMORY_TARGET = 1.2, 1.5
THREADS: int | None = None  # --threads, passed on to the long section's child processes
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "the",
    "lazy",
    "dog",
    "while",
    "a",
    "cat",
    "sleeps",
    "in",
    "the",
    "warm",
    "sun",
]


def text_of(loaded, n_tokens: int) -> str:
    """A sentence that tokenises to exactly n_tokens (special tokens included)."""
    words = (WORDS * (n_tokens // len(WORDS) + 2))[: n_tokens - 2]
    text = " ".join(words)
    assert len(loaded.tokenizer(text, verbose=False)["input_ids"]) == n_tokens
    return text


def median_ms(work, repeats: int) -> float:
    work()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def interleaved_ms(cells: dict, repeats: int) -> dict:
    """Median ms of each cell, timed in rounds that run every cell once (after a warm-up)."""
    for work in cells.values():
        work()
    times = {name: [] for name in cells}
    for _ in range(repeats):
        for name, work in cells.items():
            start = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def short_section(repeats: int) -> None:
    loaded = load_model("minilm")
    print(f"minilm, torch threads {torch.get_num_threads()}, median of {repeats} interleaved rounds")
    print(f"{'':>35}   analysis only (ms) of an extracted result")
    print(
        f"{'N':>5} {'forward ms':>11} {'full ms':>8} {'ratio':>6} {'target':>7}   "
        f"{'weight':>7} {'norm':>6} {'both':>6} {'+norm rollout':>14}"
    )
    for n in LENGTHS:
        cells = short_cells(loaded, text_of(loaded, n), repeats)
        target = f"≤ {TARGET_RATIO}" if n >= 128 else "-"
        extra = cells["norm rollout"] - cells["both"]
        print(
            f"{n:>5} {cells['forward']:>11.1f} {cells['full']:>8.1f} {cells['full'] / cells['forward']:>6.2f}"
            f" {target:>7}   {cells['weight']:>7.1f} {cells['norm']:>6.1f} {cells['both']:>6.1f}"
            f" {extra:>+14.1f}"
        )


def short_cells(loaded, text: str, repeats: int) -> dict[str, float]:
    """Median ms of the bare forward pass, the full analysis and each view alone, interleaved."""
    inputs = loaded.tokenizer(text, return_tensors="pt")
    result = extract(loaded, text)

    def forward():
        with torch.inference_mode():
            loaded.model(**inputs, output_attentions=True)

    return interleaved_ms(
        {
            "forward": forward,
            "full": lambda: analyze_views(extract(loaded, text)),
            "weight": lambda: analyze_views(result, views=("weight",)),
            "norm": lambda: analyze_views(result, views=("norm",), rollout_views=()),
            "both": lambda: analyze_views(result),
            "norm rollout": lambda: analyze_views(result, rollout_views=("weight", "norm")),
        },
        repeats,
    )


def use_threads(count: int) -> None:
    """torch, the sweep's worker pool and (when threadpoolctl is installed) BLAS on `count` threads."""
    from models.score.sweep import set_workers

    torch.set_num_threads(count)
    set_workers(count)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(count)


def long_child(mode: str, n: int, repeats: int) -> dict:
    """One long measurement in this (fresh) process: median seconds and peak RSS in MB."""
    loaded = load_model("minilm-longformer", LONG_WINDOW)
    text = text_of(loaded, n)
    inputs = loaded.tokenizer(text, return_tensors="pt")
    global_mask = torch.zeros_like(inputs["input_ids"])
    global_mask[0, 0] = 1  # [CLS], as extract() does by default

    def forward():
        with torch.inference_mode():
            loaded.model(**inputs, global_attention_mask=global_mask, output_attentions=True)

    def full():
        result = extract(loaded, text)
        assert result.is_banded
        analyze_views(result)

    loaded_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds = median_ms(forward if mode == "forward" else full, repeats) / 1000
    return {
        "seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loaded_mb": loaded_mb,
    }


def long_section(repeats: int) -> None:
    print(f"\nminilm-longformer, window {LONG_WINDOW}, global [CLS], median of {repeats}, fresh process per cell")
    print(
        f"{'N':>5} {'forward s':>10} {'analysis s':>11} {'ratio':>6} {'fwd peak MB':>12} {'ana peak MB':>12}"
        f" {'mem ratio':>9}"
    )
    for n in LONG_LENGTHS:
        cells = {}
        for mode in ("forward", "analysis"):
            threads = ["--threads", str(THREADS)] if THREADS else []
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, str(n), "--long-repeats", str(repeats), *threads],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            cells[mode] = json.loads(out.strip().splitlines()[-1])
        bare, whole = cells["forward"], cells["analysis"]
        print(
            f"{n:>5} {bare['seconds']:>10.2f} {whole['seconds']:>11.2f} {whole['seconds'] / bare['seconds']:>6.2f}"
            f" {bare['peak_mb']:>12.0f} {whole['peak_mb']:>12.0f} {whole['peak_mb'] / bare['peak_mb']:>9.2f}"
        )
    print(
        f"targets: time ratio ≤ {LONG_TIME_TARGET}, memory ratio ≤ {LONG_MEMORY_TARGET}"
        " (the model itself, loaded, is about "
        f"{cells['forward']['loaded_mb']:.0f} MB of each peak)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--long-repeats", type=int, default=3)
    parser.add_argument("--skip-short", action="store_true")
    parser.add_argument("--skip-long", action="store_true")
    parser.add_argument("--threads", type=int, help="threads for torch, the sweep and BLAS")
    parser.add_argument("--skip-corpus", action="store_true")
    parser.add_argument("--corpus-only", action="store_true", help="run only the corpus section")
    parser.add_argument("--corpus-counts", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--skip-ray", action="store_true", help="corpus section without the Ray comparison")
    parser.add_argument("--ray-count", type=int, default=1_000, help="sentences for the Ray comparison")
    parser.add_argument("--corpus-repeats", type=int, default=3)
    parser.add_argument(
        "--skip-ui", action="store_true", help="without the layer switch in Chromium (bench/ui_bench.py)"
    )
    parser.add_argument("--ui-repeats", type=int, default=7)
    parser.add_argument("--skip-mixing", action="store_true", help="without the context-mixing section")
    parser.add_argument("--mixing-only", action="store_true", help="run only the context-mixing section")
    parser.add_argument("--corpus-threads", type=int, default=1, help="torch threads in the corpus section")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--corpus-child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--corpus-device", default="cpu", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        global THREADS
        THREADS = args.threads
        use_threads(args.threads)
    if args.child:
        print(json.dumps(long_child(args.child[0], int(args.child[1]), args.long_repeats)))
        return
    if args.corpus_child:
        from corpus_bench import child

        print(
            json.dumps(
                child(
                    *args.corpus_child,
                    repeats=args.corpus_repeats,
                    threads=args.corpus_threads,
                    device=args.corpus_device,
                )
            )
        )
        return
    if args.mixing_only:
        from mixing_bench import mixing_section

        mixing_section(args.repeats)
        return
    if not args.skip_short and not args.corpus_only:
        short_section(args.repeats)
    if not args.skip_long and not args.corpus_only:
        long_section(args.long_repeats)
    if not args.skip_mixing and not args.corpus_only:
        from mixing_bench import mixing_section

        mixing_section(args.repeats)
    if not args.skip_corpus:
        from corpus_bench import corpus_section

        corpus_section(
            tuple(args.corpus_counts),
            None if args.skip_ray else args.ray_count,
            args.corpus_repeats,
            args.corpus_threads,
        )
    if not args.skip_ui and not args.corpus_only:
        print()
        subprocess.run([sys.executable, str(BENCH / "ui_bench.py"), "--repeats", str(args.ui_repeats)], check=True)


if __name__ == "__main__":
    main()
