"""The CLI: happy paths and every bad input (one stderr line, status 2, no traceback)."""

import json

import numpy as np
import pytest
from cli_process import run_cli


def test_models_lists_registry():
    completed = run_cli("models")
    assert completed.returncode == 0
    assert "minilm-longformer" in completed.stdout and "bert-base-uncased" in completed.stdout


def test_analyze_pair_and_longformer_json():
    completed = run_cli(
        "analyze",
        "The dog barked.",
        "--pair",
        "The cat ran.",
        "--model",
        "minilm-longformer",
        "--window",
        "8",
        "--global",
        "0",
        "3",
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["model"]["family"] == "longformer" and document["model"]["window"] == 8
    assert document["global"] == [0, 3]
    assert len(document["special"]["sep"]) == 2
    assert len(document["roles"]) == 6 and len(document["roles"][0]) == 12


def test_table_format():
    completed = run_cli("analyze", "The dog chased the cat.", "--format", "table")
    assert completed.returncode == 0
    assert "layer" in completed.stdout and "entropy" in completed.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (("analyze", ""), "empty"),
        (("analyze", "   "), "empty"),
        (("analyze", "hi", "--model", "no-such-model"), "Unknown model"),
        (("analyze", "hi", "--model", "/no/such/dir"), "there is no such folder"),
        (("analyze", "hi", "--model", "minilm-longformer", "--window", "7"), "even"),
        (("analyze", "hi", "--model", "minilm-longformer", "--window", "big"), "even"),
        (("analyze", "hi", "--model", "minilm-longformer", "--window", "2"), "from 4 to"),
        (("analyze", "hi", "--model", "minilm-longformer", "--global", "99"), "out of range"),
        (("analyze", "hi", "--model", "minilm-longformer", "--global", "-1"), "out of range"),
        (("analyze", "hi", "--global", "0"), "only apply to Longformer"),
        (("analyze", "hi", "--model", "bert-base-uncased"), "not reachable"),
        (("analyze", "hi", "--format", "xml"), "invalid choice"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_bad_input(args, needle):
    completed = run_cli(*args)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]


SPARSE_SENTENCE = "The quick brown fox jumps over the lazy dog ."
SPARSE_TOL = 2e-5


def _independent_attention():
    """MiniLM's attention straight from transformers: [L, H, N, N] float64."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from models.load.loading import embedded_model_path

    path = str(embedded_model_path())
    model = AutoModel.from_pretrained(path, attn_implementation="eager").eval()
    inputs = AutoTokenizer.from_pretrained(path)(SPARSE_SENTENCE, return_tensors="pt")
    with torch.no_grad():
        attentions = model(**inputs, output_attentions=True).attentions
    return torch.stack([a[0] for a in attentions]).double().numpy()


def test_sparse_local_json_matches_an_independent_band_sum():
    completed = run_cli("sparse", SPARSE_SENTENCE, "--pattern", "local", "--window", "2", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    attention = _independent_attention()
    n = attention.shape[-1]
    band = sum(np.diagonal(attention, offset=o, axis1=2, axis2=3).sum(-1) for o in (-1, 0, 1))  # [L, H]
    assert document["pattern"] == "local"
    assert document["density"] == pytest.approx((3 * n - 2) / n**2, abs=1e-6)
    np.testing.assert_allclose(np.array(document["coverage"]), band / n, atol=SPARSE_TOL)
    assert len(document["min_window"]) == 6 and all(w % 2 == 0 for w in document["min_window"])


@pytest.mark.parametrize("pattern", ["dilated", "global", "longformer", "bigbird", "lsh", "topk"])
def test_sparse_every_pattern_runs(pattern):
    completed = run_cli(
        "sparse", SPARSE_SENTENCE, "--pattern", pattern, "--window", "4", "--topk", "3", "--format", "json"
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    coverage = np.array(document["coverage"])
    assert coverage.shape == (6, 12) and 0 < document["density"] <= 1
    assert ((coverage >= 0) & (coverage <= 1 + 1e-6)).all()


def test_sparse_pattern_allowing_everything_covers_everything():
    completed = run_cli("sparse", SPARSE_SENTENCE, "--pattern", "local", "--window", "64")
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["density"] == 1.0
    np.testing.assert_allclose(np.array(document["coverage"]), 1.0, atol=SPARSE_TOL)


@pytest.mark.parametrize(
    "args,needle",
    [
        (("sparse", "hi", "--pattern", "local", "--window", "3"), "even"),
        (("sparse", "hi", "--pattern", "nope"), "invalid choice"),
        (("sparse", "hi", "--pattern", "global", "--global", "50"), "out of range"),
        (("sparse", "hi", "--pattern", "lsh", "--buckets", "5"), "buckets"),
        (("sparse", "  ", "--pattern", "local"), "empty"),
        (("sparse", "hi", "--pattern", "local", "--share", "1.5"), "share"),
    ],
)
def test_sparse_bad_input(args, needle):
    completed = run_cli(*args)
    assert completed.returncode == 2
    assert needle in completed.stderr and "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1
