"""Faithfulness ground truths and Spearman's ρ, on hand-made rankings, a tiny linear classifier
whose gradients are written down by hand, and a tiny random BERT."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from tiny_families import SENTENCES
from tiny_float64 import tiny_loaded

from models.load.families import forward_inputs
from models.mixing import faithfulness as F
from models.mixing.measures import MEASURES
from models.mixing.run import context_mixing

TOL = 1e-10


def test_average_ranks_share_ties():
    assert F.average_ranks(np.array([10.0, 20.0, 20.0, 5.0])).tolist() == [2.0, 3.5, 3.5, 1.0]
    assert F.average_ranks(np.array([1.0, 1.0, 1.0])).tolist() == [2.0, 2.0, 2.0]


def test_spearman_on_hand_made_rankings():
    # ranks of b: 1, 2, 3.5, 5, 3.5 → centred (−2, −1, 0.5, 2, 0.5) against (−2, −1, 0, 1, 2): 8 / √(10 · 9.5)
    a, b = np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([5.0, 6.0, 7.0, 8.0, 7.0])
    assert F.spearman(a, b) == pytest.approx(8 / np.sqrt(95), abs=1e-12)
    assert F.spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    assert F.spearman(a, -a) == pytest.approx(-1.0)
    assert np.isnan(F.spearman(a, np.ones(5)))
    with pytest.raises(ValueError):
        F.spearman(a, b[:3])


class MeanLinear(torch.nn.Module):
    """logits = W · mean_k(e_k) + c: ∂ logit_y / ∂ e_k = W[y] / N, by hand."""

    def __init__(self, vocab=10, width=4, classes=3):
        super().__init__()
        generator = torch.Generator().manual_seed(2)
        self.embed = torch.nn.Embedding(vocab, width).double()
        self.head = torch.nn.Linear(width, classes).double()
        with torch.no_grad():
            self.embed.weight.copy_(torch.randn(vocab, width, generator=generator, dtype=torch.float64))
            self.head.weight.copy_(torch.randn(classes, width, generator=generator, dtype=torch.float64))

    def get_input_embeddings(self):
        return self.embed

    def forward(self, input_ids=None, inputs_embeds=None, attention_mask=None):
        embeddings = self.embed(input_ids) if inputs_embeds is None else inputs_embeds
        return SimpleNamespace(logits=self.head(embeddings.mean(dim=1)))


def test_gradient_x_input_and_leave_one_out_by_hand():
    model = MeanLinear().eval()
    ids = torch.tensor([[0, 4, 7, 2, 1]])
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    positions = [1, 2, 3]
    truths = F.classifier_truths(model, inputs, positions)
    e = model.embed.weight.detach()[ids[0]]  # [N, D]
    w, c = model.head.weight.detach(), model.head.bias.detach()
    logits = w @ e.mean(dim=0) + c
    y = int(logits.argmax())
    n = ids.shape[1]
    for slot, k in enumerate(positions):
        by_hand = float(torch.linalg.vector_norm(w[y] / n * e[k]))
        assert truths["gradient_x_input"][slot] == pytest.approx(by_hand, abs=TOL)
        rest = torch.cat([e[:k], e[k + 1 :]]).mean(dim=0)
        drop = torch.softmax(logits, -1)[y] - torch.softmax(w @ rest + c, -1)[y]
        assert truths["leave_one_out"][slot] == pytest.approx(float(drop), abs=TOL)


@pytest.fixture(scope="module")
def tiny():
    return tiny_loaded()


def test_pooled_leave_one_out_matches_one_run_per_token(tiny):
    encoded = tiny.tokenizer(SENTENCES[2], return_tensors="pt")
    inputs = forward_inputs(tiny.model, encoded)
    positions = list(range(1, encoded["input_ids"].shape[1] - 1))
    batched = F.pooled_leave_one_out(tiny, inputs, positions)
    with torch.no_grad():
        full = tiny.model(**inputs).last_hidden_state[0].mean(dim=0)
        for slot, k in enumerate(positions):
            kept = [j for j in range(encoded["input_ids"].shape[1]) if j != k]
            short = {name: tensor[:, kept] for name, tensor in inputs.items()}
            pooled = tiny.model(**short).last_hidden_state[0].mean(dim=0)
            expected = 1 - torch.dot(full, pooled) / (torch.linalg.vector_norm(full) * torch.linalg.vector_norm(pooled))
            assert batched[slot] == pytest.approx(float(expected), abs=1e-9)
    assert batched.max() > 1e-4  # removing a word moves the sentence embedding


def test_faithfulness_reads_the_last_layer_rollout(tiny):
    mixing = context_mixing(tiny, SENTENCES[1])
    positions = F.content_positions(mixing)
    assert positions.tolist() == list(range(1, len(mixing.tokens) - 1))
    truth = np.arange(positions.size, dtype=float)
    scores = F.faithfulness(mixing, {"leave_one_out": truth}, "cls")
    assert set(scores) == set(MEASURES)
    for measure, entry in scores.items():
        row = mixing.rollout[measure][-1][mixing.cls_positions[0]][positions]
        assert entry["leave_one_out"] == pytest.approx(spearmanr(row, truth).statistic, abs=1e-12)
    mean = F.map_scores(mixing, "alti", "mean")
    np.testing.assert_allclose(mean, mixing.rollout["alti"][-1].mean(axis=0)[positions], atol=TOL)


def test_classifier_leave_one_out_on_a_tiny_bert_classifier(tiny):
    from transformers import BertForSequenceClassification

    torch.manual_seed(4)
    classifier = BertForSequenceClassification(tiny.model.config).double().eval()
    encoded = tiny.tokenizer(*SENTENCES[1:3], return_tensors="pt")  # a pair: token types matter
    inputs = forward_inputs(classifier, encoded)
    n = encoded["input_ids"].shape[1]
    positions = [k for k in range(n) if encoded["input_ids"][0, k] not in tiny.tokenizer.all_special_ids]
    truths = F.classifier_truths(classifier, inputs, positions)
    with torch.no_grad():
        probabilities = torch.softmax(classifier(**inputs).logits[0], -1)
        y = int(probabilities.argmax())
        for slot, k in enumerate(positions):
            short = {name: torch.cat([t[:, :k], t[:, k + 1 :]], dim=1) for name, t in inputs.items()}
            drop = probabilities[y] - torch.softmax(classifier(**short).logits[0], -1)[y]
            assert truths["leave_one_out"][slot] == pytest.approx(float(drop), abs=1e-12)
    assert truths["gradient_x_input"].shape == (len(positions),) and (truths["gradient_x_input"] > 0).all()
