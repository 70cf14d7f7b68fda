"""From corpus records to scored sentences: tokenise, bucket by length, one forward pass per batch.

Tokenising follows models.extract.extract exactly (typed markers, the character cap,
truncation to the model's limit, split_special_tokens), so every sentence gets the
scores `analyze(extract(loaded, text, text_b))` would give it alone.

Length bucketing: a chunk (a few batches' worth of records) is sorted by token count
and cut into batches, so short sentences are padded only to their neighbours' length.
A batch also stops growing when all layers' attention (L·H·B·N² floats) would pass
ATTENTION_BUDGET_BYTES, so a few long sentences never make one huge batch.

Views: `VIEW_BUILDERS` maps a view name to a function (loaded, forward output, masks) →
L tensors [B, H, N, N] whose rows sum to 1 over real keys.  "weights" is the softmax
attention; a norm-based view (Kobayashi et al. 2020) plugs in as a second entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Literal, Sequence, get_args

import numpy as np
import torch

from models.analysis import analyze
from models.corpus_io import CorpusRecord
from models.corpus_scores import SentenceScores, TokenMasks, score_batch, sentence_scores_from_analysis
from models.extract import CHARS_PER_TOKEN_CAP, DENSE_LIMIT, extract, prepare_text
from models.loading import LoadedModel
from models.banded import BandedLayer
from models.scores import punctuation_positions

SkipReason = Literal["blank", "empty", "missing"]
SKIP_REASONS: tuple[SkipReason, ...] = get_args(SkipReason)
View = Literal["weights"]
VIEWS: tuple[View, ...] = get_args(View)
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
                    full = len(tokenizer(first, second, truncation=False, split_special_tokens=True,
                                         verbose=False)["input_ids"])
                type_ids = encoding["token_type_ids"][k] if "token_type_ids" in encoding else None
                sentences.append(Encoded(
                    index=record.index, text=record.text, text_b=text_b, ids=tuple(ids),
                    type_ids=tuple(type_ids) if type_ids is not None else None,
                    special=tuple(bool(s) for s in special),
                    tokens=tuple(tokenizer.convert_ids_to_tokens(ids)), truncated=cut or full > limit,
                ))
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


def _weights(loaded: LoadedModel, output, masks: TokenMasks) -> list[torch.Tensor]:
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


ViewBuilder = Callable[[LoadedModel, object, TokenMasks], list[torch.Tensor]]
VIEW_BUILDERS: dict[str, ViewBuilder] = {"weights": _weights}


def score_sentences(
    loaded: LoadedModel, batch: Sequence[Encoded], exclude_special: bool = False, views: Iterable[str] = VIEWS
) -> dict[str, SentenceScores]:
    """One forward pass over a batch → each view's scores of its B sentences (batch order)."""
    views = tuple(views)
    if loaded.family == "longformer" and len(batch) == 1 and batch[0].n > DENSE_LIMIT:
        alone = analyze(extract(loaded, batch[0].text, batch[0].text_b), exclude_special=exclude_special)
        return {view: sentence_scores_from_analysis(alone) for view in views}
    inputs, masks = batch_inputs(loaded, batch)
    with torch.inference_mode():
        output = loaded.model(**inputs, output_attentions=True)
        if not output.attentions:
            raise RuntimeError("The model returned no attention weights; it must be loaded with eager attention.")
        return {view: score_batch(VIEW_BUILDERS[view](loaded, output, masks), masks, exclude_special) for view in views}
