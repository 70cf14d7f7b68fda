"""App tier: tiny random ModernBERT and BigBird (built here, offline) show their own patterns
on the sparse-patterns page, beside the simulated ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from app_runs import open_page, opened
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "model"))
from tiny_families import LONG_SENTENCE, save_family


def _sparse_page(folder: Path) -> AppTest:
    return open_page(opened(300, dir=str(folder), text=LONG_SENTENCE), "sparse")


def _titles(at: AppTest) -> list[str]:
    titles = []
    for chart in at.get("plotly_chart"):
        title = json.loads(chart.proto.spec)["layout"].get("title", {})
        titles.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return titles


def test_modernbert_shows_its_local_and_global_layers(tmp_path):
    at = _sparse_page(save_family("modernbert", tmp_path / "modernbert"))
    assert not at.exception and not at.error
    layers = at.table[-1].value
    local = "local, window 8 (4 each side)"  # the tiny config: every 3rd layer global, local_attention 8
    assert layers["attention"].tolist() == ["global (every token)", local, local, "global (every token)"]
    assert at.number_input(key="sp_window").value == 8  # the model's own window feeds the explorer
    assert any("LSH" in caption.value and "rotary" in caption.value for caption in at.caption)
    at.selectbox(key="own_layer").set_value(2).run()
    assert any("Layer 2, head 1: the model's own pattern" in title for title in _titles(at))
    covered = [c.value for c in at.caption if "of the model's own pairs are inside" in c.value]
    assert covered and covered[0].startswith("Here 100%")  # a local layer inside the same local window


@pytest.mark.parametrize("family", ["bigbird"])
def test_bigbird_shows_its_block_pattern_beside_the_simulated_one(tmp_path, family):
    at = _sparse_page(save_family(family, tmp_path / family))
    assert not at.exception and not at.error
    assert any("BigBird block-sparse" in caption.value and "rebuilt exactly" in caption.value for caption in at.caption)
    assert any("the model's own pattern vs simulated BigBird" in title for title in _titles(at))
