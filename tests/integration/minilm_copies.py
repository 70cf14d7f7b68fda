"""Altered copies of the embedded MiniLM, saved as model folders the loader and the CLI read."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer

from models.load.loading import embedded_model_path


def save_perturbed_minilm(folder: Path, layer: int, seed: int = 4) -> Path:
    """MiniLM with layer `layer`'s (0-based) query, key and value weights replaced by small
    seeded noise and their biases zeroed (that layer's attention changes, the others stay),
    saved with its tokenizer into `folder`."""
    model = AutoModel.from_pretrained(str(embedded_model_path()), attn_implementation="eager", use_safetensors=True)
    generator = torch.Generator().manual_seed(seed)
    attention = model.encoder.layer[layer].attention.self
    with torch.no_grad():
        for linear in (attention.query, attention.key, attention.value):
            linear.weight.copy_(torch.randn(linear.weight.shape, generator=generator) * 0.05)
            linear.bias.zero_()
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(embedded_model_path())).save_pretrained(folder)
    return folder
