"""`cli.py` as a process in the checkout: run to its end, or running with its stderr read as it
comes (progress bars, the one-line stop message), for the tests that signal a run midway."""

from __future__ import annotations

import subprocess
import sys
import threading

from tiers import ROOT, run_python


def spawn_cli(*args: str) -> tuple[subprocess.Popen, list[bytes], threading.Thread]:
    """Start `cli.py ARGS` in the checkout → (process, stderr so far, its reader thread).
    The list grows byte by byte while the process runs; join the reader before the last read."""
    process = subprocess.Popen(
        [sys.executable, "cli.py", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.extend(iter(lambda: process.stderr.read(1), b"")), daemon=True)
    reader.start()
    return process, errors, reader


def run_cli(*args: str, timeout: float = 600, **options) -> subprocess.CompletedProcess:
    """Run `cli.py ARGS` in the checkout to its end → its exit code and its output as text;
    `options` go to subprocess.run (input=, env=)."""
    return run_python("cli.py", *args, timeout=timeout, **options)
