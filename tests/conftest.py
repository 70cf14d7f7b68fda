"""Shared fixtures. Tiers: unit (no model), model (tiny random models), integration
(embedded MiniLM), app (AppTest), browser (Chromium). Fixtures are read-only."""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import pytest
from tiers import ROOT

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub


@pytest.fixture(autouse=True)
def _seed():
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def minilm():
    from models.load.loading import load_model

    return load_model("minilm")


@pytest.fixture(scope="session")
def minilm_longformer():
    from models.load.loading import load_model

    return load_model("minilm-longformer", 16)
