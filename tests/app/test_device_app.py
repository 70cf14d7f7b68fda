"""App tier: the sidebar says where the models run, and ATTENTION_MAPS_DEVICE=cuda on a machine
without a GPU gives a plain error on the page (the app stays usable), never a traceback."""

from __future__ import annotations

import pytest
import torch
from app_runs import opened
from streamlit.testing.v1 import AppTest

from models.load.device import DEVICE_ENV

TIMEOUT = 120


def _run(monkeypatch, device: str | None, text: str = "The dog chased the cat.") -> AppTest:
    if device is None:
        monkeypatch.delenv(DEVICE_ENV, raising=False)
    else:
        monkeypatch.setenv(DEVICE_ENV, device)
    return opened(TIMEOUT, text=text)


def _sidebar_captions(at: AppTest) -> list[str]:
    return [caption.value for caption in at.sidebar.caption]


def test_the_sidebar_names_the_device(monkeypatch):
    at = _run(monkeypatch, "cpu")
    assert "Models run on: cpu" in _sidebar_captions(at)
    assert not at.error and at.get("plotly_chart")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_plain_error(monkeypatch):
    at = _run(monkeypatch, "cuda", "A sentence no other test analyses.")  # results are cached per text
    assert "Models run on: cuda was asked for, but there is no GPU" in _sidebar_captions(at)
    errors = [error.value for error in at.error]
    assert any("torch sees no CUDA GPU" in error for error in errors), errors
    at = _run(monkeypatch, None)  # auto, the default: the CPU here, and the analysis is back
    assert "Models run on: cpu" in _sidebar_captions(at) and not at.error
