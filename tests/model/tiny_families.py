"""Tiny random models of every encoder family, with tokenizers built here, offline.

Each family gets its own tokenizer class (transformers 5 builds them from an in-memory
vocabulary), so special tokens are named and placed by the family's own code:
  WordPiece (BERT, DistilBERT, ELECTRA, MPNet): a vocabulary of the test words, letters and
      ##letters;
  Unigram, SentencePiece-style ▁ (ALBERT, XLM-RoBERTa, DeBERTa-v2, BigBird): ▁words and letters;
  byte-level BPE (RoBERTa, Longformer): trained here with the tokenizers library on the test
      sentences; ModernBERT's own tokenizer is a plain tokenizers BPE with a [CLS]/[SEP]
      template, built the same way.
Models are random (seeded), 32 wide, 4 heads, eval mode, saved with safetensors.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoConfig, AutoModel

SENTENCES = (
    "the quick brown fox jumps over the lazy dog , and then it runs far away into the dark forest .",
    "a small test .",
    "the cat sat on the mat , and the dog ran after it because it was hungry .",
)
LONG_SENTENCE = " ".join(SENTENCES[0] for _ in range(3))  # > 36 tokens: BigBird runs block-sparse
WORDS = sorted({word for sentence in SENTENCES for word in sentence.split()})
LETTERS = list(string.ascii_lowercase + string.digits + ".,!?'")
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]", "<mask>"]
HIDDEN = dict(hidden_size=32, num_attention_heads=4, intermediate_size=64, num_hidden_layers=3)


def _wordpiece(class_name: str):
    vocab = SPECIALS + WORDS + LETTERS + ["##" + letter for letter in LETTERS]
    return getattr(transformers, class_name)(vocab={token: i for i, token in enumerate(dict.fromkeys(vocab))})


def _unigram(class_name: str):
    pieces = [(token, 0.0) for token in SPECIALS] + [("▁" + word, -1.0) for word in WORDS]
    pieces += [("▁", -3.0)] + [(letter, -5.0) for letter in LETTERS]
    return getattr(transformers, class_name)(vocab=pieces)


def _trained_bpe(specials: list[str]) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(SENTENCES, trainer)
    return tokenizer


def _roberta_bpe(class_name: str):
    trained = json.loads(_trained_bpe(["<s>", "<pad>", "</s>", "<unk>", "<mask>"]).to_str())["model"]
    merges = [tuple(merge) if isinstance(merge, list) else tuple(merge.split(" ")) for merge in trained["merges"]]
    return getattr(transformers, class_name)(vocab=trained["vocab"], merges=merges)


def _modernbert_bpe(_class_name: str):
    tokenizer = _trained_bpe(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        unk_token="[UNK]",
        mask_token="[MASK]",
    )


# family → (config.model_type, tokenizer builder, tokenizer class, extra config)
FAMILY_SETUP = {
    "bert": ("bert", _wordpiece, "BertTokenizer", {}),
    "distilbert": ("distilbert", _wordpiece, "DistilBertTokenizer", {}),
    "electra": ("electra", _wordpiece, "ElectraTokenizer", dict(embedding_size=16)),
    "mpnet": ("mpnet", _wordpiece, "MPNetTokenizer", {}),
    "albert": ("albert", _unigram, "AlbertTokenizer", dict(embedding_size=16)),
    "xlm-roberta": ("xlm-roberta", _unigram, "XLMRobertaTokenizer", {}),
    "deberta-v2": (
        "deberta-v2",
        _unigram,
        "DebertaV2Tokenizer",
        dict(relative_attention=True, pos_att_type=["p2c", "c2p"], position_biased_input=False, position_buckets=16),
    ),
    "bigbird": (
        "big_bird",
        _unigram,
        "BigBirdTokenizer",
        dict(block_size=4, num_random_blocks=2, attention_type="block_sparse"),
    ),
    "roberta": ("roberta", _roberta_bpe, "RobertaTokenizer", {}),
    "longformer": ("longformer", _roberta_bpe, "LongformerTokenizer", dict(attention_window=[4, 8, 4])),
    "modernbert": (
        "modernbert",
        _modernbert_bpe,
        None,
        dict(num_hidden_layers=4, local_attention=8, global_attn_every_n_layers=3),
    ),
}
FAMILIES = tuple(FAMILY_SETUP)


def build_tokenizer(family: str):
    _model_type, builder, class_name, _extra = FAMILY_SETUP[family]
    tokenizer = builder(class_name)
    tokenizer.model_max_length = 10**30  # like many hub tokenizers: "no limit" (the positions decide)
    return tokenizer


def build_model(family: str, tokenizer, max_positions: int = 130, seed: int = 0, **overrides):
    """A random tiny model of `family` for `tokenizer` (eval mode, eager attention); `overrides`
    go into its config (initializer_range=0.3 gives peaked, input-dependent attention)."""
    model_type, _builder, _class_name, extra = FAMILY_SETUP[family]
    sizes = dict(HIDDEN)
    if model_type == "distilbert":
        sizes = dict(dim=32, n_heads=4, hidden_dim=64, n_layers=3)
    special_ids = {
        f"{name}_token_id": getattr(tokenizer, f"{name}_token_id")
        for name in ("pad", "cls", "sep", "bos", "eos")
        if getattr(tokenizer, f"{name}_token_id", None) is not None
    }
    config = AutoConfig.for_model(
        model_type,
        vocab_size=len(tokenizer),
        max_position_embeddings=max_positions,
        **{**sizes, **extra, **special_ids, **overrides},
    )
    torch.manual_seed(seed)
    return AutoModel.from_config(config, attn_implementation="eager").eval()


def save_family(family: str, folder: Path, max_positions: int = 130, **overrides) -> Path:
    """Save a tiny `family` model and its tokenizer to `folder` (safetensors); return it."""
    tokenizer = build_tokenizer(family)
    build_model(family, tokenizer, max_positions, **overrides).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
