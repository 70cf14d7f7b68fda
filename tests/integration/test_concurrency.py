"""Two callers on one shared model at once get exactly the numbers each gets alone.

A corpus run (batched forward passes that capture value vectors) runs in one thread while
single-sentence analyses in the norm view run in another, on the same cached MiniLM, as two
visitors of the app do.  Before the capture hooks were made per call, each pass fired the
other's hooks: wrong value norms in the analyses and a size-mismatch crash in the corpus run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from side_by_side import side_by_side

from models.corpus.engine import CorpusOptions, run_corpus
from models.corpus.source import open_path
from models.examples import sample_corpus
from models.extract.attention import extract
from models.score.analysis import analyze_views

SENTENCES = [
    "The dog chased the cat because it was hungry.",
    "She opened the letter slowly.",
    "A quiet river ran past the old mill, and the miller counted his sacks twice.",
    "Prices rose.",
]
CORPUS = sample_corpus()


def _single(minilm, text: str):
    result = extract(minilm, text)
    views = analyze_views(result)
    return result.value_norms, views["norm"].scores["cls"], views["weight"].scores["cls"]


def _corpus(minilm, limit: int):
    result = run_corpus(minilm, open_path(Path(CORPUS)), CorpusOptions(limit=limit, batch_size=8))
    return result


def _corpus_numbers(result) -> dict[str, np.ndarray]:
    numbers = {}
    for view, found in result.views.items():
        for group in ("scores", "partition", "layer_partition"):
            for name, estimate in getattr(found, group).items():
                numbers[f"{view}.{group}.{name}"] = estimate.mean
        numbers[f"{view}.main_roles"] = found.main_roles
    return numbers


def test_corpus_run_beside_single_analyses_gives_the_numbers_of_each_alone(minilm):
    alone = {text: _single(minilm, text) for text in SENTENCES}
    corpus_alone = _corpus_numbers(_corpus(minilm, 120))

    def singles_in_a_row():
        return [(text, _single(minilm, text)) for text in (SENTENCES * 4)[:15]]

    corpus_together, singles = side_by_side(lambda: _corpus(minilm, 120), singles_in_a_row)
    assert len(singles) == 15
    for text, (norms, norm_cls, weight_cls) in singles:
        expected_norms, expected_norm_cls, expected_weight_cls = alone[text]
        np.testing.assert_array_equal(norms, expected_norms)
        np.testing.assert_array_equal(norm_cls, expected_norm_cls)
        np.testing.assert_array_equal(weight_cls, expected_weight_cls)
    together = _corpus_numbers(corpus_together)
    assert together.keys() == corpus_alone.keys()
    for name, values in corpus_alone.items():
        np.testing.assert_array_equal(together[name], values, err_msg=name)
