"""`cli.py corpus` as a user drives it: bad input refused before any model loads, `| head`,
Ctrl+C and SIGTERM (one line on stderr, status 130 / 143, no traceback)."""

import json
import signal
import subprocess
import sys
import time

import pytest
from cli_process import run_cli, spawn_cli
from tiers import ROOT

from models.examples import sample_corpus

SAMPLE = str(sample_corpus())
BEFORE_ANY_MODEL_S = 5.0  # cli.py's own imports take about 2 s; a model load takes several more
SLOW_RUN = ("--limit", "100000", "--batch-size", "2", "--sort-batches", "1", "--progress", "on")  # many small chunks
COMPARE_SLOWLY = ("--model-a", "minilm", "--model-b", "minilm", "--batch-size", "2", "--progress", "on")
LINE = b"A plain sentence of text, one per line.\n"


def _one_error_line(completed) -> str:
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    return lines[0]


def test_a_nul_byte_at_byte_10000_is_refused_before_any_model_loads(tmp_path):
    data = (LINE * 400)[:10_000] + b"\x00" + LINE * 400
    corpus = tmp_path / "nul.txt"
    corpus.write_bytes(data)
    started = time.perf_counter()
    completed = run_cli("corpus", str(corpus))
    elapsed = time.perf_counter() - started
    line = _one_error_line(completed)
    line_no = data[:10_000].count(b"\n") + 1
    assert f"NUL byte on line {line_no}, byte offset 10000" in line
    assert elapsed < BEFORE_ANY_MODEL_S, f"{elapsed:.1f} s"
    assert completed.stdout == ""


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_a_malformed_jsonl_line_near_the_end_is_refused_first_on_both_engines(tmp_path, engine):
    lines = [json.dumps({"text": f"sentence number {i}"}).encode() + b"\n" for i in range(5000)]
    lines[4999] = b'{"text": "a raw\ttab"}\n'
    corpus = tmp_path / "c.jsonl"
    corpus.write_bytes(b"".join(lines))
    started = time.perf_counter()
    completed = run_cli("corpus", str(corpus), "--engine", engine)
    elapsed = time.perf_counter() - started
    line = _one_error_line(completed)
    assert line.endswith(
        "Line 5000 of 'c.jsonl' is not valid JSON at byte offset "
        f"{len(b''.join(lines[:4999])) + 15}: Invalid control character at: column 16. "
        "A JSONL corpus has one JSON object per line."
    ), line
    assert elapsed < BEFORE_ANY_MODEL_S, f"{elapsed:.1f} s"


def test_a_closed_stdout_ends_quietly():
    """As in `| head -1` when head has gone before the table is written."""
    process = subprocess.Popen(
        [sys.executable, "cli.py", "corpus", SAMPLE, "--format", "table", "--limit", "8"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()  # the reader is gone: every write to the pipe fails with EPIPE
    stderr = process.stderr.read()
    assert process.wait(timeout=600) in (0, 141), stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_piped_into_head_has_no_traceback():
    completed = subprocess.run(
        f"{sys.executable} cli.py corpus {SAMPLE} --format table --limit 8 | head -1",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.stdout.startswith("model minilm")
    assert completed.stdout.count("\n") == 1
    assert "Traceback" not in completed.stderr, completed.stderr


def _stop(signum: int, wait_s: float = 3.0):
    """Run over the sample corpus, send `signum` once the run is under way (its progress bar
    is up, and at least `wait_s` after the start) → (status, stdout, stderr)."""
    process, errors, reader = spawn_cli("corpus", SAMPLE, *SLOW_RUN)
    started = time.perf_counter()
    while b"records" not in b"".join(errors) and time.perf_counter() - started < 120:  # the bar: handlers are set
        assert process.poll() is None, b"".join(errors).decode()
        time.sleep(0.05)
    time.sleep(max(0.0, wait_s - (time.perf_counter() - started)))
    assert process.poll() is None, "the run ended before the signal"
    process.send_signal(signum)
    stdout = process.stdout.read()
    status = process.wait(timeout=120)
    reader.join(timeout=10)
    return status, stdout.decode(), b"".join(errors).decode()


@pytest.mark.parametrize("signum,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_with_one_line_and_its_status(signum, status):
    code, stdout, stderr = _stop(signum)
    assert code == status, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    stops = [line for line in stderr.splitlines() if "interrupted" in line]  # splitlines also splits the bar's \r
    assert len(stops) == 1, stderr
    assert stops[0].startswith(f"corpus: interrupted by {signal.Signals(signum).name} after ")
    assert " of 322 records (" in stops[0]
    assert stops[0].endswith("; add --checkpoint PATH to a run to be able to resume it")  # how to resume
    if stdout:  # some sentences were scored: the partial result, marked incomplete
        assert "the partial result (complete: false) is on stdout;" in stops[0]
        document = json.loads(stdout)
        assert document["complete"] is False and 0 < document["sentences"] < 322
    else:
        assert "no result written;" in stops[0]


def test_compare_corpus_stopped_by_ctrl_c_says_so_in_one_line():
    process, errors, reader = spawn_cli("compare", "--corpus", SAMPLE, *COMPARE_SLOWLY)
    started = time.perf_counter()
    while b"records" not in b"".join(errors) and time.perf_counter() - started < 120:
        assert process.poll() is None, b"".join(errors).decode()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout = process.stdout.read()
    status = process.wait(timeout=120)
    reader.join(timeout=10)
    stderr = b"".join(errors).decode()
    assert status == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert (
        stderr.strip()
        .splitlines()[-1]
        .endswith("compare --corpus: interrupted by SIGINT; no result written (a comparison needs both whole runs)")
    )
    assert stdout == b""
