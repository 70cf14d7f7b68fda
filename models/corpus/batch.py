"""From corpus records to scored sentences: tokenise, bucket by length, one forward pass per batch.

Tokenising follows models.extract.attention.extract exactly (typed markers, the character cap,
truncation to the model's limit, split_special_tokens), so every sentence gets the
scores `analyze(extract(loaded, text, text_b))` would give it alone.

Length bucketing: a chunk (a few batches' worth of records) is sorted by token count
and cut into batches, so short sentences are padded only to their neighbours' length.
A batch also stops growing when all layers' attention (L·H·B·N² floats) would pass
ATTENTION_BUDGET_BYTES, so a few long sentences never make one huge batch.

Views (models.score.sweep.View): "weight", the softmax attention, for every family; "norm",
what the heads move (Kobayashi et al. 2020, models/score/norms.py), for the families with a
capture entry (models.load.capture.CAPTURE).  The norm view needs each layer's value vectors:
forward hooks keep the value projection's output of the whole padded batch [B, N, H·d]
during the one forward pass, and ‖f_h(x_j)‖ [B, H, N] is taken from it per layer, set to 0
on padding.  models/corpus/scores.py scores both views from the weights in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import torch

from models.corpus.io import CorpusRecord
from models.corpus.scores import (
    KeyNorms,
    SentenceScores,
    TokenMasks,
    norm_sizes,
    score_views,
    sentence_scores_from_analysis,
)
from models.extract.attention import CHARS_PER_TOKEN_CAP, DENSE_LIMIT, extract, prepare_text
from models.extract.banded import BandedLayer
from models.extract.forward import run_forward
from models.load import capture
from models.load.loading import LoadedModel
from models.load.registry import Family
from models.score.analysis import analyze_views
from models.score.norms import head_norms
from models.score.scores import punctuation_positions
from models.score.sweep import VIEWS, View

SkipReason = Literal["blank", "empty", "missing"]
SKIP_REASONS: tuple[SkipReason, ...] = get_args(SkipReason)
ATTENTION_BUDGET_BYTES = 256 * 2**20  # all layers' attention of one batch stays below this


@dataclass(frozen=True)
class Encoded:
    """One tokenised sentence (or pair) of the corpus.

    ids, type_ids  [n] token ids and segment ids (type_ids None when the tokenizer gives none)
    special        [n] bool special-tokens mask
    tokens         [n] token strings
    """

    index: int
    text: str
    text_b: str | None
    ids: tuple[int, ...]
    type_ids: tuple[int, ...] | None
    special: tuple[bool, ...]
    tokens: tuple[str, ...]
    truncated: bool

    @property
    def n(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class EncodedChunk:
    sentences: tuple[Encoded, ...]
    skipped: dict[str, int]  # SkipReason → count
    records: int  # records read, skipped ones included


def encode_records(loaded: LoadedModel, records: Sequence[CorpusRecord]) -> EncodedChunk:
    """Tokenise a chunk of records the way extract() does; count what is skipped and why."""
    tokenizer, limit = loaded.tokenizer, loaded.spec.max_tokens
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    prepared = []  # (record, first, second, chars_cut)
    for record in records:
        if record.text is None:
            skipped["missing"] += 1
            continue
        if not record.text.strip():
            skipped["blank"] += 1
            continue
        text_b = record.text_b if record.text_b and record.text_b.strip() else None
        ready = prepare_text(record.text, text_b, tokenizer.cls_token, tokenizer.sep_token)
        cap = limit * CHARS_PER_TOKEN_CAP
        first, second = ready.first[:cap], ready.second[:cap] if ready.second else None
        if not first.strip() and not (second and second.strip()):
            skipped["empty"] += 1
            continue
        cut = len(first) < len(ready.first) or (second is not None and len(second) < len(ready.second))
        prepared.append((record, text_b, first, second, cut))

    sentences = []
    for pairs in (False, True):
        group = [item for item in prepared if (item[3] is not None) == pairs]
        if not group:
            continue
        with loaded.lock:
            encoding = tokenizer(
                [item[2] for item in group],
                [item[3] for item in group] if pairs else None,
                truncation=True,
                max_length=limit,
                split_special_tokens=True,
                return_special_tokens_mask=True,
            )
            for k, (record, text_b, first, second, cut) in enumerate(group):
                ids = encoding["input_ids"][k]
                special = encoding["special_tokens_mask"][k]
                if all(special):
                    skipped["empty"] += 1
                    continue
                full = len(ids)
                if full >= limit:  # only a full-length encoding can have been cut
                    full = len(
                        tokenizer(first, second, truncation=False, split_special_tokens=True, verbose=False)[
                            "input_ids"
                        ]
                    )
                type_ids = encoding["token_type_ids"][k] if "token_type_ids" in encoding else None
                sentences.append(
                    Encoded(
                        index=record.index,
                        text=record.text,
                        text_b=text_b,
                        ids=tuple(ids),
                        type_ids=tuple(type_ids) if type_ids is not None else None,
                        special=tuple(bool(s) for s in special),
                        tokens=tuple(tokenizer.convert_ids_to_tokens(ids)),
                        truncated=cut or full > limit,
                    )
                )
    sentences.sort(key=lambda s: s.index)
    return EncodedChunk(tuple(sentences), skipped, len(records))


def plan_batches(loaded: LoadedModel, sentences: Sequence[Encoded], batch_size: int) -> list[list[Encoded]]:
    """Sort by length and cut into batches of at most `batch_size` within the attention budget.

    A Longformer sentence above DENSE_LIMIT tokens is a batch of its own (it stays banded).
    """
    cells = ATTENTION_BUDGET_BYTES // (4 * loaded.layers * loaded.heads)  # B · N² per batch
    batches: list[list[Encoded]] = []
    current: list[Encoded] = []
    for sentence in sorted(sentences, key=lambda s: (s.n, s.index)):
        if loaded.family == "longformer" and sentence.n > DENSE_LIMIT:
            batches.append([sentence])
            continue
        if current and (len(current) >= batch_size or (len(current) + 1) * sentence.n**2 > cells):
            batches.append(current)
            current = []
        current.append(sentence)
    if current:
        batches.append(current)
    return batches


def batch_inputs(loaded: LoadedModel, batch: Sequence[Encoded]) -> tuple[dict[str, torch.Tensor], TokenMasks]:
    """Right-padded model inputs [B, N] and the token masks of a batch."""
    size, width = len(batch), max(s.n for s in batch)
    pad_id = loaded.tokenizer.pad_token_id or 0
    ids = np.full((size, width), pad_id, dtype=np.int64)
    type_ids = np.zeros((size, width), dtype=np.int64)
    valid = np.zeros((size, width), dtype=bool)
    special = np.zeros((size, width), dtype=bool)
    punct = np.zeros((size, width), dtype=bool)
    for b, sentence in enumerate(batch):
        ids[b, : sentence.n] = sentence.ids
        if sentence.type_ids is not None:
            type_ids[b, : sentence.n] = sentence.type_ids
        valid[b, : sentence.n] = True
        special[b, : sentence.n] = sentence.special
        punct[b, list(punctuation_positions(sentence.tokens))] = True
    cls = special & (ids == loaded.tokenizer.cls_token_id)
    sep = special & (ids == loaded.tokenizer.sep_token_id)
    cls_first = np.where(cls.any(axis=1), cls.argmax(axis=1), -1)
    inputs = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(valid.astype(np.int64))}
    if batch[0].type_ids is not None and loaded.family != "distilbert":
        inputs["token_type_ids"] = torch.from_numpy(type_ids)
    if loaded.family == "longformer":
        global_mask = np.zeros((size, width), dtype=np.int64)
        global_mask[cls_first >= 0, cls_first[cls_first >= 0]] = 1  # the first [CLS], as extract()
        inputs["global_attention_mask"] = torch.from_numpy(global_mask)
    for array in (valid, special, cls, sep, punct, cls_first):
        array.setflags(write=False)
    return inputs, TokenMasks(valid, special, cls, sep, punct, cls_first)


def available_views(family: Family) -> tuple[View, ...]:
    """The views a family's corpus analysis can give: the norm view needs a capture entry."""
    return VIEWS if family in capture.CAPTURE else ("weight",)


