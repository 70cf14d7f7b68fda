"""Tokenise an input, run the model once, and keep every layer's and head's attention."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from i18n import N_, format_list
from models.compare.alignment import layout
from models.extract import bigbird
from models.extract.banded import BandedLayer
from models.extract.forward import run_forward
from models.extract.window import InputError, check_global_positions
from models.frozen import read_only
from models.load import capture, vocab_check
from models.load.families import QUERY_KEY_SUFFIXES, family_info, forward_inputs  # noqa: F401  (suffixes re-exported)
from models.load.loading import LoadedModel
from models.result import AttentionResult, ModelInfo
from models.score.norms import value_norms
from models.sparse.own_pattern import OwnPattern, layer_windows
from models.types import Notice

CHARS_PER_TOKEN_CAP = 40  # text beyond max_tokens * this is cut before tokenising
DENSE_LIMIT = 512  # Longformer inputs longer than this stay banded (no [H, N, N] per layer)

ERR_EMPTY = N_("The text is empty. Type or paste a sentence to analyse.")
ERR_NO_TOKENS = N_("The text produced no tokens the model can read. Try ordinary words.")
ERR_NOT_TEXT = N_("The input must be text; got {kind}.")
ERR_GLOBAL_DENSE = N_("Global tokens only apply to Longformer models; '{key}' attends densely.")

NOTICE_TRUNCATED = N_(
    "The input is longer than the model's limit of {limit} tokens, so it was cut "
    "to the first {limit}; about {dropped} tokens were left out."
)


@dataclass(frozen=True)
class PreparedText:
    """The text(s) to tokenise after typed special markers were removed."""

    first: str
    first_offset: int  # where `first` starts in the original text
    second: str | None
    second_offset: int  # where `second` starts in its source string
    markers: tuple[str, ...]
    split_at_typed_sep: bool


def prepare_text(text: str, text_b: str | None, cls_token: str, sep_token: str) -> PreparedText:
    """Strip a typed leading cls marker and trailing sep markers; split at one typed middle sep.

    "[CLS] The dog barked . [SEP]" becomes "The dog barked ." with markers ("[CLS]", "[SEP]").
    "[CLS] A . [SEP] B . [SEP]" becomes the pair ("A .", "B .").
    """
    markers: list[str] = []
    cls_re, sep_re = re.escape(cls_token), re.escape(sep_token)
    start, end = 0, len(text)
    lead = re.match(rf"\s*{cls_re}", text)
    if lead:
        markers.append(cls_token)
        start = lead.end()
    tail = re.search(rf"{sep_re}\s*$", text[start:])
    if tail:
        markers.append(sep_token)
        end = start + tail.start()
    first, first_offset = text[start:end], start
    second, second_offset, split = text_b, 0, False
    if text_b is None:
        middle = [m for m in re.finditer(sep_re, first)]
        if len(middle) == 1:
            cut = middle[0]
            second, second_offset = first[cut.end() :], first_offset + cut.end()
            first = first[: cut.start()]
            markers.append(sep_token)
            split = True
    else:
        b_tail = re.search(rf"{sep_re}\s*$", text_b)
        if b_tail:
            markers.append(sep_token)
            second = text_b[: b_tail.start()]
    return PreparedText(first, first_offset, second, second_offset, tuple(dict.fromkeys(markers)), split)


def extract(
    loaded: LoadedModel,
    text: str,
    text_b: str | None = None,
    global_positions: tuple[int, ...] | list[int] | None = None,
    banded: bool | None = None,
    max_tokens: int | None = None,
) -> AttentionResult:
    """Run `loaded` once on `text` (and `text_b`) and return every layer's attention.

    For Longformer models `global_positions` picks the global tokens (default: the
    cls token); for dense models it must be empty.  Longformer attention stays banded
    (models.extract.banded.BandedLayer) when `banded` is True, or when it is None and the input
    has more than DENSE_LIMIT tokens; otherwise it is rebuilt to dense [H, N, N].
    Dense results also keep each layer's queries and keys (for LSH in models.sparse.patterns).
    `max_tokens` cuts the input below the model's own limit (to match another model's).
    Every result carries the value norms of the norm view (models/score/norms.py), captured in
    the same single forward pass.
    """
    text_b = _checked_input(loaded, text, text_b, global_positions)
    limit = min(loaded.spec.max_tokens, max_tokens or loaded.spec.max_tokens)
    prepared, first, second, chars_cut = cut_text(text, text_b, loaded.tokenizer, limit)
    encoded = _tokenize(loaded, first, second, limit, global_positions)
    keep_banded = loaded.family == "longformer" and (encoded.n > DENSE_LIMIT if banded is None else banded)
    run = _run(
        loaded, encoded.encoding, encoded.global_positions, keep_banded
    )  # outside the lock: passes run side by side

    token_layout, special_mask, tokenizer = encoded.layout, encoded.special_mask, loaded.tokenizer
    truncated = chars_cut or encoded.full_length > limit
    vocabulary = vocab_check.check_vocabulary(
        encoded.tokens,
        special_mask,
        token_layout.offsets,
        token_layout.sequence_ids,
        (first, second or ""),
        tokenizer.unk_token,
    )
    notices = _notices(loaded, prepared, encoded, f"{first} {second or ''}", vocabulary, limit, chars_cut)
    if run.pattern.block_sparse is not None:
        notices.append(Notice("block_sparse", "info", bigbird.notice(run.pattern.block_sparse, encoded.n)))

    return AttentionResult(
        text=text,
        text_b=text_b,
        tokens=encoded.tokens,
        spans=_spans(token_layout.offsets, token_layout.sequence_ids, special_mask, prepared),
        segment_ids=_segments(token_layout.sequence_ids),
        special_mask=read_only(special_mask),
        cls_positions=token_positions(encoded.ids, special_mask, tokenizer.cls_token_id),
        sep_positions=token_positions(encoded.ids, special_mask, tokenizer.sep_token_id),
        global_positions=encoded.global_positions,
        truncated=truncated,
        typed_markers=prepared.markers,
        notices=tuple(notices),
        model=ModelInfo.of(loaded),
        layer_attention=run.layers,
        queries=run.queries,
        keys=run.keys,
        word_ids=tuple(None if special else word for word, special in zip(token_layout.word_ids, special_mask)),
        value_norms=run.value_norms,
        global_value_norms=run.global_value_norms,
        pattern=run.pattern,
        unk_share=vocabulary.unk_share,
    )


def _checked_input(loaded: LoadedModel, text, text_b, global_positions) -> str | None:
    """InputError for what cannot be analysed (not text, empty, global tokens on a dense
    model); else the second text, None when it is blank."""
    if not isinstance(text, str):
        raise InputError(ERR_NOT_TEXT.format(kind=type(text).__name__))
    if text_b is not None and not isinstance(text_b, str):
        raise InputError(ERR_NOT_TEXT.format(kind=type(text_b).__name__))
    if not text.strip():
        raise InputError(ERR_EMPTY)
    if global_positions and loaded.family != "longformer":
        raise InputError(ERR_GLOBAL_DENSE.format(key=loaded.name))
    return text_b if text_b is not None and text_b.strip() else None


@dataclass(frozen=True, eq=False)
class _Encoded:
    """One input as the tokenizer gave it (batch item 0)."""

    encoding: object
    ids: torch.Tensor  # [N]
    special_mask: np.ndarray  # [N] bool
    tokens: tuple[str, ...]
    layout: object  # models.extract.text layout: offsets, sequence_ids, word_ids
    full_length: int  # tokens before truncation (== n unless the encoding was cut)
    global_positions: tuple[int, ...]

    @property
    def n(self) -> int:
        return self.ids.shape[0]


def _tokenize(loaded: LoadedModel, first: str, second: str | None, limit: int, global_positions) -> _Encoded:
    """Encode under the model's lock (fast tokenizers are not safe under concurrent calls);
    InputError when nothing but special tokens is left.  Longformer's global tokens default
    to the cls token and are checked against the length; dense models get none."""
    tokenizer = loaded.tokenizer
    with loaded.lock:
        encoding = encode_text(tokenizer, first, second, limit)
        ids = encoding["input_ids"][0]
        special_mask = encoding["special_tokens_mask"][0].numpy().astype(bool)
        if special_mask.all():
            raise InputError(ERR_NO_TOKENS)
        n = full_length = ids.shape[0]
        if n >= limit:  # only a full-length encoding can have been cut: count what was dropped
            full_length = len(
                tokenizer(first, second, truncation=False, split_special_tokens=True, verbose=False)["input_ids"]
            )
        if loaded.family != "longformer":
            global_positions = ()
        elif global_positions is None:
            global_positions = tuple(int(i) for i in np.nonzero(ids.numpy() == tokenizer.cls_token_id)[0][:1])
        return _Encoded(
            encoding=encoding,
            ids=ids,
            special_mask=special_mask,
            tokens=tuple(tokenizer.convert_ids_to_tokens(ids.tolist())),
            layout=layout(tokenizer, encoding, special_mask, (first, second)),
            full_length=full_length,
            global_positions=check_global_positions(global_positions, n),
        )


def _notices(loaded, prepared, encoded: _Encoded, text: str, vocabulary, limit: int, chars_cut: bool) -> list[Notice]:
    """What the reader should know about this input: unreadable words, truncation, typed
    markers replaced, a pair split at a typed separator."""
    notices: list[Notice] = []
    unreadable = vocab_check.notice(vocabulary, loaded.name, text)
    if unreadable:
        notices.append(Notice("vocabulary", "warning", unreadable))
    if chars_cut or encoded.full_length > limit:
        dropped = max(encoded.full_length - encoded.n, 0)
        cut = NOTICE_TRUNCATED.format(limit=limit, dropped=dropped if not chars_cut else f"{dropped}+")
        notices.append(Notice("truncated", "info", cut))
    if prepared.markers:
        markers = N_(
            "Recognised the typed {markers} and used the model's own special tokens instead, so they are not doubled."
        ).format(markers=format_list(prepared.markers))
        notices.append(Notice("markers", "info", markers))
    if prepared.split_at_typed_sep:
        split = N_("The typed {sep} in the middle splits the text into a sentence pair.").format(
            sep=loaded.tokenizer.sep_token
        )
        notices.append(Notice("pair_split", "info", split))
    return notices


def preview_tokens(loaded: LoadedModel, text: str, text_b: str | None = None) -> tuple[str, ...]:
    """The tokens `extract` would feed the model for this input, without running it.

    Cheap (tokeniser only): the app uses it to offer global tokens by name before the run.
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError(ERR_EMPTY)
    text_b = text_b if text_b and text_b.strip() else None
    limit = loaded.spec.max_tokens
    _prepared, first, second, _cut_chars = cut_text(text, text_b, loaded.tokenizer, limit)
    with loaded.lock:
        ids = encode_text(loaded.tokenizer, first, second, limit)["input_ids"][0]
        return tuple(loaded.tokenizer.convert_ids_to_tokens(ids.tolist()))


