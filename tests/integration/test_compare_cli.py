"""`cli.py compare` on minilm against a perturbed local copy (layer 4's attention
re-initialised, deterministically): its numbers against a computation made here straight from
transformers, and its bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from cli_process import run_cli
from minilm_copies import save_perturbed_minilm
from transformers import AutoModel, AutoTokenizer

from models.load.loading import embedded_model_path

TEXT = "The dog chased the cat because it was hungry."
PAIR = "Then it slept."
TOL = 1e-5
PERTURBED_LAYER = 3  # 0-based: layer 4


@pytest.fixture(scope="module")
def perturbed(tmp_path_factory):
    return save_perturbed_minilm(tmp_path_factory.mktemp("minilm-perturbed"), PERTURBED_LAYER, seed=4)


def _raw_attention(source: str) -> tuple[np.ndarray, list[str]]:
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModel.from_pretrained(source, attn_implementation="eager", use_safetensors=True).eval()
    encoding = tokenizer(TEXT, PAIR, return_tensors="pt")
    with torch.no_grad():
        attentions = model(**encoding, output_attentions=True).attentions
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"][0])
    return torch.stack(attentions)[:, 0].double().numpy(), tokens


@pytest.fixture(scope="module")
def document(perturbed):
    done = run_cli("compare", TEXT, "--pair", PAIR, "--model-a", "minilm", "--model-b", str(perturbed), "--top", "5")
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_numbers_equal_an_independent_computation(document, perturbed):
    a, tokens = _raw_attention(str(embedded_model_path()))
    b, _ = _raw_attention(str(perturbed))
    assert document["aligned"] is True and document["a"]["tokens"] == tokens
    cosine = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))  # [L, H, N]
    similarity = cosine.mean(-1)
    np.testing.assert_allclose(document["similarity"], similarity, atol=TOL)
    seps = [i for i, token in enumerate(tokens) if token == "[SEP]"]
    cls_diff = b[..., 0].mean(-1) - a[..., 0].mean(-1)
    sep_diff = b[..., seps].sum(-1).mean(-1) - a[..., seps].sum(-1).mean(-1)
    n = len(tokens)
    diagonal_diff = (np.trace(b, axis1=-2, axis2=-1) - np.trace(a, axis1=-2, axis2=-1)) / n
    np.testing.assert_allclose(document["diff"]["cls"], cls_diff, atol=TOL)
    np.testing.assert_allclose(document["diff"]["sep"], sep_diff, atol=TOL)
    np.testing.assert_allclose(document["diff"]["diagonal"], diagonal_diff, atol=TOL)
    # the ranking: least similar heads first, all in the perturbed layer or after it
    order = np.argsort(similarity, axis=None, kind="stable")[:5]
    expected = [[int(k) // 12 + 1, int(k) % 12 + 1] for k in order]
    assert [[c["layer"], c["head"]] for c in document["changed"]] == expected
    assert all(c["layer"] >= PERTURBED_LAYER + 1 for c in document["changed"])
    first = document["changed"][0]
    layer, head = first["layer"] - 1, first["head"] - 1
    assert first["before"]["cls"] == pytest.approx(a[layer, head, :, 0].mean(), abs=TOL)
    assert first["after"]["cls"] == pytest.approx(b[layer, head, :, 0].mean(), abs=TOL)


def test_layers_before_the_perturbation_are_unchanged(document):
    similarity = np.array(document["similarity"])
    assert np.allclose(similarity[:PERTURBED_LAYER], 1.0, atol=1e-6)
    assert (similarity[PERTURBED_LAYER] < 0.99).any()
    assert any("Layers 1–3 are unchanged" in message for message in document["summary"])
    assert set(document) >= {"a", "b", "aligned", "diff", "similarity", "changed", "summary", "layers", "notices"}


def test_table_format(perturbed):
    done = run_cli("compare", TEXT, "--model-a", "minilm", "--model-b", str(perturbed), "--format", "table")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "similarity" in done.stdout and "summary:" in done.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (("compare", "", "--model-a", "minilm", "--model-b", "minilm"), "empty"),
        (("compare", "hi", "--model-a", "minilm"), "--model-b"),
        (("compare", "hi", "--model-a", "minilm", "--model-b", "/no/such/dir"), "there is no such folder"),
        (("compare", "hi", "--model-a", "minilm", "--model-b", "deberta-v3-base"), "not reachable"),
        (("compare", "hi", "--model-a", "minilm", "--model-b", "minilm", "--top", "0"), "--top"),
        (("compare", "hi", "--model-a", "minilm", "--model-b", "minilm", "--format", "xml"), "invalid choice"),
    ],
)
def test_bad_input(args, needle):
    done = run_cli(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], done.stderr[-2000:]
