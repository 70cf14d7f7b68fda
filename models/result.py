"""The one result type that crosses from `models/` to `viz/`, `app.py` and `cli.py`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from models.extract.banded import BandedLayer, Layer
from models.load.registry import Family
from models.sparse.own_pattern import OwnPattern
from models.types import Notice


@dataclass(frozen=True)
class ModelInfo:
    key: str
    family: Family
    layers: int
    heads: int
    window: int | None  # Longformer attention window (full band width), None when dense
    description: str

    @classmethod
    def of(cls, loaded) -> ModelInfo:
        """What a LoadedModel (models.load.loading) says about itself."""
        return cls(loaded.name, loaded.family, loaded.layers, loaded.heads, loaded.window, loaded.spec.description)

    def as_json(self) -> dict:
        """The "model" object of the JSON documents (analyze, corpus)."""
        return {name: getattr(self, name) for name in ("key", "family", "layers", "heads", "window")}


@dataclass(frozen=True, eq=False)
class AttentionResult:
    """Every layer's and head's attention for one input, plus what is needed to read it.

    N is the number of tokens fed to the model (after truncation); L layers; H heads.
    A[i, j] is the attention *from* query token i *to* key token j; each row sums to 1.

    Fields:
      text, text_b      the input as given (text_b is None for a single sentence)
      tokens            [N] token strings, special tokens included
      spans             [N] (start, end) character span of each token: into `text` for
                        segment 0 (and for a pair split at a typed [SEP]), into `text_b` for
                        segment 1 of an explicit pair; (0, 0) for special tokens
      segment_ids       [N] 0 for the first sentence, 1 for the second of a pair
      special_mask      [N] bool, from the tokenizer's special-tokens mask
      cls_positions     positions of the tokenizer's cls token (BERT [CLS], RoBERTa <s>)
      sep_positions     positions of the tokenizer's sep token (BERT [SEP], RoBERTa </s>)
      global_positions  Longformer global tokens (ascending); () for dense models
      truncated         True when the input was cut to the model's limit
      typed_markers     special markers the user typed and the extractor removed, e.g. ("[CLS]", "[SEP]")
      notices           typed messages for the user (models.types.Notice: kind, level, message)
      model             what produced the attention
      layer_attention   L read-only float32 arrays [H, N, N] (one per layer, not copied), or
                        for long Longformer inputs L models.extract.banded.BandedLayer (no N×N)
      queries, keys     L read-only float32 arrays [H, N, d]: each layer's query and key
                        projections (None for banded results, and for families whose scores
                        are not q·k alone: models.load.families.FamilyInfo.query_key_note)
      word_ids          [N] the tokenizer's word index of each token within its segment
                        (None for special tokens); a word is (segment_ids[i], word_ids[i]);
                        for BertJapaneseTokenizer the MeCab words (models/compare/alignment.py)
      value_norms       [L, H, N] float32, read-only: ‖f_h(x_j)‖ = ‖(x_j W_V^h + b_V^h) W_O^h‖,
                        the size of what head h moves from token j (Kobayashi et al. 2020);
                        None when the model's family has no capture entry (models.score.norms)
      global_value_norms  [L, H, N] float32, read-only, Longformer only: the same through
                        `value_global`, which the global tokens' own rows use; None otherwise
      pattern           the model's own attention pattern on this input: per-layer windows,
                        BigBird's block-sparse note (models.sparse.own_pattern.OwnPattern)
      unk_share         share of the content (non-special) tokens that are the tokenizer's
                        unknown token ([UNK]); a notice says so from 20% on (models/load/vocab_check.py)
    """

    text: str
    text_b: str | None
    tokens: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    segment_ids: tuple[int, ...]
    special_mask: np.ndarray  # [N] bool
    cls_positions: tuple[int, ...]
    sep_positions: tuple[int, ...]
    global_positions: tuple[int, ...]
    truncated: bool
    typed_markers: tuple[str, ...]
    notices: tuple[Notice, ...]
    model: ModelInfo
    layer_attention: tuple[Layer, ...]  # L × [H, N, N] or L × BandedLayer
    queries: tuple[np.ndarray, ...] | None = None  # L × [H, N, d]
    keys: tuple[np.ndarray, ...] | None = None  # L × [H, N, d]
    word_ids: tuple[int | None, ...] = ()
    value_norms: np.ndarray | None = None  # [L, H, N]
    global_value_norms: np.ndarray | None = None  # [L, H, N]
    pattern: OwnPattern | None = None
    unk_share: float = 0.0

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def is_banded(self) -> bool:
        """True when the attention stays in Longformer's banded form (long inputs)."""
        return isinstance(self.layer_attention[0], BandedLayer)

    @cached_property
    def attention(self) -> np.ndarray:
        """All layers stacked: float32 [L, H, N, N], read-only (built on first use).

        Not available for banded results: that is the N² array they avoid.
        """
        if self.is_banded:
            raise ValueError("This long input keeps its attention banded; read it through models.extract.banded.")
        stacked = np.stack(self.layer_attention)
        stacked.setflags(write=False)
        return stacked
