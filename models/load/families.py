"""What each encoder family's attention looks like, and what the engine must know to read it.

One `FamilyInfo` per family (a table, not if-chains): which `config.model_type` values
belong to it, the form of `output.attentions` under eager attention (transformers 5.23),
how its tokenizer names the special tokens, how many positions its embeddings spend
before the first token, and which projections hold each layer's queries and keys.

  family       attention output (per layer, eager)               special tokens
  bert         [B, H, N, N] dense, rows sum to 1                  [CLS] A [SEP] B [SEP]
  roberta      [B, H, N, N] dense                                 <s> A </s></s> B </s>
  distilbert   [B, H, N, N] dense; no token_type_ids              [CLS] A [SEP] B [SEP]
  albert       [B, H, N, N] dense; one layer's weights shared     [CLS] A [SEP] B [SEP]
  electra      [B, H, N, N] dense                                 [CLS] A [SEP] B [SEP]
  xlm-roberta  [B, H, N, N] dense                                 <s> A </s></s> B </s>
  deberta-v2   [B, H, N, N] dense; content + relative position    [CLS] A [SEP] B [SEP]
  mpnet        [B, H, N, N] dense; relative position bias         <s> A </s></s> B </s>
  modernbert   [B, H, N, N]; local layers 0 outside their window  [CLS] A [SEP] B [SEP]
  bigbird      [B, H, N', N'] padded to whole blocks; block-sparse
               rows sum to < 1 (see models/extract/bigbird.py)            [CLS] A [SEP] B [SEP]
  longformer   [B, H, N', x + w + 1] banded (models/extract/banded.py)    <s> A </s></s> B </s>
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import get_args

from i18n import N_
from models.load.registry import Family
from models.types import AttentionForm

FAMILY_NAMES: tuple[Family, ...] = get_args(Family)
DENSE_TOKEN_CAP = 1024  # a longer input's N×N attention per layer and head gets too big to keep

QK_POSITIONS = N_("its attention scores add position terms to q·k, so q and k alone do not give them")

ERR_NO_ATTENTION = N_("Model type '{model_type}' cannot show attention: {reason}")
NO_ATTENTION: dict[str, str] = {  # model types known to have no attention weights to return
    "fnet": N_("FNet mixes tokens with a Fourier transform and has no attention weights."),
}


@dataclass(frozen=True)
class FamilyInfo:
    """One encoder family (see the module table).

    model_types     config.model_type values that load as this family
    form            dense | local_global (some layers windowed) | block_sparse | banded
    attention       what output.attentions holds, in words
    cls_token, sep_token, layout   the tokenizer's special tokens and where they go
    position_offset positions the embeddings use before the first token (RoBERTa-style: 2)
    token_cap       most tokens the app feeds this family
    query_key       name suffixes of the query and key projections (hooked for LSH), or None
    query_key_note  why queries/keys are not captured, when query_key is None
    """

    family: Family
    label: str
    model_types: tuple[str, ...]
    form: AttentionForm
    attention: str
    cls_token: str
    sep_token: str
    layout: str
    position_offset: int = 0
    token_cap: int = DENSE_TOKEN_CAP
    query_key: tuple[str, str] | None = (".attention.self.query", ".attention.self.key")
    query_key_note: object = ""  # a LazyText (translated where it is shown), "" when not needed
    notes: str = ""


BERT_LAYOUT = "[CLS] A [SEP]  ·  [CLS] A [SEP] B [SEP]"
ROBERTA_LAYOUT = "<s> A </s>  ·  <s> A </s></s> B </s>"
DENSE = "[1, H, N, N], rows sum to 1"

BERT_STYLE = dict(cls_token="[CLS]", sep_token="[SEP]", layout=BERT_LAYOUT)
ROBERTA_STYLE = dict(cls_token="<s>", sep_token="</s>", layout=ROBERTA_LAYOUT, position_offset=2)


def _family(family: Family, name: str, style: dict, form: AttentionForm = "dense", attention: str = DENSE, **extra):
    """One table entry; its config model_type is the family's name unless `model_types` says otherwise."""
    model_types = extra.pop("model_types", (family,))
    return FamilyInfo(family, name, model_types, form, attention, **style, **extra)


