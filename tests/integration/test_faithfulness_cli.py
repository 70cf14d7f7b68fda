"""`cli.py mixing --faithfulness` end to end: on the bare MiniLM (leave-one-out on the pooled
embedding), on tiny classifier folders (gradient×input and leave-one-out of the predicted class),
over five sentences of the sample corpus, and its one-line refusals.  Every ρ checked here is
recomputed in the test from the model itself and scipy's Spearman."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

import cli
from models.corpus.stats import t_quantile
from models.load.loading import embedded_model_path
from models.mixing.faithfulness import sentence_faithfulness

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "model"))
from tiny_encoders import save_bert_classifier
from tiny_families import HIDDEN, SENTENCES

from models.examples import sample_corpus

SOUP = "The soup was warm, but the bread was stale and hard."
TRUTHS = {"gradient_x_input", "leave_one_out"}
RHO_TOL = 1e-6  # the JSON rounds the rollout to 6 decimals; ranks do not move at that size
FIRST_SIX = ("attention", "attention_norm", "attention_norm_res", "attention_norm_res_ln", "globenc", "alti")


def _main(capsys, *args):
    code = cli.main(["mixing", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _faithfulness_of(capsys, text, folder, measure) -> dict:
    """The JSON of `cli.py mixing TEXT --model FOLDER --faithfulness --measure MEASURE`."""
    code, out, err = _main(
        capsys, text, "--model", str(folder), "--faithfulness", "--measure", measure, "--format", "json"
    )
    assert code == 0, err
    return json.loads(out)


def _content(tokens, specials=("[CLS]", "[SEP]")) -> list[int]:
    return [k for k, token in enumerate(tokens) if token not in specials]


def _rho_of_rollout(document, measure, truth, reader):
    last = np.array(document["measures"][measure]["rollout"][-1])  # [N, N]
    row = last[0] if reader == "cls" else last.mean(axis=0)
    return spearmanr(row[_content(document["tokens"])], truth).statistic


def test_bare_minilm_ranks_against_pooled_leave_one_out(capsys):
    code, out, err = _main(capsys, SOUP, "--faithfulness", "--measure", "alti", "globenc", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert set(document["faithfulness"]) == {"alti", "globenc"}
    assert document["faithfulness_basis"] == {
        "head": None,
        "reader": "mean",
        "content_tokens": len(_content(document["tokens"])),
    }
    for entry in document["faithfulness"].values():
        assert set(entry) == TRUTHS and entry["gradient_x_input"] is None
        assert -1 <= entry["leave_one_out"] <= 1

    from transformers import AutoModel, AutoTokenizer

    folder = str(embedded_model_path())
    tokenizer, model = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).double().eval()
    ids = tokenizer(SOUP, return_tensors="pt")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids[0].tolist()) == document["tokens"]
    with torch.no_grad():
        full = model(input_ids=ids).last_hidden_state[0].mean(dim=0)
        drops = []
        for k in _content(document["tokens"]):
            pooled = model(input_ids=torch.cat([ids[:, :k], ids[:, k + 1 :]], dim=1)).last_hidden_state[0].mean(dim=0)
            drops.append(1 - float(torch.nn.functional.cosine_similarity(full, pooled, dim=0)))
    expected = _rho_of_rollout(document, "alti", np.array(drops), "mean")
    assert document["faithfulness"]["alti"]["leave_one_out"] == pytest.approx(expected, abs=RHO_TOL)


def _gradient_x_input_and_drop(classifier, tokenizer, text):
    """Independent truths: ‖∂ logit_c / ∂ e_k ⊙ e_k‖ and p_c − p_c(without k), per content token."""
    encoded = tokenizer(text, return_tensors="pt")
    ids, types = encoded["input_ids"], encoded["token_type_ids"]
    embeddings = classifier.get_input_embeddings()(ids).detach().requires_grad_(True)  # [1, N, D]
    logits = classifier(inputs_embeds=embeddings, token_type_ids=types).logits[0]
    predicted = int(logits.argmax())
    logits[predicted].backward()
    content = _content(tokenizer.convert_ids_to_tokens(ids[0].tolist()))
    saliency = [float((embeddings.grad[0, k] * embeddings.detach()[0, k]).norm()) for k in content]
    with torch.no_grad():
        probability = torch.softmax(logits, -1)[predicted]
        drops = [
            float(
                probability
                - torch.softmax(classifier(input_ids=torch.cat([ids[:, :k], ids[:, k + 1 :]], 1)).logits[0], -1)[
                    predicted
                ]
            )
            for k in content
        ]
    return np.array(saliency), np.array(drops)


def test_classifier_folder_ranks_against_gradient_x_input(tmp_path, capsys):
    from transformers import AutoTokenizer, BertForSequenceClassification

    folder = save_bert_classifier(tmp_path / "classifier")
    text = SENTENCES[2]
    document = _faithfulness_of(capsys, text, folder, "globenc")
    assert document["faithfulness_basis"]["head"] == "sequence_classification"
    assert document["faithfulness_basis"]["reader"] == "cls"
    entry = document["faithfulness"]["globenc"]
    assert set(entry) == TRUTHS and all(-1 <= entry[truth] <= 1 for truth in TRUTHS)

    classifier = BertForSequenceClassification.from_pretrained(folder, attn_implementation="eager").eval()
    saliency, drops = _gradient_x_input_and_drop(classifier, AutoTokenizer.from_pretrained(folder), text)
    assert entry["gradient_x_input"] == pytest.approx(
        _rho_of_rollout(document, "globenc", saliency, "cls"), abs=RHO_TOL
    )
    assert entry["leave_one_out"] == pytest.approx(_rho_of_rollout(document, "globenc", drops, "cls"), abs=RHO_TOL)


class _ClsLinear(torch.nn.Module):
    """What scripts/finetune_minilm.py trains: one linear layer on the last [CLS] vector."""

    def __init__(self, encoder, head):
        super().__init__()
        self.encoder, self.head = encoder, head

    def get_input_embeddings(self):
        return self.encoder.get_input_embeddings()

    def forward(self, **inputs):
        return type("Out", (), {"logits": self.head(self.encoder(**inputs).last_hidden_state[:, 0])})


def test_a_make_finetune_folder_uses_its_classifier_safetensors(tmp_path, capsys):
    from safetensors.torch import save_file
    from transformers import AutoModel, AutoTokenizer
    from transformers.models.bert.modeling_bert import BertModel

    folder = save_bert_classifier(tmp_path / "source")
    encoder = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()
    assert isinstance(encoder, BertModel)
    tuned = tmp_path / "finetuned"
    encoder.save_pretrained(tuned)  # config.json names BertModel, as `make finetune` writes it
    AutoTokenizer.from_pretrained(folder).save_pretrained(tuned)
    torch.manual_seed(5)
    head = torch.nn.Linear(HIDDEN["hidden_size"], 2)
    save_file(
        {"weight": head.weight.detach().contiguous(), "bias": head.bias.detach().contiguous()},
        str(tuned / "classifier.safetensors"),
    )

    text = SENTENCES[0]
    document = _faithfulness_of(capsys, text, tuned, "alti")
    assert document["faithfulness_basis"]["head"] == "cls_linear"
    saliency, _drops = _gradient_x_input_and_drop(_ClsLinear(encoder, head), AutoTokenizer.from_pretrained(tuned), text)
    expected = _rho_of_rollout(document, "alti", saliency, "cls")
    assert document["faithfulness"]["alti"]["gradient_x_input"] == pytest.approx(expected, abs=RHO_TOL)


def test_corpus_gives_a_mean_and_an_interval_per_measure(minilm, capsys):
    corpus = sample_corpus()
    code, out, err = _main(capsys, "--corpus", str(corpus), "--limit", "5", "--faithfulness", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert document["sentences"] == 5 and document["faithfulness_basis"] == {"head": None, "reader": "mean"}
    assert tuple(document["faithfulness"]) == FIRST_SIX  # value zeroing only when asked for
    for name, entry in document["faithfulness"].items():
        assert entry["gradient_x_input"] is None, name
        summary = entry["leave_one_out"]
        assert 2 <= summary["count"] <= 5 and -1 <= summary["mean"] <= 1
        assert summary["low"] < summary["mean"] < summary["high"]
        half = t_quantile(summary["count"] - 1) * summary["sd"] / np.sqrt(summary["count"])
        assert summary["high"] - summary["mean"] == pytest.approx(half, abs=2e-6)
        assert summary["mean"] - summary["low"] == pytest.approx(half, abs=2e-6)
    sentences = corpus.read_text(encoding="utf-8").splitlines()[:5]
    per_sentence = [sentence_faithfulness(minilm, None, text, measures=("alti",)).rho["alti"] for text in sentences]
    alti = document["faithfulness"]["alti"]["leave_one_out"]
    assert alti["mean"] == pytest.approx(np.mean([rho["leave_one_out"] for rho in per_sentence]), abs=2e-6)


def test_corpus_table_counts_the_blank_records(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\nThe dog barked at the postman.\n   \nA cat slept on the warm mat.\n", encoding="utf-8")
    code, out, err = _main(capsys, "--corpus", str(corpus), "--faithfulness", "--measure", "alti", "--format", "table")
    assert code == 0, err
    assert "over 2 sentences" in out and "95%" in out and "leave-one-out" in out
    assert "2 records without text to rank were skipped." in out


@pytest.mark.parametrize(
    "args",
    [
        ("The dog barked.", "--model", "minilm-longformer", "--faithfulness"),
        ("--corpus", "EMPTY", "--faithfulness"),
        ("--corpus", "BLANK", "--faithfulness"),
        ("--corpus", "BLANK"),
        ("The dog barked.", "--corpus", "BLANK", "--faithfulness"),
        ("The dog barked.", "--limit", "3"),
        (),
    ],
)
def test_bad_input_gives_one_line_and_status_2(tmp_path, capsys, args):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.txt").write_text("\n  \n\n")
    paths = {"EMPTY": str(tmp_path / "empty.txt"), "BLANK": str(tmp_path / "blank.txt")}
    code, out, err = _main(capsys, *(paths.get(arg, arg) for arg in args))
    assert code == 2 and not out
    assert len(err.strip().splitlines()) == 1, err
