"""Context mixing on the embedded MiniLM, and `cli.py mixing` end to end."""

import copy
import json

import numpy as np
import pytest
import torch
from cli_process import run_cli

import cli
from models.extract.forward import run_forward
from models.load.loading import LoadedModel
from models.mixing.diagnosis import diagnose_mixing
from models.mixing.measures import MEASURES
from models.mixing.run import context_mixing, layer_states
from models.mixing.value_zeroing import value_zeroing, zeroed_outputs

DOG = "The dog chased the cat because it was hungry."
SENTENCES = (
    DOG,
    "A quiet river runs through the old town before it reaches the sea.",
    "She opened the window, and the cold morning air filled the room.",
)
MIDDLE = slice(1, 5)  # layers 2–5
MEASURE_KEYS = {"layers", "rollout", "mixing_ratio", "to_cls", "to_sep"}


@pytest.mark.parametrize("sentence", SENTENCES)
def test_cls_share_by_value_zeroing_and_alti_is_under_half_the_weight(minilm, sentence):
    mixing = context_mixing(minilm, sentence, measures=("attention", "alti", "value_zeroing"))
    weight = mixing.to_cls["attention"][MIDDLE]
    assert (weight > 0.4).all()  # the heavy [CLS] attention the question is about
    assert (mixing.to_cls["value_zeroing"][MIDDLE] < 0.5 * weight).all()
    assert (mixing.to_cls["alti"][MIDDLE] < 0.5 * weight).all()


def test_mixing_ratios_and_diagnosis_on_the_issue_sentence(minilm):
    mixing = context_mixing(minilm, DOG)
    ratio = {name: float(mixing.mixing_ratio[name].mean()) for name in MEASURES}
    measured = {
        "attention": 0.89,
        "attention_norm": 0.88,
        "attention_norm_res": 0.44,
        "attention_norm_res_ln": 0.38,
        "alti": 0.21,
    }  # the issue's numbers
    for name, value in measured.items():
        assert ratio[name] == pytest.approx(value, abs=0.01), name
    messages = [str(d.message) for d in diagnose_mixing(mixing)]
    assert any(m.startswith("Layers 2–5 put 59% of their attention weight on [CLS], yet zeroing") for m in messages)
    assert all(d.level == "info" for d in diagnose_mixing(mixing))  # no clogged-flow warning
    assert mixing.unnormalised == ()


def test_float32_value_zeroing_matches_float64(minilm):
    """The stable 1 − cos in float32 agrees with the float64 model; naive 1 − cos does not."""
    double = LoadedModel("minilm-f64", minilm.spec, copy.deepcopy(minilm.model).double(), minilm.tokenizer, None)
    f32 = context_mixing(minilm, DOG, measures=("value_zeroing",)).layers["value_zeroing"]
    f64 = context_mixing(double, DOG, measures=("value_zeroing",)).layers["value_zeroing"]
    assert float(np.abs(f32 - f64).max()) < 1e-5
    encoding = minilm.tokenizer(DOG, return_tensors="pt")
    n = encoding["input_ids"].shape[1]
    forward = run_forward(minilm, dict(encoding), ("value", "value_input"), n)
    states, finishes = layer_states(minilm, forward)
    worst = 0.0
    with torch.inference_mode():
        for index, (state, finish) in enumerate(zip(states, finishes)):
            changed = zeroed_outputs(state, finish, range(n))  # [keys, N, D]
            naive = (1 - torch.nn.functional.cosine_similarity(finish(state.pre_ln1)[None], changed, dim=-1)).T
            row = naive[0].numpy() / naive[0].numpy().sum()  # the [CLS] row, normalised
            worst = max(worst, float(np.abs(row - f64[index, 0]).max()))
            stable = value_zeroing(state, finish, minilm.model.config.intermediate_size).matrix
            assert float(np.abs(stable[0] - f64[index, 0]).max()) < 1e-4
    assert worst > 0.05  # the naive float32 [CLS] row is mostly rounding noise


def _main(capsys, *args):
    code = cli.main(["mixing", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _check_document(document, n_layers=6):
    n = len(document["tokens"])
    assert set(document["measures"]) == set(MEASURES)
    for name, entry in document["measures"].items():
        assert set(entry) == MEASURE_KEYS, name
        assert np.array(entry["layers"]).shape == (n_layers, n, n)
        assert np.array(entry["rollout"]).shape == (n_layers, n, n)
        for key in ("mixing_ratio", "to_cls", "to_sep"):
            assert len(entry[key]) == n_layers
        np.testing.assert_allclose(np.array(entry["layers"]).sum(axis=-1), 1.0, atol=1e-5)
    assert document["diagnosis"] and {"level", "message"} == set(document["diagnosis"][0])


def test_cli_json_has_every_measure():
    completed = run_cli("mixing", DOG, "--format", "json")
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    _check_document(document)
    assert document["tokens"][0] == "[CLS]" and len(document["tokens"]) == 12
    assert "no-op, not clogged flow" in document["diagnosis"][0]["message"]


def test_cli_pair_json_matches_the_engine(minilm, capsys):
    code, out, err = _main(capsys, "The dog barked.", "--pair", "The cat ran away.", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    _check_document(document)
    engine = context_mixing(minilm, "The dog barked.", "The cat ran away.")
    assert document["tokens"].count("[SEP]") == 2
    for name in MEASURES:
        np.testing.assert_allclose(document["measures"][name]["layers"], engine.layers[name], atol=1e-6)
        np.testing.assert_allclose(document["measures"][name]["rollout"], engine.rollout[name], atol=1e-6)
        np.testing.assert_allclose(document["measures"][name]["to_sep"], engine.to_sep[name], atol=1e-6)


def test_cli_table_and_chosen_measures(capsys):
    code, out, _err = _main(capsys, DOG, "--measure", "alti", "--format", "table")
    assert code == 0
    assert "alti" in out and "attention_norm" not in out and "to_cls" in out
    assert "ALTI" in out and "no-op" in out  # the diagnosis falls back to ALTI
    code, out, _err = _main(capsys, DOG, "--measure", "globenc", "--format", "json")
    assert list(json.loads(out)["measures"]) == ["globenc"]


@pytest.mark.parametrize(
    "args,needle",
    [
        (("",), "empty"),
        (("hi", "--measure", "attention_rollout"), "invalid choice"),
        (("hi", "--model", "minilm-longformer", "--faithfulness"), "stay banded"),
        (("hi", "--model", "no-such-model"), "Unknown model"),
    ],
)
def test_cli_bad_input_is_one_line(capsys, args, needle):
    code, out, err = _main(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_norm_based_rollouts_agree_with_leave_one_out_better_than_attention_rollout(minilm):
    from models.load.families import forward_inputs
    from models.mixing import faithfulness as F

    rho = {name: [] for name in MEASURES}
    for sentence in SENTENCES:
        mixing = context_mixing(minilm, sentence)
        inputs = forward_inputs(minilm.model, minilm.tokenizer(sentence, return_tensors="pt"))
        truth = F.pooled_leave_one_out(minilm, inputs, F.content_positions(mixing))
        for name, entry in F.faithfulness(mixing, {"leave_one_out": truth}, "mean").items():
            rho[name].append(entry["leave_one_out"])
    mean = {name: float(np.mean(values)) for name, values in rho.items()}
    for name in ("attention_norm_res", "attention_norm_res_ln", "globenc", "alti"):
        assert mean[name] > mean["attention"] + 0.3, (name, mean)
