"""The closed sets that cross the model side's packages (and reach viz/ and ui/), in one
place, and the typed notice every result carries.  Each set's tuple of values comes from
the type (`get_args`), so no list of names is written twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Family = Literal[
    "bert",
    "longformer",
    "roberta",
    "distilbert",
    "albert",
    "electra",
    "xlm-roberta",
    "deberta-v2",
    "mpnet",
    "modernbert",
    "bigbird",
]  # what each one's attention looks like: models/load/families.py
Source = Literal["embedded", "hub", "local"]  # where a registry model's weights come from
AttentionForm = Literal["dense", "local_global", "block_sparse", "banded"]
DeviceChoice = Literal["auto", "cpu", "cuda"]

View = Literal["weight", "norm"]  # attention weights α, or what is moved: α·‖f(x)‖ (models/score/norms.py)
Unit = Literal["tokens", "words"]
ScoreName = Literal["cls", "sep", "diagonal", "prev", "next", "punct", "entropy", "cls_out"]
PartName = Literal["to_cls", "to_sep", "near_diagonal", "rest"]
Role = Literal["local", "cls", "sep", "punct", "broad", "mixed"]
Level = Literal["info", "warning"]
Measure = Literal[
    "attention",
    "attention_norm",
    "attention_norm_res",
    "attention_norm_res_ln",
    "globenc",
    "alti",
    "value_zeroing",
]

NoticeKind = Literal[
    "truncated",  # the input was cut to the model's token limit
    "markers",  # typed special-token markers were read as text
    "pair_split",  # a typed [SEP] split the text into a pair
    "block_sparse",  # BigBird ran block-sparse (or fell back to full attention)
    "vocabulary",  # the model's vocabulary cannot read much of the input ([UNK])
    "comparison",  # what a comparison of two models could not align
]
NOTICE_KINDS: tuple[NoticeKind, ...] = get_args(NoticeKind)
LEVELS: tuple[Level, ...] = get_args(Level)


@dataclass(frozen=True)
class Notice:
    """Something the user should know about a result: what (`kind`), how loud (`level`) and
    the message (a LazyText, rendered in the language active where it is shown).  Reads as
    its message: str(notice), `"text" in notice`."""

    kind: NoticeKind
    level: Level
    message: object

    def __str__(self) -> str:
        return str(self.message)

    def __contains__(self, text: str) -> bool:
        return text in str(self)
