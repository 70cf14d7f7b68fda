"""The model tier's shared fixture: the embedded MiniLM's tokenizer, whose 30,522-id vocabulary
the tiny_encoders models are built over (a test file that needs another binds its own)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    from models.load.loading import embedded_model_path

    return AutoTokenizer.from_pretrained(str(embedded_model_path()))
