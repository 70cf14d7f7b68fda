"""scripts/finetune_minilm.py, a few steps: it saves a folder the loader reads, and the
comparison with minilm sees the change."""

from __future__ import annotations

import json

import numpy as np
from tiers import run_python

from models.compare.heads import compare_models
from models.load.loading import load_model


def test_a_short_run_saves_a_loadable_finetuned_copy(tmp_path, minilm):
    out = tmp_path / "finetuned"
    done = run_python("scripts/finetune_minilm.py", "--steps", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "finetune.json").read_text())
    assert report["steps"] == 3 and report["train_examples"] + report["held_out"] == 200
    assert (out / "model.safetensors").is_file() and (out / "classifier.safetensors").is_file()
    tuned = load_model(str(out))
    assert tuned.family == "bert" and tuned.layers == 6
    result = compare_models(minilm, tuned, "The soup was warm and full of flavour.")
    assert result.aligned
    assert (np.asarray(result.similarity) < 1 - 1e-6).any()  # three steps of AdamW move every layer a little
    assert np.array_equal(  # the frozen embeddings: layer 1 sees the same input
        tuned.model.embeddings.word_embeddings.weight.detach().numpy(),
        minilm.model.embeddings.word_embeddings.weight.detach().numpy(),
    )