FAMILIES: dict[Family, FamilyInfo] = {
    info.family: info
    for info in (
        _family("bert", "BERT", BERT_STYLE),
        _family("roberta", "RoBERTa", ROBERTA_STYLE, notes="Byte-level BPE: a word-initial token starts with Ġ."),
        _family(
            "distilbert",
            "DistilBERT",
            BERT_STYLE,
            query_key=(".attention.q_lin", ".attention.k_lin"),
            notes="Takes no token_type_ids: the two sentences of a pair share one segment embedding.",
        ),
        _family(
            "albert",
            "ALBERT",
            BERT_STYLE,
            query_key=(".attention.query", ".attention.key"),
            notes="All layers share one set of weights (the same module runs L times); SentencePiece ▁ words.",
        ),
        _family("electra", "ELECTRA", BERT_STYLE, notes="The discriminator is a BERT-shaped encoder."),
        _family("xlm-roberta", "XLM-RoBERTa", ROBERTA_STYLE, notes="SentencePiece ▁ words, 250k-token vocabulary."),
        _family(
            "deberta-v2",
            "DeBERTa-v2/v3",
            BERT_STYLE,
            query_key=None,
            query_key_note=QK_POSITIONS,
            notes="Disentangled attention: content-to-position and position-to-content terms join q·k.",
        ),
        _family(
            "mpnet",
            "MPNet",
            ROBERTA_STYLE,
            query_key=None,
            query_key_note=QK_POSITIONS,
            notes="A learned relative position bias is added to every head's scores; takes no token_type_ids.",
        ),
        _family(
            "modernbert",
            "ModernBERT",
            BERT_STYLE,
            form="local_global",
            attention="[1, H, N, N], rows sum to 1; a local layer is 0 beyond local_attention / 2 tokens",
            query_key=None,
            query_key_note=N_("its queries and keys get rotary positions inside the attention, after the projection"),
            notes=(
                "Every global_attn_every_n_layers-th layer (the first included) is global, the others "
                "slide a local_attention window (models.sparse.own_pattern.layer_windows); takes no token_type_ids."
            ),
        ),
        _family(
            "bigbird",
            "BigBird",
            BERT_STYLE,
            model_types=("big_bird",),
            form="block_sparse",
            attention="[1, H, N', N'] padded to whole blocks; in block_sparse mode rows sum to less than 1 "
            "(the engine adds back what is left out, see models.extract.bigbird)",
            notes=(
                "Block-sparse only above (5 + 2·num_random_blocks)·block_size tokens; shorter inputs "
                "run full attention, as transformers does."
            ),
        ),
        _family(
            "longformer",
            "Longformer",
            ROBERTA_STYLE,
            form="banded",
            attention="[1, H, N', x + w + 1] banded plus global_attentions; "
            "rebuilt or kept banded (models.extract.banded)",
            token_cap=4096,
            notes="Sliding window per layer plus chosen global tokens.",
        ),
    )
}

MODEL_TYPES: dict[str, Family] = {
    model_type: info.family for info in FAMILIES.values() for model_type in info.model_types
}

# every query/key suffix pair of the table, for code that hooks projections by name
QUERY_KEY_SUFFIXES: tuple[tuple[str, str], ...] = tuple(
    dict.fromkeys(info.query_key for info in FAMILIES.values() if info.query_key is not None)
)


def family_info(family: Family) -> FamilyInfo:
    """The table entry of `family`."""
    return FAMILIES[family]


def family_of(model_type: str) -> Family:
    """The family of a config.model_type, or ValueError with a message that says why not."""
    if model_type in MODEL_TYPES:
        return MODEL_TYPES[model_type]
    if model_type in NO_ATTENTION:
        raise ValueError(ERR_NO_ATTENTION.format(model_type=model_type, reason=NO_ATTENTION[model_type]))
    families = ", ".join(info.label for info in FAMILIES.values())
    raise ValueError(
        N_("Model type '{model_type}' is not supported; supported families are {families}.").format(
            model_type=model_type, families=families
        )
    )


def max_tokens_of(family: Family, max_position_embeddings: int, tokenizer_limit: int | None) -> int:
    """The most tokens to feed: the position table less its offset, the tokenizer's limit and
    the family's cap, whichever is smallest."""
    info = FAMILIES[family]
    limits = [max_position_embeddings - info.position_offset, info.token_cap]
    if tokenizer_limit is not None and tokenizer_limit < 10**6:  # "unlimited" tokenizers say 1e30
        limits.append(int(tokenizer_limit))
    return min(limits)


def accepts(model, argument: str) -> bool:
    """Whether `model.forward` takes `argument` (token_type_ids differ by family)."""
    return argument in inspect.signature(model.forward).parameters


def forward_inputs(model, encoding) -> dict:
    """input_ids and attention_mask, plus token_type_ids where the model's forward takes them
    and they fit its token-type table (RoBERTa-style tables hold a single type)."""
    inputs = {"input_ids": encoding["input_ids"], "attention_mask": encoding["attention_mask"]}
    types = encoding.get("token_type_ids")
    if types is not None and accepts(model, "token_type_ids"):
        table = getattr(model.config, "type_vocab_size", None)
        if table is None or int(types.max()) < table:
            inputs["token_type_ids"] = types
    return inputs
