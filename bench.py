"""Benchmark: the bare forward pass (our physical limit) against the full analysis.

  python bench.py [--repeats R]

For N = 16, 128 and 512 tokens on the embedded `minilm`, prints the median time of
  forward   model(**inputs, output_attentions=True) alone
  analysis  extract() + analyze(): forward, every score, roles and diagnosis
and their ratio.  Target: ratio ≤ 1.10 at N = 128 and 512.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from models.analysis import analyze
from models.extract import extract
from models.loading import load_model

LENGTHS = (16, 128, 512)
TARGET_RATIO = 1.10
WORDS = "the quick brown fox jumps over the lazy dog while a cat sleeps in the warm sun".split()


def text_of(loaded, n_tokens: int) -> str:
    """A sentence that tokenises to exactly n_tokens (special tokens included)."""
    words = (WORDS * (n_tokens // len(WORDS) + 2))[: n_tokens - 2]
    text = " ".join(words)
    assert len(loaded.tokenizer(text)["input_ids"]) == n_tokens
    return text


def median_ms(work, repeats: int) -> float:
    work()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    loaded = load_model("minilm")
    print(f"minilm, torch threads {torch.get_num_threads()}, median of {args.repeats}")
    print(f"{'N':>5} {'forward ms':>11} {'analysis ms':>12} {'ratio':>6}  target")
    for n in LENGTHS:
        text = text_of(loaded, n)
        inputs = loaded.tokenizer(text, return_tensors="pt")

        def forward():
            with torch.inference_mode():
                loaded.model(**inputs, output_attentions=True)

        def full():
            analyze(extract(loaded, text))

        bare, whole = median_ms(forward, args.repeats), median_ms(full, args.repeats)
        target = f"≤ {TARGET_RATIO}" if n >= 128 else "-"
        print(f"{n:>5} {bare:>11.1f} {whole:>12.1f} {whole / bare:>6.2f}  {target}")


if __name__ == "__main__":
    main()
