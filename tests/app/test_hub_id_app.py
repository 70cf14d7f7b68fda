"""App tier: a Hugging Face Hub id typed into the model box loads offline from a Hub cache laid
out as huggingface_hub writes it (models--org--name/snapshots/<rev>/… plus refs/main), through
the same path as the CLI (tests/model/test_hub_ids.py), and one neither cached nor reachable
gets one plain line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from app_runs import opened
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "model"))
from test_hub_ids import _hub_cache
from tiny_families import save_family

TIMEOUT = 180


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    cache = _hub_cache(tmp_path / "hub", "someone/tiny-bert", save_family("bert", tmp_path / "tiny"))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def _opened(model: str) -> AppTest:
    return opened(TIMEOUT, dir=model, text="the dog barked .")


def test_an_org_name_id_in_the_model_box_is_analysed_from_the_cache(hub_cache):
    at = _opened("someone/tiny-bert")
    assert not at.error, [error.value for error in at.error]
    captions = " ".join(caption.value for caption in at.caption)
    assert "someone/tiny-bert" in captions and "3 layers" in captions
    assert at.get("plotly_chart")


def test_an_id_that_is_not_cached_gets_one_line_and_the_page_stays(hub_cache):
    at = _opened("someone/not-there")
    errors = [error.value for error in at.error]
    assert len(errors) == 1 and "someone/not-there" in errors[0]
