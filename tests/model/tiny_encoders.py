"""The model tier's shared builders: tiny random encoders from a config (over the embedded
MiniLM's 30,522-id WordPiece vocabulary, or a tiny_families tokenizer's), wrapped as a
LoadedModel without a folder, and altered copies of a loaded model.

  tiny_config(BertConfig, seed=3)            3 layers × 4 heads, 32 wide; the seed is set first
  tiny_loaded(model, tokenizer, "bert")      eager attention, eval mode, a registry-less spec
  tiny_bert_config(tokenizer)                a BertConfig over a tiny_families tokenizer
  save_bert_classifier(folder)               a saved 3-class BertForSequenceClassification
  with_layer_redrawn(loaded, layer, folder)  a saved copy with one layer's query and key redrawn

A test file binds its own seed and limits once: `_config = partial(tiny_config, seed=3)`.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch
from tiny_families import build_tokenizer
from transformers import BertConfig, BertForSequenceClassification

from models.load.loading import LoadedModel, load_model
from models.load.registry import ModelSpec

VOCAB = 30522  # the embedded MiniLM's tokenizer
HEADS, HIDDEN, LAYERS = 4, 32, 3


def tiny_config(cls, seed: int, max_positions: int = 128, **extra):
    """`cls` (a transformers config class) for a 3-layer, 4-head, 32-wide model, after seeding
    torch with `seed` (the model built from it next gets the same random weights every run);
    `extra` adds to or overrides those fields (vocab_size, num_hidden_layers, ...)."""
    torch.manual_seed(seed)
    sizes = dict(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=64,
        max_position_embeddings=max_positions,
    )
    return cls(**{**sizes, **extra})


def tiny_loaded(model, tokenizer, family, window=None, max_tokens: int = 120, description: str = "tiny") -> LoadedModel:
    """`model` as the loader would hand it over: eager attention, eval mode, key tiny-<family>."""
    spec = ModelSpec(
        key=f"tiny-{family}", source="local", family=family, max_tokens=max_tokens, description=description
    )
    model.config._attn_implementation = "eager"
    return LoadedModel(spec.key, spec, model.eval(), tokenizer, window)


def tiny_bert_config(tokenizer, **extra) -> BertConfig:
    """A 3-layer, 4-head BERT config over `tokenizer`'s vocabulary, with peaked attention;
    `extra` goes into the config (num_labels=3)."""
    return BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=64,
        max_position_embeddings=130,
        initializer_range=0.3,  # peaked, input-dependent attention
        pad_token_id=tokenizer.pad_token_id,
        **extra,
    )


def save_bert_classifier(folder: Path) -> Path:
    """Save a random tiny BertForSequenceClassification (3 classes) over the tiny_families BERT
    tokenizer, and that tokenizer, to `folder` (safetensors); return it."""
    tokenizer = build_tokenizer("bert")
    torch.manual_seed(3)
    BertForSequenceClassification(tiny_bert_config(tokenizer, num_labels=3)).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def with_layer_redrawn(loaded: LoadedModel, layer: int, folder: Path) -> LoadedModel:
    """A copy of `loaded` saved to `folder` with one layer's query and key weights drawn anew
    (seeded), loaded back by path: the same model but for that layer's attention."""
    model = copy.deepcopy(loaded.model)
    torch.manual_seed(123)
    attention = model.encoder.layer[layer].attention.self
    for linear in (attention.query, attention.key):
        torch.nn.init.normal_(linear.weight, std=0.5)
    model.save_pretrained(folder)
    loaded.tokenizer.save_pretrained(folder)
    return load_model(str(folder))


def reference_longformer_attention(attn, hidden: torch.Tensor, window: int, global_positions) -> torch.Tensor:
    """[H, N, N] one Longformer self-attention layer's weights, recomputed by hand (no
    banded kernel): a query sees keys within window/2 and every global key; the global
    keys' columns come from the global projections' softmax."""
    n = hidden.shape[0]
    heads, dim = attn.num_heads, attn.head_dim

    def split(x):
        return x.view(n, heads, dim).transpose(0, 1)  # [H, N, d]

    distance = (torch.arange(n)[:, None] - torch.arange(n)[None, :]).abs()
    allowed = distance <= window // 2
    allowed[:, list(global_positions)] = True
    scores = split(attn.query(hidden)) @ split(attn.key(hidden)).transpose(1, 2) / math.sqrt(dim)
    probs = scores.masked_fill(~allowed, float("-inf")).softmax(-1)
    global_scores = split(attn.query_global(hidden)) @ split(attn.key_global(hidden)).transpose(1, 2)
    global_probs = (global_scores / math.sqrt(dim)).softmax(-1)
    for position in global_positions:
        probs[:, position] = global_probs[:, position]
    return probs
