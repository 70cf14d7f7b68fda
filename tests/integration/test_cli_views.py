"""cli.py analyze --view / --word-level and cli.py rollout, against computations written here
from transformers' own attentions and hidden states and the model's weights."""

import json
import math

import numpy as np
import pytest
from cli_process import run_cli

CLI_TOL = 1e-4
SENTENCE = "The dog chased the cat, because it was hungry."
PAIR = ("The dog barked.", "The cat ran up the old tree.")


@pytest.fixture(scope="module")
def reference():
    """A function text, text_b → (tokens, attention [L, H, N, N], value norms [L, H, N]), from
    transformers directly: ‖(x W_V^h + b_V^h) W_O^h‖ with x = hidden_states[l], head by head."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from models.load.loading import embedded_model_path

    path = str(embedded_model_path())
    model = AutoModel.from_pretrained(path, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(path)

    def compute(text, text_b=None):
        inputs = tokenizer(text, text_b, return_tensors="pt")
        with torch.no_grad():
            out = model(**inputs, output_attentions=True, output_hidden_states=True)
            heads = model.config.num_attention_heads
            norms = []
            for index, layer in enumerate(model.encoder.layer):
                x = out.hidden_states[index][0].double()
                value, dense = layer.attention.self.value, layer.attention.output.dense
                d = value.weight.shape[0] // heads
                per_head = []
                for h in range(heads):
                    rows = slice(h * d, (h + 1) * d)
                    v = x @ value.weight[rows].double().T + value.bias[rows].double()  # [N, d]
                    moved = v @ dense.weight[:, rows].double().T  # [N, D]
                    per_head.append(torch.linalg.vector_norm(moved, dim=-1))
                norms.append(torch.stack(per_head))
        attention = torch.stack([a[0] for a in out.attentions]).double().numpy()
        tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
        return tokens, attention, torch.stack(norms).numpy()

    return compute


def _norm_scores(attention, norms, cls, seps):
    weighted = attention * norms[:, :, None, :]
    matrix = weighted / weighted.sum(-1, keepdims=True)
    n = matrix.shape[-1]
    return {
        "cls": matrix[..., cls].mean(-1),
        "sep": matrix[..., list(seps)].sum(-1).mean(-1),
        "diagonal": np.diagonal(matrix, axis1=2, axis2=3).mean(-1),
        "prev": np.diagonal(matrix, offset=-1, axis1=2, axis2=3).sum(-1) / n,
        "entropy": -(matrix * np.log(matrix)).sum(-1).mean(-1) / math.log(n),
    }


@pytest.mark.parametrize("texts", [(SENTENCE,), PAIR], ids=["single", "pair"])
def test_analyze_norm_view_json_matches_an_independent_computation(reference, texts):
    args = ["analyze", texts[0], "--view", "norm", "--format", "json"]
    if len(texts) == 2:
        args += ["--pair", texts[1]]
    completed = run_cli(*args)
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    tokens, attention, norms = reference(*texts)
    assert document["view"] == "norm" and document["tokens"] == tokens
    assert document["typed_markers"] == []
    np.testing.assert_allclose(np.array(document["value_norms"]), norms, atol=CLI_TOL)
    seps = [i for i, t in enumerate(tokens) if t == "[SEP]"]
    assert len(seps) == len(texts)
    for name, expected in _norm_scores(attention, norms, 0, seps).items():
        np.testing.assert_allclose(np.array(document["scores"][name]), expected, atol=CLI_TOL, err_msg=name)
    weight = json.loads(run_cli(*args[:2], "--format", "json", *args[6:]).stdout)
    assert weight["view"] == "weight"
    np.testing.assert_allclose(np.array(weight["scores"]["cls"]), attention[..., 0].mean(-1), atol=CLI_TOL)


def test_analyze_word_level_rollout_and_typed_markers(reference):
    completed = run_cli("analyze", "[CLS] Unbelievably, it works. [SEP]", "--word-level")
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["typed_markers"] == ["[CLS]", "[SEP]"]
    assert document["words"]["labels"][:2] == ["[CLS]", "unbelievably"]
    assert len(document["words"]["groups"][1]) > 1  # a split word
    layers = np.array(document["rollout"]["layers"])
    assert layers.shape == (6, len(document["words"]["labels"]))
    np.testing.assert_allclose(layers.sum(-1), 1.0, atol=1e-5)


def _rollout_by_hand(attention, query):
    """Row `query` of R_l for every layer, R_l = Â_l R_{l−1}, Â = rows-normalised 0.5·mean_h A + 0.5·I."""
    n = attention.shape[-1]
    rollout, rows = np.eye(n), []
    for layer in attention:
        mixed = 0.5 * layer.mean(0) + 0.5 * np.eye(n)
        mixed /= mixed.sum(-1, keepdims=True)
        rollout = mixed @ rollout
        rows.append(rollout[query])
    return np.array(rows)


def test_rollout_command_json(reference):
    completed = run_cli("rollout", SENTENCE, "--query", "0", "3", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    tokens, attention, _norms = reference(SENTENCE)
    assert document["tokens"] == tokens and document["queries"] == [0, 3] and document["view"] == "weight"
    for slot, query in enumerate((0, 3)):
        np.testing.assert_allclose(
            np.array(document["rollout"][slot]), _rollout_by_hand(attention, query), atol=CLI_TOL
        )


def test_rollout_norm_view_and_default_query(reference):
    completed = run_cli("rollout", SENTENCE, "--view", "norm")
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    _tokens, attention, norms = reference(SENTENCE)
    weighted = attention * norms[:, :, None, :]
    expected = _rollout_by_hand(weighted / weighted.sum(-1, keepdims=True), 0)
    assert document["queries"] == [0]
    np.testing.assert_allclose(np.array(document["rollout"][0]), expected, atol=CLI_TOL)


def test_rollout_table_and_banded_longformer():
    completed = run_cli(
        "rollout",
        " ".join(["word"] * 600),
        "--model",
        "minilm-longformer",
        "--window",
        "16",
        "--query",
        "0",
        "300",
        "--format",
        "table",
    )
    assert completed.returncode == 0, completed.stderr
    assert "query 300 'word'" in completed.stdout and "query 0 '[CLS]'" in completed.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (("rollout", ""), "empty"),
        (("rollout", "hi", "--query", "9"), "out of range"),
        (("rollout", "hi", "--query", "-1"), "out of range"),
        (("rollout", "hi", "--word-level", "--query", "7"), "out of range"),
        (("rollout", "hi", "--view", "value"), "invalid choice"),
        (("rollout", "hi", "--query", "x"), "invalid int"),
        (("analyze", "hi", "--view", "norms"), "invalid choice"),
        (("rollout", " ".join(["word"] * 600), "--model", "minilm-longformer", "--word-level"), "up to 512"),
    ],
)
def test_bad_input(args, needle):
    completed = run_cli(*args)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], completed.stderr
