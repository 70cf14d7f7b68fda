"""App tier: the Compare models page, on minilm against itself and against a copy whose one
layer was re-initialised (built here, offline)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from app_runs import open_page, opened
from plotly_specs import heatmap_z
from streamlit.testing.v1 import AppTest

TEXT = "The soup was warm and full of flavour."


@pytest.fixture(scope="module")
def perturbed(tmp_path_factory) -> Path:
    """minilm with layer 5's attention projections re-initialised (seeded): layers 1–4 unchanged."""
    from models.load.loading import load_model

    loaded = load_model("minilm")
    folder = tmp_path_factory.mktemp("minilm-perturbed")
    model = loaded.model
    state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    generator = torch.Generator().manual_seed(0)
    for part in ("query", "key"):
        weight = state[f"encoder.layer.4.attention.self.{part}.weight"]
        state[f"encoder.layer.4.attention.self.{part}.weight"] = torch.randn(weight.shape, generator=generator) * 0.1
    copy = type(model)(model.config)
    copy.load_state_dict(state)
    copy.save_pretrained(folder)
    loaded.tokenizer.save_pretrained(folder)
    return folder


def _compare_page(model_b: str) -> AppTest:
    return open_page(opened(300, text=TEXT, cmp_dir_b=model_b), "compare")


def _spec(at: AppTest, words: str) -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec["layout"].get("title", {})
        if words in (title.get("text", "") if isinstance(title, dict) else str(title)):
            return spec
    raise AssertionError(f"no chart titled with {words!r}")


def test_a_model_against_itself_changes_nothing():
    at = open_page(opened(300, text=TEXT), "compare")
    at.text_input(key="cmp_dir_b").set_value("").run()  # B = the registry's minilm, like A
    assert not at.exception and not at.error
    assert any("attends exactly like model A" in info.value for info in at.info)
    np.testing.assert_allclose(heatmap_z(_spec(at, "similarity")), 1.0, atol=1e-6)


def test_a_perturbed_layer_shows_up_in_the_ranking_and_the_maps(perturbed):
    at = _compare_page(str(perturbed))
    assert not at.exception and not at.error
    similarity = heatmap_z(_spec(at, "similarity"))
    np.testing.assert_allclose(similarity[:4], 1.0, atol=1e-5)  # layers before the change are untouched
    assert similarity[4].min() < 0.99  # the re-initialised layer moved
    changed = at.dataframe[0].value
    assert set(changed["layer"]) <= {5, 6} and changed["similarity"].is_monotonic_increasing
    at.selectbox(key="cmp_layer").set_value(5).run()
    heads = _spec(at, "Layer 5, head 1: A vs B")
    assert len(heads["data"]) == 3  # A, B and their difference
    at.button_group(key="cmp_view").set_value("norm").run()
    assert not at.exception and not at.error
    labels = [button.proto.label for button in at.get("download_button")]
    assert "Comparison (JSON)" in labels and "Head similarity (CSV)" in labels


def test_over_a_corpus_ranks_the_perturbed_layer(perturbed):
    at = _compare_page(str(perturbed))
    assert not at.exception and not at.error
    at.toggle(key="cmp_corpus").set_value(True).run()
    assert any("Compare over the corpus" in caption.value for caption in at.caption)  # waits for the button
    at.number_input(key="cmp_corpus_limit").set_value(12).run()
    at.button(key="cmp_corpus_run").click().run()
    assert not at.exception and not at.error
    assert any("Over 12 sentences of sample_corpus.txt; 12 split alike" in c.value for c in at.caption)
    assert any("Mean head similarity" in info.value and "over 12 sentences" in info.value for info in at.info)
    similarity = heatmap_z(_spec(at, "Head similarity over the corpus"))
    np.testing.assert_allclose(similarity[:4], 1.0, atol=1e-5)  # layers before the change are untouched
    assert similarity[4].min() < 0.99
    changed = at.dataframe[1].value
    assert set(changed["layer"]) <= {5, 6} and changed["similarity"].is_monotonic_increasing
    at.selectbox(key="cmp_corpus_score").set_value("sep").run()
    diff = heatmap_z(_spec(at, "sep: B − A of the corpus means"))
    assert np.abs(diff[:4]).max() < 1e-5 and np.abs(diff[4:]).max() > 0
    labels = [button.proto.label for button in at.get("download_button")]
    assert "Corpus comparison (JSON)" in labels
