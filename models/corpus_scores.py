"""Every per-head score of every sentence in a padded batch, in one vectorised pass.

The same numbers as models.analysis.analyze() on each sentence alone (tested to 1e-6),
computed on the padded batch without ever letting a padding token in: B sentences,
L layers, H heads, N the padded length, n_b the real length of sentence b.

  attention   L tensors [B, H, N, N] float32; sentence b's real block is [:, :n_b, :n_b]
              (right padding).  Rows of real queries put 0 on padding keys (eager
              BERT's mask; checked in the tests), and padding query rows are never read.
  TokenMasks  [B, N] bool masks and [B] positions saying which tokens are real, special,
              [CLS], [SEP] or punctuation.

Scoring a whole batch at once matters: analyze() on one short sentence costs about as
much as that sentence's share of a batched forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from models.scores import SCORE_NAMES

OFFSETS = (-1, 0, 1)  # previous token, the token itself, next token
KEY_CLASSES = ("cls_first", "cls_all", "sep", "punct", "content")


@dataclass(frozen=True)
class TokenMasks:
    """What each position of a padded batch is.  All arrays are read-only numpy.

    valid      [B, N] bool  a real token (not padding)
    special    [B, N] bool  the tokenizer's special-tokens mask (False on padding)
    cls        [B, N] bool  every cls token ([CLS], <s>)
    sep        [B, N] bool  every sep token ([SEP], </s>)
    punct      [B, N] bool  "." and "," tokens (models.scores.punctuation_positions)
    cls_first  [B] int      position of the first cls token, −1 when there is none
    """

    valid: np.ndarray
    special: np.ndarray
    cls: np.ndarray
    sep: np.ndarray
    punct: np.ndarray
    cls_first: np.ndarray


@dataclass(frozen=True)
class SentenceScores:
    """Scores of B sentences (one view), float64.

    scores         name → [B, L, H] (models.scores.SCORE_NAMES)
    partition      [B, L, H, 4] to-CLS / to-SEP / near-diagonal / rest, each row summing to 1
    layer_summary  [B, L] cls_out × [CLS] breadth averaged over heads (Analysis.layer_summary)
    """

    scores: dict[str, np.ndarray]
    partition: np.ndarray
    layer_summary: np.ndarray

    @property
    def size(self) -> int:
        return self.partition.shape[0]

    @staticmethod
    def concat(parts: Sequence["SentenceScores"]) -> "SentenceScores":
        return SentenceScores(
            scores={name: np.concatenate([p.scores[name] for p in parts]) for name in SCORE_NAMES},
            partition=np.concatenate([p.partition for p in parts]),
            layer_summary=np.concatenate([p.layer_summary for p in parts]),
        )


def _shifted(values: torch.Tensor, offset: int) -> torch.Tensor:
    """[..., N] → [..., N] with out[..., i] = values[..., i + offset] (False/0 outside)."""
    out = torch.zeros_like(values)
    n = values.shape[-1]
    if offset >= 0:
        out[..., : n - offset] = values[..., offset:]
    else:
        out[..., -offset:] = values[..., : n + offset]
    return out


def _offset_values(attention: torch.Tensor, offset: int) -> torch.Tensor:
    """[B, H, N, N] → [B, H, N]: A[b, h, i, i + offset], 0 where i + offset is outside 0..N−1."""
    diagonal = torch.diagonal(attention, offset=offset, dim1=-2, dim2=-1)  # [B, H, N − |offset|]
    out = attention.new_zeros(attention.shape[:-1])
    n = attention.shape[-1]
    if offset >= 0:
        out[..., : n - offset] = diagonal
    else:
        out[..., -offset:] = diagonal
    return out


def _normalised_entropy(probs: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """−Σ p ln p over the last axis / ln size (0 where size < 2): probs [B, H, N], size [B] → [B, H]."""
    entropy = torch.special.entr(probs).sum(-1)
    norm = torch.log(size.clamp_min(2).double())[:, None]
    return torch.where((size >= 2)[:, None], entropy / norm, torch.zeros_like(entropy))


def score_batch(attention: Sequence[torch.Tensor], masks: TokenMasks, exclude_special: bool = False) -> SentenceScores:
    """All scores, the mass partition and the [CLS]-summary value of every sentence.

    attention: L tensors [B, H, N, N] (see the module docstring).  Nothing is modified.
    """
    valid, special = torch.tensor(masks.valid), torch.tensor(masks.special)  # copies: the masks are read-only
    content = valid & ~special
    query = content if exclude_special else valid  # [B, N] the rows averaged over
    rows = query.sum(-1).double()  # [B]
    lengths = valid.sum(-1)  # [B] n_b
    batch = valid.shape[0]
    has_cls = torch.tensor(masks.cls_first >= 0)
    cls_at = torch.tensor(np.maximum(masks.cls_first, 0))
    cls_first = torch.zeros_like(valid)
    cls_first[torch.arange(batch), cls_at] = has_cls
    classes = torch.stack(
        [cls_first, torch.tensor(masks.cls), torch.tensor(masks.sep), torch.tensor(masks.punct), content],
        dim=-1,
    ).float()  # [B, N, 5] key classes
    key_ok = {offset: _shifted(valid, offset) for offset in OFFSETS}  # key i + offset is real
    near_ok = {offset: _shifted(content, offset) for offset in OFFSETS}  # ... and not special
    content_count = content.sum(-1)  # [B]
    log_length = torch.log(lengths.clamp_min(2).double())[:, None]  # entropy is normalised by ln n_b
    picked = torch.arange(batch)

    def mean_rows(values: torch.Tensor) -> torch.Tensor:  # [B, H, N, ...] → [B, H, ...]
        mask = query[:, None, :] if values.dim() == 3 else query[:, None, :, None]
        total = torch.where(mask, values, torch.zeros((), dtype=values.dtype)).sum(2)
        return total / (rows[:, None] if values.dim() == 3 else rows[:, None, None])

    per_layer: dict[str, list[torch.Tensor]] = {name: [] for name in (*SCORE_NAMES, "partition", "summary")}
    for weights in attention:  # [B, H, N, N]
        mass = torch.matmul(weights, classes[:, None]).double()  # [B, H, N, 5]
        offsets = {o: torch.where(key_ok[o][:, None], _offset_values(weights, o), 0).double() for o in OFFSETS}
        per_layer["cls"].append(mean_rows(mass[..., 0]))
        per_layer["sep"].append(mean_rows(mass[..., 2]))
        per_layer["punct"].append(mean_rows(mass[..., 3]))
        per_layer["diagonal"].append(mean_rows(offsets[0]))
        per_layer["prev"].append(mean_rows(offsets[-1]))
        per_layer["next"].append(mean_rows(offsets[1]))
        row_entropy = torch.special.entr(weights).sum(-1).double()  # [B, H, N]: −Σ p ln p, 0 ln 0 = 0
        per_layer["entropy"].append(torch.where((lengths >= 2)[:, None], mean_rows(row_entropy) / log_length, 0.0))

        cls_out = torch.where(has_cls[:, None], mass[picked, :, cls_at, 4], 0.0)  # [B, H]
        per_layer["cls_out"].append(cls_out)
        cls_row = weights[picked, :, cls_at, :].double() * content[:, None, :]  # [B, H, N]
        total = cls_row.sum(-1, keepdim=True)
        probs = torch.where(total > 0, cls_row / total.clamp_min(1e-300), 0.0)
        breadth = torch.where(has_cls[:, None], _normalised_entropy(probs, content_count), 0.0)
        per_layer["summary"].append((cls_out * breadth).mean(-1))  # [B]

        near = sum(torch.where(near_ok[o][:, None], offsets[o], 0.0) for o in OFFSETS)
        parts = torch.stack([mass[..., 1], mass[..., 2], near], dim=-1)  # [B, H, N, 3]
        rest = (1.0 - parts.sum(-1, keepdim=True)).clamp_min(0.0)
        parts = torch.cat([parts, rest], dim=-1)
        parts = parts / parts.sum(-1, keepdim=True)
        per_layer["partition"].append(mean_rows(parts))  # [B, H, 4]

    stacked = {name: torch.stack(values, dim=1).numpy() for name, values in per_layer.items()}
    return SentenceScores(
        scores={name: stacked[name] for name in SCORE_NAMES},
        partition=stacked["partition"],
        layer_summary=stacked["summary"],
    )


def sentence_scores_from_analysis(analysis) -> SentenceScores:
    """One sentence's models.analysis.Analysis as a SentenceScores of size 1."""
    return SentenceScores(
        scores={name: np.asarray(analysis.scores[name], dtype=np.float64)[None] for name in SCORE_NAMES},
        partition=np.asarray(analysis.partition, dtype=np.float64)[None],
        layer_summary=np.asarray(analysis.layer_summary, dtype=np.float64)[None],
    )
