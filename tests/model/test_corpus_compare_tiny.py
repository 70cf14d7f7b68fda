"""Two tiny random models over a small corpus through compare_corpus: a model against itself,
against a copy with one layer re-initialised, against another tokenizer and another depth.
Every number is checked against each model run alone: run_corpus for the means, and a
forward pass per sentence with cosines taken here in numpy for the similarity."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
import transformers
from tiny_encoders import with_layer_redrawn
from tiny_families import LETTERS, SENTENCES, SPECIALS, WORDS, build_model, save_family

from models.corpus.compare import compare_corpus, to_json_dict
from models.corpus.engine import CorpusOptions, run_corpus
from models.corpus.source import open_upload
from models.load.loading import load_model
from models.score.scores import PART_NAMES, SCORE_NAMES

MEANS_TOL = 1e-6
SIMILARITY_TOL = 1e-5
UNCHANGED = 1e-6
CHANGED_LAYER = 1  # 0-based
OPTIONS = CorpusOptions(batch_size=3, sort_batches=2)  # several chunks and batches of mixed lengths


def _corpus_lines() -> list[str]:
    """Sentences of the tiny vocabulary's words, 3 to 20 words long, and one blank line."""
    rng = random.Random(7)
    lines = list(SENTENCES)
    for length in (3, 5, 8, 12, 16, 20, 4, 10, 14):
        lines.append(" ".join(rng.choice(WORDS) for _ in range(length)))
    lines.insert(4, "")
    return lines


LINES = _corpus_lines()
TEXTS = [line for line in LINES if line.strip()]


def _source():
    return open_upload("\n".join(LINES).encode(), "tiny.txt")


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bert")
    return load_model(str(save_family("bert", folder, initializer_range=0.3)))


@pytest.fixture(scope="module")
def changed(bert, tmp_path_factory):
    """A copy of `bert` with layer CHANGED_LAYER's query and key weights drawn anew."""
    return with_layer_redrawn(bert, CHANGED_LAYER, tmp_path_factory.mktemp("bert-changed"))


def _attention(loaded, text: str) -> np.ndarray:
    """float64 [L, H, n, n]: the model run on the sentence alone, straight from transformers."""
    encoding = loaded.tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        attentions = loaded.model(**encoding, output_attentions=True).attentions
    return torch.stack(attentions)[:, 0].double().numpy()


def _cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def _head_similarity(loaded_a, loaded_b, texts) -> np.ndarray:
    """[S, L, H] per sentence: mean over query rows of the row cosine."""
    return np.stack([_cosine_rows(_attention(loaded_a, t), _attention(loaded_b, t)).mean(-1) for t in texts])


def _means(result, view: str) -> dict[str, np.ndarray]:
    chosen = result.views[view]
    means = {name: chosen.scores[name].mean for name in SCORE_NAMES}
    means.update({f"partition.{part}": chosen.partition[part].mean for part in PART_NAMES})
    return means


def test_a_model_against_itself_is_the_same_everywhere(bert):
    comparison = compare_corpus(bert, bert, _source(), OPTIONS)
    assert comparison.sentences == comparison.aligned == len(TEXTS)
    assert comparison.paired and comparison.notices == ()
    np.testing.assert_allclose(comparison.similarity.mean, 1.0, atol=1e-12)
    assert set(comparison.diff) == {"weight", "norm"}
    assert all(np.abs(values).max() == 0 for view in comparison.diff.values() for values in view.values())
    assert comparison.changed == ()
    assert len(comparison.summary) == 1 and "attends exactly like" in comparison.summary[0]


@pytest.fixture(scope="module")
def reinitialised(bert, changed):
    return compare_corpus(bert, changed, _source(), OPTIONS)


@pytest.mark.parametrize("view", ["weight", "norm"])
def test_each_side_equals_run_corpus_and_diff_is_their_difference(bert, changed, reinitialised, view):
    alone_a, alone_b = run_corpus(bert, _source(), OPTIONS), run_corpus(changed, _source(), OPTIONS)
    means_a, means_b = _means(alone_a, view), _means(alone_b, view)
    assert reinitialised.a.sentences == alone_a.sentences == len(TEXTS)
    for name in means_a:
        np.testing.assert_allclose(_means(reinitialised.a, view)[name], means_a[name], atol=MEANS_TOL)
        np.testing.assert_allclose(_means(reinitialised.b, view)[name], means_b[name], atol=MEANS_TOL)
        np.testing.assert_allclose(reinitialised.diff[view][name], means_b[name] - means_a[name], atol=MEANS_TOL)


def test_similarity_equals_a_per_sentence_computation(bert, changed, reinitialised):
    per_sentence = _head_similarity(bert, changed, TEXTS)  # [S, L, H]
    assert reinitialised.aligned == len(TEXTS)
    np.testing.assert_allclose(reinitialised.similarity.mean, per_sentence.mean(0), atol=SIMILARITY_TOL)
    np.testing.assert_allclose(reinitialised.similarity.std, per_sentence.std(0, ddof=1), atol=SIMILARITY_TOL)
    assert (1 - reinitialised.similarity.mean[:CHANGED_LAYER] < UNCHANGED).all()
    assert (reinitialised.similarity.mean[CHANGED_LAYER] < 1 - 1e-3).all()
    lowest = np.unravel_index(np.argmin(per_sentence.mean(0)), per_sentence.shape[1:])
    first = reinitialised.changed[0]
    assert (first.layer, first.head) == tuple(int(k) for k in lowest)
    assert all(change.layer >= CHANGED_LAYER for change in reinitialised.changed)
    assert any("Mean head similarity" in message for message in reinitialised.summary)
    assert any("Layer 1 is unchanged" in message for message in reinitialised.summary)


