"""The corpus comparison on the embedded MiniLM against a perturbed local copy (layer 4's
attention re-initialised, deterministically), over the first 20 lines of the sample corpus:
the engine against run_corpus and a per-sentence computation straight from transformers, and
`cli.py compare --corpus` (its JSON, stdin, its bad inputs)."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
import torch
from cli_process import run_cli
from minilm_copies import save_perturbed_minilm
from transformers import AutoModel, AutoTokenizer

from models.corpus.compare import compare_corpus
from models.corpus.engine import CorpusOptions, run_corpus
from models.corpus.source import open_path
from models.examples import sample_corpus
from models.load.loading import embedded_model_path, load_model
from models.score.scores import SCORE_NAMES

CORPUS = sample_corpus()
LINES = 20
MEANS_TOL = 1e-6
SIMILARITY_TOL = 1e-5
PERTURBED_LAYER = 3  # 0-based: layer 4
OPTIONS = CorpusOptions(limit=LINES, batch_size=8, sort_batches=2)  # two chunks


@pytest.fixture(scope="module")
def perturbed(tmp_path_factory):
    return save_perturbed_minilm(tmp_path_factory.mktemp("minilm-perturbed"), PERTURBED_LAYER, seed=4)


@pytest.fixture(scope="module")
def comparison(minilm, perturbed):
    return compare_corpus(minilm, load_model(str(perturbed)), open_path(CORPUS), OPTIONS)


def _texts() -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:LINES]
    return [line for line in lines if line.strip()]


@functools.cache
def _raw_model(source: str):
    tokenizer = AutoTokenizer.from_pretrained(source)
    return tokenizer, AutoModel.from_pretrained(source, attn_implementation="eager", use_safetensors=True).eval()


def _raw_attention(source: str, text: str) -> np.ndarray:
    """float64 [L, H, n, n] from transformers alone, one sentence at a time."""
    tokenizer, model = _raw_model(source)
    with torch.no_grad():
        attentions = model(**tokenizer(text, return_tensors="pt"), output_attentions=True).attentions
    return torch.stack(attentions)[:, 0].double().numpy()


def test_each_side_equals_run_corpus(minilm, perturbed, comparison):
    alone_a = run_corpus(minilm, open_path(CORPUS), OPTIONS)
    alone_b = run_corpus(load_model(str(perturbed)), open_path(CORPUS), OPTIONS)
    assert comparison.sentences == comparison.aligned == alone_a.sentences == len(_texts())
    for view in ("weight", "norm"):
        for name in SCORE_NAMES:
            mean_a, mean_b = alone_a.views[view].scores[name].mean, alone_b.views[view].scores[name].mean
            np.testing.assert_allclose(comparison.a.views[view].scores[name].mean, mean_a, atol=MEANS_TOL)
            np.testing.assert_allclose(comparison.b.views[view].scores[name].mean, mean_b, atol=MEANS_TOL)
            np.testing.assert_allclose(comparison.diff[view][name], mean_b - mean_a, atol=MEANS_TOL)


def test_similarity_equals_transformers_sentence_by_sentence(perturbed, comparison):
    per_sentence = []
    for text in _texts():
        a, b = _raw_attention(str(embedded_model_path()), text), _raw_attention(str(perturbed), text)
        cosine = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))  # [L, H, n]
        per_sentence.append(cosine.mean(-1))
    np.testing.assert_allclose(comparison.similarity.mean, np.mean(per_sentence, axis=0), atol=SIMILARITY_TOL)
    assert np.allclose(comparison.similarity.mean[:PERTURBED_LAYER], 1.0, atol=1e-6)
    assert (comparison.similarity.mean[PERTURBED_LAYER] < 0.99).any()
    assert all(change.layer >= PERTURBED_LAYER for change in comparison.changed)
    assert any("Layers 1–3 are unchanged" in message for message in comparison.summary)


def test_cli_json_document(perturbed, comparison):
    done = run_cli(
        "compare", "--corpus", str(CORPUS), "--limit", str(LINES), "--model-a", "minilm", "--model-b", str(perturbed)
    )
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(done.stdout)
    keys = {"a", "b", "aligned_sentences", "sentences", "diff", "similarity", "changed", "summary", "notices"}
    assert keys <= set(document)
    assert document["aligned_sentences"] == document["sentences"] == len(_texts())
    assert document["a"]["model"]["key"] == "minilm" and document["b"]["sentences"] == len(_texts())
    assert set(document["a"]) >= {"scores", "partition", "roles", "layers", "norm", "diagnosis"}  # corpus JSON
    np.testing.assert_allclose(document["similarity"], comparison.similarity.mean, atol=1e-6)
    np.testing.assert_allclose(document["diff"]["norm"]["cls"], comparison.diff["norm"]["cls"], atol=1e-6)
    assert [[c["layer"], c["head"]] for c in document["changed"]] == [
        [change.layer + 1, change.head + 1] for change in comparison.changed
    ]


def test_cli_reads_stdin_and_prints_a_table():
    lines = "\n".join(_texts()[:5])
    done = run_cli(
        "compare", "--corpus", "-", "--model-a", "minilm", "--model-b", "minilm", "--format", "table", input=lines
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "5 sentences both models scored" in done.stdout and "attends exactly like" in done.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (("--corpus", "/no/such/corpus.txt", "--model-a", "minilm", "--model-b", "minilm"), "does not exist"),
        (("--corpus", str(CORPUS), "--model-a", "minilm", "--model-b", "/no/such/dir"), "there is no such folder"),
        (("hi", "--corpus", str(CORPUS), "--model-a", "minilm", "--model-b", "minilm"), "not both"),
        (("--model-a", "minilm", "--model-b", "minilm"), "--corpus FILE"),
        (("--corpus", str(CORPUS), "--column", "text", "--model-a", "minilm", "--model-b", "minilm"), "column"),
        (("--corpus", str(CORPUS), "--limit", "0", "--model-a", "minilm", "--model-b", "minilm"), "limit"),
    ],
)
def test_cli_bad_input(args, needle):
    done = run_cli("compare", *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], done.stderr[-2000:]


def test_cli_malformed_corpus(tmp_path):
    binary = tmp_path / "corpus.txt"
    binary.write_bytes(b"\x00\x01\x02 not text \xff\xfe")
    done = run_cli("compare", "--corpus", str(binary), "--model-a", "minilm", "--model-b", "minilm")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr[-2000:]
