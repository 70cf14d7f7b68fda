"""The norm view on the embedded MiniLM: the finding the diagnosis rests on stays true."""

import re

import numpy as np
import pytest

from models.extract.attention import extract
from models.score.analysis import analyze_views
from models.score.rollout import attention_rollout, query_rollout
from models.score.scores import PART_NAMES

SENTENCES = [
    "The dog chased the cat because it was hungry.",
    "A quiet river ran past the old mill, and the miller counted his sacks.",
    "She opened the letter slowly.",
    "Prices rose sharply in the spring, then fell again by winter.",
]


@pytest.mark.parametrize("text", SENTENCES)
def test_cls_moves_less_than_it_is_looked_at(minilm, text):
    views = analyze_views(extract(minilm, text))
    weight, norm = views["weight"].scores["cls"], views["norm"].scores["cls"]
    for layer in range(1, 5):  # layers 2–5
        assert norm[layer].mean() < weight[layer].mean()
    assert norm[1:5].mean() < 0.5 * weight[1:5].mean()


def test_comparison_message_numbers_match_the_arrays(minilm):
    result = extract(minilm, SENTENCES[0])
    views = analyze_views(result)
    message = next(d.message for d in views["norm"].diagnosis if "attention weight on [CLS]" in d.message)
    assert message == next(d.message for d in views["weight"].diagnosis if "attention weight on [CLS]" in d.message)
    first, last, by_weight, ratio, by_norm = re.search(
        r"Layers (\d)–(\d) put (\d+)% .* are (\d+)× smaller .* only (\d+)% of what", message
    ).groups()
    layers = list(range(int(first) - 1, int(last)))
    k = PART_NAMES.index("to_cls")
    assert int(by_weight) == round(100 * views["weight"].layer_partition[layers, k].mean())
    assert int(by_norm) == round(100 * views["norm"].layer_partition[layers, k].mean())
    norms = result.value_norms[layers]
    assert int(ratio) == round(norms[:, :, 1:-1].mean() / norms[:, :, 0].mean())
    assert "no-op" in message
    assert not any(d.level == "warning" for d in views["norm"].diagnosis)


def test_rollout_facts_on_minilm(minilm):
    result = extract(minilm, SENTENCES[0])
    rollout = attention_rollout(result)
    assert rollout[-1, 0, 0] == pytest.approx(0.70, abs=0.01)  # DESIGN.md: the last [CLS] row
    assert rollout[-1, 0, -1] == pytest.approx(0.10, abs=0.01)
    np.testing.assert_allclose(query_rollout(result, [0, 3])[1], rollout[:, 3], atol=1e-12)
    views = analyze_views(result, rollout_views=("weight", "norm"))  # head means summed in float32
    assert views["weight"].rollout.shape == (6, result.n_tokens)
    np.testing.assert_allclose(views["weight"].rollout, rollout[:, 0], atol=1e-6)
    norm = attention_rollout(result, view="norm")
    np.testing.assert_allclose(views["norm"].rollout, norm[:, 0], atol=1e-6)
    assert norm[-1, 0, 0] < rollout[-1, 0, 0]  # by norm, [CLS] keeps less of itself
