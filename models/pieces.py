"""Word pieces as tokenizers write them: the marks that start a subword or a word, and the
folding that lets a piece be matched against the text it came from."""

from __future__ import annotations

import unicodedata

SUBWORD_PREFIX = "##"  # WordPiece: a piece that continues the word before it
WORD_MARKS = ("▁", "Ġ")  # SentencePiece and byte-level BPE: a piece that starts a word
SUBWORD_MARKS = (SUBWORD_PREFIX, *WORD_MARKS)


def bare(piece: str) -> str:
    """A piece's characters without its subword or word-start mark (a lone mark stays)."""
    for mark in SUBWORD_MARKS:
        if piece.startswith(mark) and len(piece) > len(mark):
            return piece[len(mark) :]
    return piece


def fold(text: str) -> str:
    """Compatibility-decomposed, case-folded, without combining marks: 'ガ', 'ｶﾞ' and 'カ' agree."""
    decomposed = unicodedata.normalize("NFKD", text).casefold()
    return "".join(char for char in decomposed if not unicodedata.combining(char))
