"""Resumable corpus runs on the local engine: a run stopped midway (an exception in the
progress callback in-process; SIGTERM and SIGINT through the CLI) and resumed from its
checkpoint gives exactly the JSON of a run that was never stopped."""

import json
import signal
import subprocess
import sys
import time

import pytest
from cli_process import spawn_cli
from tiers import ROOT

from models.corpus.checkpoint import fingerprint, load, prepare
from models.corpus.engine import CorpusInterrupted, CorpusOptions, run_corpus
from models.corpus.result import to_json_dict
from models.corpus.source import open_path
from models.examples import sample_corpus

SAMPLE = sample_corpus()
OPTIONS = CorpusOptions(batch_size=4, sort_batches=2, top_k=3, limit=120)  # 15 chunks of 8 records
SMALL_CHUNKS = ("--batch-size", "2", "--sort-batches", "1", "--top", "3")  # 161 chunks: time to stop it


def _plan(path, resume, options=OPTIONS, every=2):
    return prepare(path, resume, fingerprint(open_path(SAMPLE), "minilm", None, options, "local"), every=every)


def test_an_interrupted_run_resumes_to_the_uninterrupted_result(minilm, tmp_path):
    whole = to_json_dict(run_corpus(minilm, open_path(SAMPLE), OPTIONS))
    path = tmp_path / "run.npz"
    seen = []

    def stop_after_seven_chunks(progress):
        seen.append(progress.records)
        if progress.records >= 56:
            raise KeyboardInterrupt

    with pytest.raises(CorpusInterrupted) as stopped:
        run_corpus(minilm, open_path(SAMPLE), OPTIONS, progress=stop_after_seven_chunks, checkpoint=_plan(path, False))
    assert stopped.value.records == 56 and not stopped.value.partial.complete
    saved = load(path)  # the interruption wrote the 7 chunks done, not only the last periodic 6
    assert (saved.position, saved.stats.records, saved.complete) == (7, 56, False)

    resumed_progress = []
    resumed = run_corpus(
        minilm, open_path(SAMPLE), OPTIONS, progress=resumed_progress.append, checkpoint=_plan(path, True)
    )
    assert [p.records for p in resumed_progress] == list(range(64, 121, 8))  # only the 8 chunks left were scored
    assert json.dumps(to_json_dict(resumed)) == json.dumps(whole)  # the very same JSON
    assert load(path).complete

    again = run_corpus(minilm, open_path(SAMPLE), OPTIONS, progress=seen.append, checkpoint=_plan(path, True))
    assert json.dumps(to_json_dict(again)) == json.dumps(whole)  # a finished checkpoint gives its result


def _cli(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "cli.py", "corpus", str(SAMPLE), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        **kwargs,
    )


def _stop_when_saved(args, checkpoint, signum, past_records: int):
    """Run the CLI and send `signum` once the checkpoint holds more than `past_records`
    records → (status, stdout, stderr)."""
    process, errors, reader = spawn_cli("corpus", str(SAMPLE), *args)
    started = time.perf_counter()
    while time.perf_counter() - started < 300:
        assert process.poll() is None, b"".join(errors).decode()
        if checkpoint.exists() and load(checkpoint).stats.records > past_records:
            break
        time.sleep(0.05)
    process.send_signal(signum)
    stdout = process.stdout.read()
    status = process.wait(timeout=120)
    reader.join(timeout=10)
    return status, stdout.decode(), b"".join(errors).decode()


def test_the_cli_stopped_twice_and_resumed_gives_the_uninterrupted_json(tmp_path):
    whole = _cli(*SMALL_CHUNKS, "--format", "json")
    assert whole.returncode == 0, whole.stderr
    checkpoint = tmp_path / "run.npz"
    args = (*SMALL_CHUNKS, "--format", "json", "--checkpoint", str(checkpoint))

    status, stdout, stderr = _stop_when_saved(args, checkpoint, signal.SIGTERM, 0)
    assert status == 143, stderr
    assert "Traceback" not in stderr
    stop_line = stderr.strip().splitlines()[-1]
    first = load(checkpoint).stats.records
    assert stop_line.startswith("corpus: interrupted by SIGTERM after ")
    assert stop_line.endswith(
        f"to go on, run the same command with --resume (the checkpoint {checkpoint} holds {first:,} records)"
    )
    assert json.loads(stdout)["complete"] is False

    refused = _cli(*args)  # the same command without --resume would overwrite the run: refused
    assert refused.returncode == 2 and "already exists. Add --resume" in refused.stderr

    status, _stdout, stderr = _stop_when_saved((*args, "--resume"), checkpoint, signal.SIGINT, first)
    assert status == 130, stderr
    second = load(checkpoint).stats.records
    assert first < second < 322

    resumed = _cli(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == whole.stdout  # byte for byte

    other = _cli(*args, "--resume", "--top", "4")
    assert other.returncode == 2 and "with a different option (top_k=3 there, top_k=4 now)" in other.stderr
    lonely = _cli("--resume")
    assert lonely.returncode == 2 and "--resume needs --checkpoint PATH" in lonely.stderr
