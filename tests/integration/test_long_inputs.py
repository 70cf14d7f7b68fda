"""Long Longformer inputs stay banded; concurrent extraction keeps each caller's result."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from models.extract.attention import DENSE_LIMIT, extract
from models.extract.banded import BandedLayer, pooled
from models.load.loading import load_model
from models.score.analysis import analyze
from viz.sparse import payload_bytes, pooled_heatmap

WORDS = [
    "the",
    "river",
    "bends",
    "past",
    "the",
    "mill",
    ",",
    "and",
    "the",
    "miller",
    "counts",
    "sacks",
    "of",
    "grain",
    "before",
    "dusk",
    ".",
]
PAYLOAD_LIMIT = 5_000_000


def _text(n_words: int) -> str:
    return " ".join((WORDS * (n_words // len(WORDS) + 1))[:n_words])


@pytest.fixture(scope="module")
def long_result():
    loaded = load_model("minilm-longformer", 512)
    return extract(loaded, _text(4094))


def test_4096_tokens_stay_banded(long_result):
    result = long_result
    assert result.n_tokens == 4096 and not result.truncated
    assert result.is_banded
    for layer in result.layer_attention:
        assert isinstance(layer, BandedLayer)
        assert layer.band.shape == (12, 4096, 1 + 512 + 1)  # one global column, window 512
        assert layer.nbytes < 12 * 4096 * 4096 * 4 / 7  # far below one dense layer
    analysis = analyze(result)
    for name, values in analysis.scores.items():
        assert values.shape == (6, 12) and np.isfinite(values).all(), name
        assert (values >= -1e-6).all() and (values <= 1 + 1e-6).all(), name
    np.testing.assert_allclose(analysis.partition.sum(-1), 1.0, atol=1e-9)
    # [SEP] sits at 4095, outside every non-global row's window except the last 257
    assert analysis.scores["sep"].max() < 0.2


def test_pooled_overview_payload_is_bounded(long_result):
    cells, edges = pooled(long_result.layer_attention[2], head=4)
    assert cells.shape == (512, 512) and edges[-1] == 4096
    # mean pooling keeps the mass: each of the 4096 rows sums to 1
    areas = np.outer(np.diff(edges), np.diff(edges))
    assert (cells * areas).sum() == pytest.approx(4096, rel=1e-4)
    fig = pooled_heatmap(cells, edges, edges, long_result.tokens, title="pooled")
    assert payload_bytes(fig) < PAYLOAD_LIMIT


def test_short_longformer_inputs_are_dense(minilm_longformer):
    result = extract(minilm_longformer, _text(40))
    assert result.n_tokens <= DENSE_LIMIT and not result.is_banded


def test_concurrent_extraction_keeps_results_apart(minilm):
    """Six threads share one model and tokenizer (as two app sessions do); each gets its own
    result, equal to a serial run, truncated inputs included."""
    texts = [_text(n) for n in (7, 19, 600, 48, 700, 75)] * 3
    expected = {text: extract(minilm, text).layer_attention[3] for text in set(texts)}
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda text: extract(minilm, text), texts))
    for text, result in zip(texts, results):
        assert result.text == text
        np.testing.assert_allclose(result.layer_attention[3], expected[text], atol=1e-6)
