"""How much of an input the model's vocabulary can read: the [UNK] share, and the notice.

all-MiniLM-L6-v2 (the embedded `minilm`) has an English, uncased WordPiece vocabulary.
On Japanese text it turns many kanji and kana into [UNK], and its accent stripping removes
voicing marks, so 「が」 is read as 「か」 and 「だ」 as 「た」.  An attention map over such
tokens says little about the text, so the extractor adds a notice when at least
UNREADABLE_SHARE of the content tokens are [UNK] or had characters changed this way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from i18n import N_
from models.pieces import bare, fold

UNREADABLE_SHARE = 0.2  # from this share of unreadable content tokens on, the input gets a notice
JAPANESE_MODEL = "bert-base-japanese-v3"  # the registry key the notice suggests for Japanese text
MULTILINGUAL_MODEL = "xlm-roberta-base"


@dataclass(frozen=True)
class VocabularyCheck:
    """unk_share      [UNK] tokens / content (non-special) tokens
    changed_share     content tokens whose characters the tokenizer changed (accents or
                      voicing marks stripped: 'が' read as 'か') / content tokens
    example           one changed token: "'が' read as 'か'" (a LazyText), or ""
    """

    unk_share: float
    changed_share: float
    example: str

    @property
    def unreadable_share(self) -> float:
        return self.unk_share + self.changed_share


def check_vocabulary(
    tokens: Sequence[str],
    special_mask: Sequence[bool],
    spans: Sequence[tuple[int, int]],
    sequence_ids: Sequence[int | None],
    texts: Sequence[str],
    unk_token: str | None,
) -> VocabularyCheck:
    """Count [UNK] and changed tokens among the content tokens; spans index texts[sequence id]."""
    content = [k for k, special in enumerate(special_mask) if not special]
    if not content:
        return VocabularyCheck(0.0, 0.0, "")
    unk = sum(1 for k in content if unk_token is not None and tokens[k] == unk_token)
    changed, example = 0, ""
    for k in content:
        if tokens[k] == unk_token:
            continue
        start, end = spans[k]
        sequence = sequence_ids[k] or 0
        source = texts[sequence][start:end] if sequence < len(texts) else ""
        piece = bare(tokens[k])
        if source and _lost_marks(source, piece):
            changed += 1
            example = example or N_("'{source}' read as '{piece}'").format(source=source, piece=piece)
    return VocabularyCheck(unk / len(content), changed / len(content), example)


def notice(check: VocabularyCheck, model: str, text: str) -> str | None:
    """The notice for an input the model cannot read well, or None."""
    if check.unreadable_share < UNREADABLE_SHARE:
        return None
    advice = (
        N_("For Japanese text choose a Japanese model such as '{japanese}' (it splits the text into words with MeCab).")
        if looks_japanese(text)
        else N_("Choose a model whose vocabulary covers this language, such as '{multilingual}'.")
    )
    advice = advice.format(japanese=JAPANESE_MODEL, multilingual=MULTILINGUAL_MODEL)
    if check.changed_share == 0:
        return N_(
            "{share:.0%} of this input's tokens are [UNK]: the vocabulary of '{model}' does not know "
            "them, so this attention map says little about the text. {advice}"
        ).format(share=check.unk_share, model=model, advice=advice)
    return N_(
        "{share:.0%} of this input's tokens do not match the text: {unk:.0%} are [UNK] and "
        "{changed:.0%} lost a mark to the tokenizer's normalisation (for example {example}). "
        "The attention map of '{model}' says little about this text. {advice}"
    ).format(
        share=check.unreadable_share,
        unk=check.unk_share,
        changed=check.changed_share,
        example=check.example,
        model=model,
        advice=advice,
    )


def looks_japanese(text: str) -> bool:
    """True when the text holds any kana, or kanji with no Hangul (so not Korean)."""
    kana = any("\u3040" <= char <= "\u30ff" or "\uff66" <= char <= "\uff9f" for char in text)
    kanji = any("\u4e00" <= char <= "\u9fff" for char in text)
    hangul = any("\uac00" <= char <= "\ud7af" for char in text)
    return kana or (kanji and not hangul)


def _lost_marks(source: str, piece: str) -> bool:
    """The token equals its source text only once accents/voicing marks are removed."""
    same_case = unicodedata.normalize("NFKC", source).casefold()
    return same_case != piece.casefold() and fold(source) == fold(piece) == piece.casefold()