def dense_attention(loaded: LoadedModel, output, masks: TokenMasks) -> list[torch.Tensor]:
    """The softmax attention, L × [B, H, N, N]; Longformer's band is rebuilt per sentence."""
    if loaded.family != "longformer":
        return list(output.attentions)
    lengths = masks.valid.sum(axis=1)
    layers = []
    for index, band in enumerate(output.attentions):  # [B, H, N, x + w + 1]
        size, heads, width = band.shape[0], band.shape[1], masks.valid.shape[1]
        dense = torch.zeros((size, heads, width, width), dtype=torch.float32)
        for b, n in enumerate(lengths):
            globals_ = (int(masks.cls_first[b]),) if masks.cls_first[b] >= 0 else ()
            rows = output.global_attentions[index][b].numpy() if globals_ else None
            rows = rows[:, :n] if rows is not None else None  # global rows come padded to the batch
            layer = BandedLayer(band[b, :, :n].numpy(), rows, globals_)
            dense[b, :, :n, :n] = torch.from_numpy(layer.dense())
        layers.append(dense)
    return layers


def key_norms(loaded: LoadedModel, captured: dict[str, list[torch.Tensor]], masks: TokenMasks) -> KeyNorms:
    """‖f_h(x_j)‖ [B, H, N] of every layer from the captured value projections [B, N', H·d],
    cut to the batch's width and 0 on padding; Longformer's `value_global` too when the
    batch has global tokens."""
    factors = [layer.output_factors for layer in capture.layer_modules(loaded.model, loaded.family, loaded.heads)]
    width = masks.valid.shape[1]
    valid = torch.tensor(masks.valid)[:, None, :]  # [B, 1, N] (a copy: the masks are read-only)

    def norms(values: list[torch.Tensor]) -> list[torch.Tensor]:
        return [head_norms(value[:, :width], factor, loaded.heads) * valid for value, factor in zip(values, factors)]

    global_values = captured.get("value_global")
    return KeyNorms(norms(captured["value"]), norms(global_values) if global_values else None)