def cut_text(text: str, text_b: str | None, tokenizer, limit: int) -> tuple[PreparedText, str, str | None, bool]:
    """Typed markers removed, then each text cut to limit · CHARS_PER_TOKEN_CAP characters."""
    prepared = prepare_text(text, text_b, tokenizer.cls_token, tokenizer.sep_token)
    char_cap = limit * CHARS_PER_TOKEN_CAP
    first, second = prepared.first[:char_cap], prepared.second[:char_cap] if prepared.second else None
    chars_cut = len(first) < len(prepared.first) or (second is not None and len(second) < len(prepared.second))
    if not first.strip() and not (second and second.strip()):
        raise InputError(ERR_EMPTY)
    return prepared, first, second, chars_cut


def encode_text(tokenizer, first: str, second: str | None, limit: int):
    """The encoding of one input.  A Python tokenizer (BertJapaneseTokenizer) gives no offsets
    (models/compare/alignment.py rebuilds them) and only gives token types when asked."""
    fast = getattr(tokenizer, "is_fast", False)
    return tokenizer(
        first,
        second,
        truncation=True,
        max_length=limit,
        split_special_tokens=True,
        return_special_tokens_mask=True,
        return_offsets_mapping=fast,
        return_token_type_ids=None if fast else True,
        return_tensors="pt",
    )


