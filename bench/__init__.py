"""Benchmarks, run by `make bench` (`python bench/main.py`): the analysis against the bare
forward pass (main.py), the corpus engine (corpus_bench.py) and a layer switch in headless
Chromium (ui_bench.py, through the browser tests' harness in tests/browser/harness.py)."""