@dataclass(frozen=True, eq=False)
class BatchForward:
    """One forward pass over a padded batch, what both the scoring and a comparison of two
    models' maps (models/corpus/compare.py) read.

    attention  L × [B, H, N, N] float32 dense softmax attention (0 on padding keys)
    masks      the batch's TokenMasks
    norms      KeyNorms of the norm view (None when it was not asked for)
    """

    attention: list[torch.Tensor]
    masks: TokenMasks
    norms: KeyNorms | None


def forward_batch(loaded: LoadedModel, batch: Sequence[Encoded], views: tuple[View, ...] = VIEWS) -> BatchForward:
    """One forward pass over a batch (not a long Longformer sentence: see score_sentences),
    with the value vectors captured when `views` holds "norm"."""
    inputs, masks = batch_inputs(loaded, batch)
    kinds: tuple[capture.Projection, ...] = ()
    if "norm" in views:
        kinds = ("value",) + (("value_global",) if capture.CAPTURE[loaded.family].value_global else ())
    forward = run_forward(loaded, inputs, kinds)
    output, captured = forward.output, forward.captured
    norms = key_norms(loaded, captured, masks) if "norm" in views else None
    return BatchForward(dense_attention(loaded, output, masks), masks, norms)


def runs_alone(loaded: LoadedModel, batch: Sequence[Encoded]) -> bool:
    """A long Longformer sentence: scored on its own, banded (no dense N×N is ever built)."""
    return loaded.family == "longformer" and len(batch) == 1 and batch[0].n > DENSE_LIMIT


def usable_views(loaded: LoadedModel, views: Iterable[View]) -> tuple[View, ...]:
    """The views asked for that the model's family can give (available_views), in VIEWS order."""
    views = tuple(views)
    return tuple(view for view in available_views(loaded.family) if view in views)


def score_forward(forward: BatchForward, exclude_special: bool, views: tuple[View, ...]) -> dict[View, SentenceScores]:
    """Each view's scores of a batch from its forward pass (views: usable_views)."""
    scored = score_views(forward.attention, forward.masks, exclude_special, forward.norms)
    return {view: scored[view] for view in views}


def score_sentences(
    loaded: LoadedModel, batch: Sequence[Encoded], exclude_special: bool = False, views: Iterable[View] = VIEWS
) -> dict[View, SentenceScores]:
    """One forward pass over a batch → each view's scores of its B sentences (batch order).

    Views the family cannot give (available_views) are left out of the result.
    """
    views = usable_views(loaded, views)
    if runs_alone(loaded, batch):
        return _score_alone(loaded, batch[0], exclude_special, views)
    with torch.inference_mode():
        return score_forward(forward_batch(loaded, batch, views), exclude_special, views)


def _score_alone(loaded: LoadedModel, sentence: Encoded, exclude_special: bool, views: tuple[View, ...]):
    """A long Longformer sentence: analyze_views(extract()) on it alone, banded (no N×N)."""
    result = extract(loaded, sentence.text, sentence.text_b)
    analyses = analyze_views(result, exclude_special, rollout_views=(), views=views)
    sizes = None
    if "norm" in analyses:
        _inputs, masks = batch_inputs(loaded, [sentence])
        sizes = norm_sizes([torch.from_numpy(np.array(layer))[None] for layer in result.value_norms], masks)
    return {
        view: sentence_scores_from_analysis(analyses[view], sizes if view == "norm" else None)
        for view in views
        if view in analyses
    }