@dataclass(frozen=True, eq=False)
class _Run:
    layers: tuple  # L × [H, N, N] or BandedLayer
    queries: tuple[np.ndarray, ...] | None  # L × [H, N, d]
    keys: tuple[np.ndarray, ...] | None
    value_norms: np.ndarray | None  # [L, H, N]; None for families without a capture entry
    global_value_norms: np.ndarray | None  # [L, H, N]
    pattern: OwnPattern


def model_inputs(loaded: LoadedModel, encoding, global_positions: tuple[int, ...] = ()) -> dict[str, torch.Tensor]:
    """The forward pass's inputs for one encoding; a Longformer model also gets its global tokens."""
    inputs = forward_inputs(loaded.model, encoding)
    if loaded.family == "longformer":
        global_mask = torch.zeros_like(encoding["input_ids"])
        global_mask[0, list(global_positions)] = 1
        inputs["global_attention_mask"] = global_mask
    return inputs


def _run(loaded: LoadedModel, encoding, global_positions: tuple[int, ...], keep_banded: bool) -> _Run:
    """One forward pass → attention of every layer, value norms, queries/keys, own pattern.

    Forward hooks (models/load/capture.py) keep each layer's value projection (and Longformer's
    `value_global` when there are global tokens) for the norm view, and the query and key
    projections of dense results (for LSH in models.sparse.patterns; banded results skip them, and
    so do families whose scores are not q·k alone).  A family without a capture entry
    gets queries/keys from the family table's hooks and no norm view.  BigBird's
    block-sparse weights are rebuilt exactly (models.extract.bigbird) and trimmed to N.
    """
    info = family_info(loaded.family)
    inputs = model_inputs(loaded, encoding, global_positions)
    n = encoding["input_ids"].shape[1]
    paths = capture.CAPTURE.get(loaded.family)
    want_query_key = not keep_banded and info.query_key is not None
    kinds: tuple[capture.Projection, ...] = ()
    modules = ()
    if paths is not None:
        modules = capture.layer_modules(loaded.model, loaded.family, loaded.heads)
        kinds = ("value",) + (("value_global",) if paths.value_global and global_positions else ())
    kinds += ("query", "key") if want_query_key else ()
    forward = run_forward(loaded, inputs, kinds, n)
    output, captured, draws = forward.output, forward.captured, forward.draws
    factors = [layer.output_factors for layer in modules]
    norms = value_norms(captured["value"], factors, loaded.heads) if "value" in kinds else None
    global_norms = value_norms(captured["value_global"], factors, loaded.heads) if "value_global" in kinds else None
    queries = keys = None
    if want_query_key and len(captured["query"]) == len(output.attentions) == len(captured["key"]):
        heads = loaded.heads
        queries, keys = (
            tuple(read_only(t.reshape(n, heads, -1).transpose(0, 1).float().numpy()) for t in captured[kind])
            for kind in ("query", "key")
        )
    pattern = OwnPattern(info.form, layer_windows(loaded.model.config, len(output.attentions)))
    if loaded.family == "longformer":
        layers = []
        for index, band in enumerate(output.attentions):
            global_rows = output.global_attentions[index][0, :, :n].numpy() if global_positions else None
            layer = BandedLayer(
                read_only(band[0].numpy()),
                read_only(global_rows) if global_rows is not None else None,
                global_positions,
            )
            layers.append(layer if keep_banded else read_only(layer.dense()))
        return _Run(tuple(layers), queries, keys, norms, global_norms, pattern)
    if info.form == "block_sparse":
        returned = [layer[0].float().numpy() for layer in output.attentions]
        exact, note = bigbird.exact_layers(loaded.model.config, returned, draws, n)
        note.returned_mass.setflags(write=False)
        pattern = OwnPattern(info.form, pattern.layer_windows, note)
        return _Run(tuple(read_only(layer) for layer in exact), queries, keys, norms, global_norms, pattern)
    layers = tuple(read_only(layer[0].float().numpy()) for layer in output.attentions)
    return _Run(layers, queries, keys, norms, global_norms, pattern)


def token_positions(ids: torch.Tensor, special_mask: np.ndarray, token_id: int | None) -> tuple[int, ...]:
    """The positions of the special token `token_id` ([CLS], [SEP]) among the input ids."""
    if token_id is None:
        return ()
    return tuple(int(i) for i in np.nonzero(special_mask & (ids.numpy() == token_id))[0])


def _segments(sequence_ids: list[int | None]) -> tuple[int, ...]:
    """Segment of each token; a special token belongs to the segment before it (0 at the start)."""
    segments, current = [], 0
    for sequence_id in sequence_ids:
        if sequence_id is not None:
            current = sequence_id
        segments.append(current)
    return tuple(segments)


def _spans(offsets, sequence_ids, special_mask, prepared: PreparedText) -> tuple[tuple[int, int], ...]:
    """Character spans in the original strings (see AttentionResult.spans)."""
    spans = []
    for (start, end), sequence_id, special in zip(offsets, sequence_ids, special_mask):
        if special or sequence_id is None:
            spans.append((0, 0))
            continue
        shift = prepared.first_offset if sequence_id == 0 else prepared.second_offset
        spans.append((start + shift, end + shift))
    return tuple(spans)
