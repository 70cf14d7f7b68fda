"""Every per-head score of every sentence in a padded batch, in both views, in one pass.

The same numbers as models.score.analysis.analyze_views() on each sentence alone (tested to
1e-6), computed on the padded batch without ever letting a padding token in: B sentences,
L layers, H heads, N the padded length, n_b the real length of sentence b.

  attention   L tensors [B, H, N, N] float32; sentence b's real block is [:, :n_b, :n_b]
              (right padding).  Rows of real queries put 0 on padding keys (eager
              BERT's mask; checked in the tests), and padding query rows are never read.
  TokenMasks  [B, N] bool masks and [B] positions saying which tokens are real, special,
              [CLS], [SEP] or punctuation.
  KeyNorms    the norm view's ‖f_h(x_j)‖ per layer (models/score/norms.py), 0 on padding.

Views (models.score.sweep.View): "weight" reads the weights α; "norm" reads the row-normalised
T̃[i, j] = α_ij v_j / Z_i with v_j = ‖f_h(x_j)‖ and Z_i = Σ_k α_ik v_k.  T̃ is never built:
every score is a row sum, an entry or a row entropy, and each one of T̃ comes from the
weights in the same pass (the key columns of one matmul carry both views, and one
logarithm of α serves both entropies, as in models/score/sweep.py):

  Σ_{j∈C} T̃_ij  = Σ_{j∈C} α_ij v_j / Z_i                (class C of keys)
  T̃_i,i+o       = α_i,i+o v_i+o / Z_i
  H(T̃_i)        = ln Z_i + (Σ_j −α_ij ln α_ij · v_j − Σ_j α_ij v_j ln v_j) / Z_i

Building T̃ and scoring it like the weights cost 9% of the forward pass on the sample
corpus; this costs about a third of that.  Scoring a whole batch at once matters:
analyze() on one short sentence costs about as much as its share of a batched forward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from models.score.scores import SCORE_NAMES
from models.score.sweep import VIEWS, View

OFFSETS = (-1, 0, 1)  # previous token, the token itself, next token
KEY_CLASSES = ("cls_first", "cls_all", "sep", "punct", "content")
NORM_SIZES = ("words", "cls", "sep")  # whose mean ‖f(x)‖ the norm view keeps per layer
LOG_FLOOR = 1e-30


@dataclass(frozen=True)
class TokenMasks:
    """What each position of a padded batch is.  All arrays are read-only numpy.

    valid      [B, N] bool  a real token (not padding)
    special    [B, N] bool  the tokenizer's special-tokens mask (False on padding)
    cls        [B, N] bool  every cls token ([CLS], <s>)
    sep        [B, N] bool  every sep token ([SEP], </s>)
    punct      [B, N] bool  "." and "," tokens (models.score.scores.punctuation_positions)
    cls_first  [B] int      position of the first cls token, −1 when there is none
                            (a Longformer sentence's global token)
    """

    valid: np.ndarray
    special: np.ndarray
    cls: np.ndarray
    sep: np.ndarray
    punct: np.ndarray
    cls_first: np.ndarray


@dataclass(frozen=True, eq=False)
class KeyNorms:
    """What turns a batch's weights into the norm view, per layer.

    values         L tensors [B, H, N] float32: ‖f_h(x_j)‖ through the value projection
    global_values  L tensors [B, H, N] through Longformer's `value_global`, which the row of
                   each sentence's global token (TokenMasks.cls_first) uses; or None
    """

    values: Sequence[torch.Tensor]
    global_values: Sequence[torch.Tensor] | None = None


@dataclass(frozen=True)
class SentenceScores:
    """Scores of B sentences (one view), float64.

    scores         name → [B, L, H] (models.score.scores.SCORE_NAMES)
    partition      [B, L, H, 4] to-CLS / to-SEP / near-diagonal / rest, each row summing to 1
    layer_summary  [B, L] cls_out × [CLS] breadth averaged over heads (Analysis.layer_summary)
    norm_sizes     [B, L, 3] norm view only (else None): mean ‖f_h(x_j)‖ over heads of the
                   words (non-special tokens), of the first cls token and of the sep tokens
                   (0 where a sentence has none): why the two views differ
    """

    scores: dict[str, np.ndarray]
    partition: np.ndarray
    layer_summary: np.ndarray
    norm_sizes: np.ndarray | None = None

    @property
    def size(self) -> int:
        return self.partition.shape[0]

    @staticmethod
    def concat(parts: Sequence[SentenceScores]) -> SentenceScores:
        sizes = [p.norm_sizes for p in parts]
        return SentenceScores(
            scores={name: np.concatenate([p.scores[name] for p in parts]) for name in SCORE_NAMES},
            partition=np.concatenate([p.partition for p in parts]),
            layer_summary=np.concatenate([p.layer_summary for p in parts]),
            norm_sizes=np.concatenate(sizes) if all(s is not None for s in sizes) else None,
        )


@dataclass(frozen=True, eq=False)
class _Batch:
    """The masks as tensors, and what every layer's scoring reuses."""

    valid: torch.Tensor  # [B, N] bool
    content: torch.Tensor  # [B, N] bool: real and not special
    query: torch.Tensor  # [B, N] bool: the rows averaged over
    rows: torch.Tensor  # [B] float64: how many
    lengths: torch.Tensor  # [B] n_b
    has_cls: torch.Tensor  # [B] bool
    cls_at: torch.Tensor  # [B] first cls position (0 without one)
    picked: torch.Tensor  # [B] arange
    classes: torch.Tensor  # [B, N, 5] float32 KEY_CLASSES membership of each key
    key_ok: dict[int, torch.Tensor]  # offset → [B, N] key i + offset is real
    near_ok: dict[int, torch.Tensor]  # offset → [B, N] ... and not special

    @staticmethod
    def of(masks: TokenMasks, exclude_special: bool) -> _Batch:
        valid, special = torch.tensor(masks.valid), torch.tensor(masks.special)  # copies: the masks are read-only
        content = valid & ~special
        query = content if exclude_special else valid
        batch = valid.shape[0]
        has_cls = torch.tensor(masks.cls_first >= 0)
        cls_at = torch.tensor(np.maximum(masks.cls_first, 0))
        cls_first = torch.zeros_like(valid)
        cls_first[torch.arange(batch), cls_at] = has_cls
        classes = torch.stack(
            [cls_first, torch.tensor(masks.cls), torch.tensor(masks.sep), torch.tensor(masks.punct), content], dim=-1
        ).float()
        return _Batch(
            valid,
            content,
            query,
            query.sum(-1).double(),
            valid.sum(-1),
            has_cls,
            cls_at,
            torch.arange(batch),
            classes,
            {o: _shifted(valid, o) for o in OFFSETS},
            {o: _shifted(content, o) for o in OFFSETS},
        )


@dataclass(frozen=True, eq=False)
class _Reads:
    """The entries the scores read, one view (or a leading view axis V), float64.

    mass     [..., B, H, N, 5]  each row's mass on the KEY_CLASSES
    near     [..., B, H, N, 3]  the row's weight on keys i − 1, i, i + 1 (0 outside the sentence)
    entropy  [..., B, H, N]     H(row) in nats
    cls_row  [..., B, H, N]     the first cls token's own row
    """

    mass: torch.Tensor
    near: torch.Tensor
    entropy: torch.Tensor
    cls_row: torch.Tensor


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


def _key_columns(norms: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """[B, H, N, 7]: v_j · class(j) for the 5 KEY_CLASSES, v_j and v_j ln v_j (v = norms [B, H, N])."""
    return torch.cat(
        [
            norms[..., None] * classes[:, None],
            norms[..., None],
            (norms * torch.log(norms.clamp_min(LOG_FLOOR)))[..., None],
        ],
        dim=-1,
    )


def _moved(sums: torch.Tensor, entropy_v: torch.Tensor, near: torch.Tensor, near_norms: torch.Tensor):
    """The norm view's reads of R query rows, from sums over their keys.

    sums [B, H, R, 7] = Σ_j α_ij · _key_columns; entropy_v [B, H, R] = Σ_j −α_ij ln α_ij · v_j;
    near, near_norms [B, H, R, 3]: α and v at keys i − 1, i, i + 1.
    Returns (mass [B, H, R, 5], near [B, H, R, 3], entropy [B, H, R], 1 / Z [B, H, R]), float64;
    a row with Z = 0 reads 0 everywhere, as models.score.norms.row_normalised gives it.
    """
    sums = sums.double()
    total = sums[..., 5]
    inverse = torch.where(total > 0, 1.0 / total.clamp_min(1e-300), 0.0)
    entropy = torch.where(
        total > 0, torch.log(total.clamp_min(1e-300)) + (entropy_v.double() - sums[..., 6]) * inverse, 0.0
    )
    return sums[..., :5] * inverse[..., None], near * near_norms * inverse[..., None], entropy, inverse


def _layer_reads(
    weights: torch.Tensor, batch: _Batch, norms: torch.Tensor | None, global_norms: torch.Tensor | None
) -> _Reads:
    """One layer's reads [V, B, H, N, ...]: the weight view, then the norm view when norms are given."""
    size, heads, width, _ = weights.shape
    entr = torch.special.entr(weights)  # [B, H, N, N]: −α ln α (0 ln 0 = 0), shared by both views
    near = torch.stack(
        [torch.where(batch.key_ok[o][:, None], _offset_values(weights, o), 0) for o in OFFSETS], dim=-1
    ).double()  # [B, H, N, 3]
    cls_row = weights[batch.picked, :, batch.cls_at, :].double()  # [B, H, N]
    entropy = entr.sum(-1).double()
    if norms is None:
        mass = torch.matmul(weights, batch.classes[:, None]).double()
        return _Reads(mass[None], near[None], entropy[None], cls_row[None])

    columns = torch.cat(
        [batch.classes[:, None].expand(size, heads, width, len(KEY_CLASSES)), _key_columns(norms, batch.classes)],
        dim=-1,
    )
    sums = torch.matmul(weights, columns)  # [B, H, N, 12]: one matmul for both views' row sums
    near_norms = torch.stack([_shifted(norms, o) for o in OFFSETS], dim=-1).double()
    moved_mass, moved_near, moved_entropy, inverse = _moved(
        sums[..., 5:], (entr * norms[:, :, None, :]).sum(-1), near, near_norms
    )
    moved_cls_row = cls_row * norms * inverse[batch.picked, :, batch.cls_at][..., None]
    if global_norms is not None:  # each global token's own row weighs its keys through value_global
        rows = batch.picked[batch.has_cls], batch.cls_at[batch.has_cls]
        own = weights[rows[0], :, rows[1]]  # [G, H, N]
        own_norms = global_norms[rows[0]]
        own_sums = torch.einsum("ghj,ghjc->ghc", own, _key_columns(own_norms, batch.classes[rows[0]]))
        own_near = torch.stack([_shifted(own_norms, o) for o in OFFSETS], dim=-1)[
            torch.arange(rows[0].numel()), :, rows[1]
        ]  # [G, H, 3]
        own_mass, own_moved_near, own_entropy, own_inverse = _moved(
            own_sums[:, :, None],
            (entr[rows[0], :, rows[1]] * own_norms).sum(-1)[:, :, None],
            near[rows[0], :, rows[1]][:, :, None],
            own_near[:, :, None].double(),
        )
        moved_mass[rows[0], :, rows[1]] = own_mass[:, :, 0]
        moved_near[rows[0], :, rows[1]] = own_moved_near[:, :, 0]
        moved_entropy[rows[0], :, rows[1]] = own_entropy[:, :, 0]
        moved_cls_row[rows[0]] = own.double() * own_norms * own_inverse  # the global row is the cls row
    return _Reads(
        torch.stack([sums[..., :5].double(), moved_mass]),
        torch.stack([near, moved_near]),
        torch.stack([entropy, moved_entropy]),
        torch.stack([cls_row, moved_cls_row]),
    )


def _normalised_entropy(probs: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """−Σ p ln p over the last axis / ln size (0 where size < 2): probs [..., B, H, N], size [B] → [..., B, H]."""
    entropy = torch.special.entr(probs).sum(-1)
    norm = torch.log(size.clamp_min(2).double())[:, None]
    return torch.where((size >= 2)[:, None], entropy / norm, torch.zeros_like(entropy))


def _layer_scores(reads: _Reads, batch: _Batch) -> dict[str, torch.Tensor]:
    """Per-sentence scores of one layer from its reads: name → [V, B, H] ("summary": [V, B],
    "partition": [V, B, H, 4])."""
    query = batch.query[:, None, :]  # [B, 1, N] over [V, B, H, N]

    def mean_rows(values: torch.Tensor) -> torch.Tensor:  # [V, B, H, N] → [V, B, H]
        return torch.where(query, values, 0.0).sum(-1) / batch.rows[:, None]

    log_length = torch.log(batch.lengths.clamp_min(2).double())[:, None]  # entropy is normalised by ln n_b
    out = {
        "cls": mean_rows(reads.mass[..., 0]),
        "sep": mean_rows(reads.mass[..., 2]),
        "punct": mean_rows(reads.mass[..., 3]),
        "prev": mean_rows(reads.near[..., 0]),
        "diagonal": mean_rows(reads.near[..., 1]),
        "next": mean_rows(reads.near[..., 2]),
        "entropy": torch.where((batch.lengths >= 2)[:, None], mean_rows(reads.entropy) / log_length, 0.0),
    }
    cls_out = reads.mass[:, batch.picked, :, batch.cls_at, 4].transpose(0, 1)  # [V, B, H]
    out["cls_out"] = torch.where(batch.has_cls[:, None], cls_out, 0.0)
    cls_row = reads.cls_row * batch.content[:, None, :]
    total = cls_row.sum(-1, keepdim=True)
    probs = torch.where(total > 0, cls_row / total.clamp_min(1e-300), 0.0)
    breadth = torch.where(batch.has_cls[:, None], _normalised_entropy(probs, batch.content.sum(-1)), 0.0)
    out["summary"] = (out["cls_out"] * breadth).mean(-1)

    near = sum(torch.where(batch.near_ok[o][:, None], reads.near[..., k], 0.0) for k, o in enumerate(OFFSETS))
    parts = torch.stack([reads.mass[..., 1], reads.mass[..., 2], near], dim=-1)  # [V, B, H, N, 3]
    rest = (1.0 - parts.sum(-1, keepdim=True)).clamp_min(0.0)
    parts = torch.cat([parts, rest], dim=-1)
    parts = parts / parts.sum(-1, keepdim=True)
    out["partition"] = torch.where(query[..., None], parts, 0.0).sum(-2) / batch.rows[:, None, None]
    return out


def norm_sizes(norms: Sequence[torch.Tensor], masks: TokenMasks) -> np.ndarray:
    """[B, L, 3] mean ‖f_h(x_j)‖ over heads of the words, the first cls token and the sep
    tokens of each sentence (SentenceScores.norm_sizes); norms: L tensors [B, H, N]."""
    batch = _Batch.of(masks, False)
    sep = torch.tensor(masks.sep)
    heads = norms[0].shape[1]
    out = []
    for values in norms:
        values = values.double()
        words = (values * batch.content[:, None]).sum((1, 2)) / (heads * batch.content.sum(-1)).clamp_min(1)
        cls = torch.where(batch.has_cls, values[batch.picked, :, batch.cls_at].mean(-1), 0.0)
        seps = (values * sep[:, None]).sum((1, 2)) / (heads * sep.sum(-1)).clamp_min(1)
        out.append(torch.stack([words, cls, seps], dim=-1))
    return torch.stack(out, dim=1).numpy()


def score_views(
    attention: Sequence[torch.Tensor],
    masks: TokenMasks,
    exclude_special: bool = False,
    norms: KeyNorms | None = None,
) -> dict[View, SentenceScores]:
    """All scores, the mass partition and the [CLS]-summary value of every sentence, in the
    weight view and, when `norms` are given, the norm view.  Nothing is modified.

    attention: L tensors [B, H, N, N] (see the module docstring).
    """
    batch = _Batch.of(masks, exclude_special)
    per_layer: list[dict[str, torch.Tensor]] = []
    for index, weights in enumerate(attention):
        values = norms.values[index] if norms is not None else None
        global_values = norms.global_values[index] if norms is not None and norms.global_values else None
        per_layer.append(_layer_scores(_layer_reads(weights, batch, values, global_values), batch))
    stacked = {name: torch.stack([layer[name] for layer in per_layer], dim=2).numpy() for name in per_layer[0]}
    views = VIEWS[: stacked["cls"].shape[0]]
    return {
        view: SentenceScores(
            scores={name: stacked[name][v] for name in SCORE_NAMES},
            partition=stacked["partition"][v],
            layer_summary=stacked["summary"][v],
            norm_sizes=norm_sizes(norms.values, masks) if view == "norm" else None,
        )
        for v, view in enumerate(views)
    }


def score_batch(attention: Sequence[torch.Tensor], masks: TokenMasks, exclude_special: bool = False) -> SentenceScores:
    """The weight view of `score_views`."""
    return score_views(attention, masks, exclude_special)["weight"]


def sentence_scores_from_analysis(analysis, norm_sizes: np.ndarray | None = None) -> SentenceScores:
    """One sentence's models.score.analysis.Analysis as a SentenceScores of size 1 (norm_sizes [1, L, 3]
    for the norm view)."""
    return SentenceScores(
        scores={name: np.asarray(analysis.scores[name], dtype=np.float64)[None] for name in SCORE_NAMES},
        partition=np.asarray(analysis.partition, dtype=np.float64)[None],
        layer_summary=np.asarray(analysis.layer_summary, dtype=np.float64)[None],
        norm_sizes=norm_sizes,
    )
