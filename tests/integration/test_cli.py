"""The CLI: happy paths and every bad input (one stderr line, status 2, no traceback)."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT


def _cli(*args):
    return subprocess.run([sys.executable, "cli.py", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_models_lists_registry():
    completed = _cli("models")
    assert completed.returncode == 0
    assert "minilm-longformer" in completed.stdout and "bert-base-uncased" in completed.stdout


def test_analyze_pair_and_longformer_json():
    completed = _cli("analyze", "The dog barked.", "--pair", "The cat ran.", "--model", "minilm-longformer",
                     "--window", "8", "--global", "0", "3")
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["model"]["family"] == "longformer" and document["model"]["window"] == 8
    assert document["global"] == [0, 3]
    assert len(document["special"]["sep"]) == 2
    assert len(document["roles"]) == 6 and len(document["roles"][0]) == 12


def test_table_format():
    completed = _cli("analyze", "The dog chased the cat.", "--format", "table")
    assert completed.returncode == 0
    assert "layer" in completed.stdout and "entropy" in completed.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (("analyze", ""), "empty"),
        (("analyze", "   "), "empty"),
        (("analyze", "hi", "--model", "no-such-model"), "Unknown model"),
        (("analyze", "hi", "--model", "/no/such/dir"), "Unknown model"),
        (("analyze", "hi", "--model", "minilm-longformer", "--window", "7"), "even"),
        (("analyze", "hi", "--model", "minilm-longformer", "--window", "big"), "even"),
        (("analyze", "hi", "--model", "minilm-longformer", "--window", "2"), "between 4 and"),
        (("analyze", "hi", "--model", "minilm-longformer", "--global", "99"), "out of range"),
        (("analyze", "hi", "--model", "minilm-longformer", "--global", "-1"), "out of range"),
        (("analyze", "hi", "--global", "0"), "only apply to Longformer"),
        (("analyze", "hi", "--model", "bert-base-uncased"), "not reachable"),
        (("analyze", "hi", "--format", "xml"), "invalid choice"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_bad_input(args, needle):
    completed = _cli(*args)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]
