"""Where each token sits in the text: sequence ids, word ids and character spans.

A fast (Rust) tokenizer returns all three with its encoding.  A Python tokenizer returns
none of them: transformers 5.23 silently ignores `return_offsets_mapping` for
BertJapaneseTokenizer, and `word_ids()` raises.  For those this module rebuilds them:

  sequence ids  each run of non-special tokens is one sequence ([CLS] A [SEP] B [SEP])
  word ids      the tokenizer's own words: for BertJapaneseTokenizer the MeCab (or Sudachi,
                Juman++) words its word tokenizer found, each split into WordPiece pieces,
                so a Japanese sentence groups into words the way MeCab reads it; for other
                Python tokenizers a piece without a leading "##" starts a word
  spans         each piece found in the text, both sides folded the same way (NFKD,
                case-folded, combining marks dropped: MeCab's NFKC, lower-casing and a
                stripped accent or voicing mark all match); an [UNK] word spans its whole
                surface

The rebuilt pieces are checked against the ids the tokenizer really produced; when they
differ, every token becomes its own word with an empty span rather than a wrong one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.pieces import SUBWORD_PREFIX, bare, fold


@dataclass(frozen=True)
class Layout:
    """Per token of one encoding (N tokens, special tokens included).

    sequence_ids  [N] 0 or 1 for the first or second text of a pair; None for special tokens
    word_ids      [N] the word index within its sequence; None for special tokens
    offsets       [N] (start, end) character span in its own sequence's text; (0, 0) for special
    """

    sequence_ids: tuple[int | None, ...]
    word_ids: tuple[int | None, ...]
    offsets: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Piece:
    token: str
    word: int
    span: tuple[int, int]


def layout(tokenizer, encoding, special_mask: Sequence[bool], texts: Sequence[str | None]) -> Layout:
    """The layout of `encoding` (batch 0), from the encoding itself or rebuilt (module docstring).

    texts: the strings that were tokenised, (first, second); second None for one sentence.
    """
    if getattr(tokenizer, "is_fast", False):
        return Layout(
            tuple(encoding.sequence_ids(0)),
            tuple(encoding.word_ids(0)),
            tuple(tuple(span) for span in encoding["offset_mapping"][0].tolist()),
        )
    ids = [int(i) for i in encoding["input_ids"][0].tolist()]
    return rebuilt_layout(tokenizer, ids, special_mask, texts)


def rebuilt_layout(tokenizer, ids: Sequence[int], special_mask: Sequence[bool], texts: Sequence[str | None]) -> Layout:
    """Sequence ids, word ids and spans for a tokenizer that reports none (module docstring)."""
    runs = _runs(special_mask)
    pieces = [word_pieces(tokenizer, text) for text in texts if text is not None]
    used = [index for index, found in enumerate(pieces) if found]
    n = len(ids)
    sequence_ids: list[int | None] = [None] * n
    word_ids: list[int | None] = [None] * n
    offsets: list[tuple[int, int]] = [(0, 0)] * n
    trusted = len(runs) == len(used)
    for run, sequence in zip(runs, used if trusted else range(len(runs))):
        own = pieces[sequence] if trusted else []
        expected = tokenizer.convert_tokens_to_ids([piece.token for piece in own[: len(run)]])
        matches = trusted and len(own) >= len(run) and list(expected) == [ids[p] for p in run]
        for k, position in enumerate(run):
            sequence_ids[position] = sequence
            word_ids[position] = own[k].word if matches else k
            offsets[position] = own[k].span if matches else (0, 0)
    return Layout(tuple(sequence_ids), tuple(word_ids), tuple(offsets))


def _runs(special_mask: Sequence[bool]) -> list[list[int]]:
    """Positions of each run of non-special tokens, in order."""
    runs: list[list[int]] = []
    previous_special = True
    for position, special in enumerate(special_mask):
        if not special:
            if previous_special:
                runs.append([])
            runs[-1].append(position)
        previous_special = bool(special)
    return runs


def word_pieces(tokenizer, text: str) -> list[Piece]:
    """The tokenizer's pieces of `text` with their word index and character span in `text`."""
    words = _words(tokenizer, text)
    folded, origin = _fold_with_origin(text)
    unk = getattr(tokenizer, "unk_token", None)
    found: list[Piece] = []
    cursor = 0
    for index, (surface, pieces) in enumerate(words):
        target = fold(surface)
        start = folded.find(target, cursor) if target else -1
        word_start, word_end = (start, start + len(target)) if start >= 0 else (cursor, cursor)
        inner = word_start
        for piece in pieces:
            if piece == unk:
                span = (word_start, word_end) if len(pieces) == 1 else (inner, min(inner + 1, word_end))
            else:
                folded_piece = fold(bare(piece))
                at = folded.find(folded_piece, inner, word_end) if folded_piece else -1
                span = (at, at + len(folded_piece)) if at >= 0 else (inner, inner)
            inner = max(inner, span[1])
            found.append(Piece(piece, index, _original_span(text, origin, span)))
        cursor = max(cursor, word_end)
    return found


def _words(tokenizer, text: str) -> list[tuple[str, list[str]]]:
    """(surface, pieces) per word: the word tokenizer's words when the tokenizer has one
    (BertJapaneseTokenizer), else pieces grouped at each piece without a "##" prefix."""
    word_tokenizer = getattr(tokenizer, "word_tokenizer", None)
    if word_tokenizer is not None and hasattr(tokenizer, "subword_tokenizer"):
        specials = list(tokenizer.all_special_tokens)
        surfaces = word_tokenizer.tokenize(text, never_split=specials) if tokenizer.do_word_tokenize else [text]
        split = tokenizer.subword_tokenizer.tokenize if tokenizer.do_subword_tokenize else (lambda word: [word])
        return [(surface, list(split(surface))) for surface in surfaces]
    words: list[tuple[str, list[str]]] = []
    for piece in tokenizer.tokenize(text):
        if words and piece.startswith(SUBWORD_PREFIX):
            surface, pieces = words[-1]
            words[-1] = (surface + bare(piece), [*pieces, piece])
        else:
            words.append((bare(piece), [piece]))
    return words


def _fold_with_origin(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index of the character it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for folded in fold(char):
            chars.append(folded)
            origin.append(index)
    return "".join(chars), origin


def _original_span(text: str, origin: list[int], span: tuple[int, int]) -> tuple[int, int]:
    """A span of the folded text → the span of `text`, with trailing marks that fold to nothing
    (a half-width voicing mark, a combining accent) included."""
    start, end = span
    if start >= len(origin):
        return (len(text), len(text))
    begin = origin[start]
    if end <= start:
        return (begin, begin)
    stop = origin[end - 1] + 1
    while stop < len(text) and not text[stop].isspace() and not fold(text[stop]):
        stop += 1
    return (begin, stop)