def test_the_split_into_chunks_does_not_change_the_numbers(bert, changed, reinitialised):
    whole = compare_corpus(bert, changed, _source(), CorpusOptions(batch_size=32))
    # float32 forward passes over batches of other shapes differ in the last bits (5.6e-8 seen on
    # one CPU); a sentence lost or counted twice moves these means by far more than 1e-6
    np.testing.assert_allclose(whole.similarity.mean, reinitialised.similarity.mean, atol=MEANS_TOL)
    np.testing.assert_allclose(whole.diff["weight"]["cls"], reinitialised.diff["weight"]["cls"], atol=MEANS_TOL)


def test_json_document(reinitialised):
    document = json.loads(json.dumps(to_json_dict(reinitialised)))
    assert {"a", "b", "sentences", "aligned_sentences", "diff", "similarity", "changed", "summary"} <= set(document)
    assert document["a"]["sentences"] == document["b"]["sentences"] == document["sentences"] == len(TEXTS)
    assert np.array(document["similarity"]).shape == (3, 4)
    assert np.array(document["diff"]["norm"]["cls"]).shape == (3, 4)
    assert document["changed"][0]["layer"] >= CHANGED_LAYER + 1
    assert document["layers"]["matched"] == [[1, 1], [2, 2], [3, 3]]


def test_other_tokenizer_compares_layers_with_a_notice(bert, tmp_path):
    roberta = load_model(str(save_family("roberta", tmp_path)))
    comparison = compare_corpus(bert, roberta, _source(), OPTIONS)
    assert comparison.aligned == 0 and not comparison.paired
    assert comparison.diff is None and comparison.similarity is None and comparison.layer_similarity is None
    assert comparison.changed == ()
    assert any("split every sentence differently" in notice for notice in comparison.notices)
    assert comparison.layers.matched == ((0, 0), (1, 1), (2, 2))
    np.testing.assert_allclose(
        comparison.layers.partition_b[:, 0], comparison.b.weights.layer_partition["to_cls"].mean, atol=1e-12
    )
    document = json.loads(json.dumps(to_json_dict(comparison)))
    assert document["similarity"] is None and document["aligned_sentences"] == 0


def test_other_depth_compares_matched_layers_map_against_map(bert, tmp_path):
    deeper = build_model("bert", bert.tokenizer, initializer_range=0.3, num_hidden_layers=5, seed=1)
    deeper.save_pretrained(tmp_path)
    bert.tokenizer.save_pretrained(tmp_path)
    deeper = load_model(str(tmp_path))
    comparison = compare_corpus(bert, deeper, _source(), OPTIONS)
    assert not comparison.paired and comparison.diff is None and comparison.similarity is None
    assert any("different shapes (3 × 4 and 5 × 4" in notice for notice in comparison.notices)
    assert comparison.layers.matched == ((0, 0), (1, 2), (2, 4))
    assert comparison.aligned == len(TEXTS)
    expected = np.stack(
        [
            [
                _cosine_rows(a[la].mean(0), b[lb].mean(0)).mean(-1)
                for la, lb in comparison.layers.matched
                for a, b in [(_attention(bert, text), _attention(deeper, text))]
            ]
            for text in TEXTS
        ]
    ).mean(0)
    np.testing.assert_allclose(comparison.layer_similarity.mean, expected, atol=SIMILARITY_TOL)
    assert any("at matching depth" in message for message in comparison.summary)


def test_partly_shared_tokenizer_aligns_the_sentences_it_splits_alike(bert, tmp_path):
    """B's vocabulary has "dogs" where A's has "dog" (the same ids otherwise): sentences with "dog"
    are split into letters by B, the rest agree."""
    vocab = dict.fromkeys(SPECIALS + WORDS + LETTERS + ["##" + c for c in LETTERS])
    tokenizer = transformers.BertTokenizer(vocab={"dogs" if t == "dog" else t: i for i, t in enumerate(vocab)})
    other = build_model("bert", tokenizer, initializer_range=0.3, seed=2)
    other.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    other = load_model(str(tmp_path))
    comparison = compare_corpus(bert, other, _source(), OPTIONS)
    alike = [text for text in TEXTS if "dog" not in text.split()]
    assert 0 < len(alike) < len(TEXTS) and comparison.aligned == len(alike)
    assert comparison.paired
    unaligned = f"split {len(TEXTS) - len(alike)} of {len(TEXTS)} sentences differently"
    assert any(unaligned in notice for notice in comparison.notices)
    expected = _head_similarity(bert, other, alike).mean(0)
    np.testing.assert_allclose(comparison.similarity.mean, expected, atol=SIMILARITY_TOL)
    alone_b = run_corpus(other, _source(), OPTIONS)
    np.testing.assert_allclose(comparison.b.weights.scores["cls"].mean, alone_b.weights.scores["cls"].mean, atol=1e-12)
