"""The browser tier's harness: the app server on a free local port and headless Debian
Chromium's flags.  The browser tests (tests/browser/conftest.py) and the UI bench
(bench/ui_bench.py) both start the app through it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_log(port: int) -> Path:
    """Where the app server started on `port` writes its output (tracebacks included)."""
    return Path(tempfile.gettempdir()) / f"attention-app-server-{port}.log"


def start_server() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    log = open(server_log(port), "wb")  # noqa: SIM115 (the server process keeps writing to it)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise RuntimeError("streamlit did not start within 90 s")
