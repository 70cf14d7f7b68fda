"""Facts every test tier shares: where the project is, and whether this is CI (where a
missing browser, font or engine fails the run instead of skipping)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"


def run_python(*args: str, timeout: float = 600, **options):
    """`python ARGS` run in the checkout to its end → the finished process, its output as text;
    `options` go to subprocess.run (input=, env=)."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, **options)


def run_without_chromium(script: str, tmp_path: Path, timeout: float = 300):
    """Run `python -c SCRIPT` in the checkout with no Chromium to find: BROWSER_PATH points at
    nothing and PATH holds only an empty folder."""
    env = dict(os.environ, BROWSER_PATH=str(tmp_path / "no-chrome"), PATH=str(tmp_path))
    return run_python("-c", script, timeout=timeout, env=env)
