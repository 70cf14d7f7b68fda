"""Tiny random float64 models of tiny_families, wrapped as LoadedModel, with random biases and
LayerNorm gains so that every bias term of the context-mixing measures counts."""

from __future__ import annotations

import torch
from tiny_families import build_model, build_tokenizer

from models.load.loading import LoadedModel
from models.load.registry import ModelSpec


def tiny_loaded(family: str = "bert", **overrides) -> LoadedModel:
    """A float64 tiny `family` model (peaked attention: initializer_range 0.3) and its tokenizer."""
    tokenizer = build_tokenizer(family)
    model = build_model(family, tokenizer, initializer_range=0.3, **overrides).double()
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("bias"):
                parameter.copy_(0.2 * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
            elif "LayerNorm.weight" in name:
                parameter.copy_(1 + 0.3 * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
    spec = ModelSpec(key=f"tiny-{family}", source="local", family=family, max_tokens=120, description="tiny")
    return LoadedModel(spec.key, spec, model, tokenizer, None)
