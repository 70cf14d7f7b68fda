"""Example inputs the app offers a first-time user, in English and Japanese (written for this
project).  Each shows something the analysis can point at: a pronoun and what it refers to,
punctuation, a question and its answer, an entailment pair, a longer passage for the window
and sparse pages.  The texts stay in their own language; their labels translate.

The sample corpora ship as package data in models/data/ (found through the package, so they
travel with it): `sample_corpus()` (one sentence per line), `sample_pairs()` (TSV with a
`pair` column) and `sentiment_sentences()` (the labelled sentences of `make finetune`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

from i18n import N_, Language

Kind = Literal["sentence", "pair", "passage"]
JAPANESE_MODEL = "bert-base-japanese-v3"  # reads Japanese by MeCab words (needs the hub or a local copy)


@dataclass(frozen=True)
class Example:
    """key     stable identifier (for URLs and widget keys)
    language   the language of the text (not of the interface)
    kind       sentence | pair | passage
    label      what the example shows, translated where it is displayed (a LazyText)
    text, text_b   the input; text_b is the second sentence of a pair, else None
    model      the registry key that reads this language best (minilm cannot read Japanese:
               on it these examples get the [UNK] notice, which is worth seeing once)
    """

    key: str
    language: Language
    kind: Kind
    label: str
    text: str
    text_b: str | None = None
    model: str = "minilm"


EXAMPLES: tuple[Example, ...] = (
    Example(
        "en-lighthouse",
        "en",
        "sentence",
        N_("A plain sentence: the layer story"),
        "The old lighthouse keeper climbed the stairs before the storm reached the coast.",
    ),
    Example(
        "en-pronoun",
        "en",
        "sentence",
        N_("A pronoun and the word it refers to"),
        "The teacher thanked the student because she had stayed late to help.",
    ),
    Example(
        "en-punctuation",
        "en",
        "sentence",
        N_("Many commas: punctuation heads"),
        "Rain fell all night; by morning, the river had covered the road, the bridge, and the field.",
    ),
    Example(
        "en-question",
        "en",
        "pair",
        N_("A question and its answer: [SEP] between two sentences"),
        "Where did the engineers test the new bridge?",
        "They tested it on a windy afternoon near the harbour.",
    ),
    Example(
        "en-entailment",
        "en",
        "pair",
        N_("One sentence implies the other"),
        "A man is slicing bread in a small kitchen.",
        "Someone is preparing food.",
    ),
    Example(
        "en-passage",
        "en",
        "passage",
        N_("A longer passage for the window and sparse patterns"),
        "The ferry left the island an hour late. Fog had settled over the harbour during the night, and the "
        "captain waited until the lights on the breakwater were visible again. Most passengers stayed inside, "
        "drinking coffee and watching the grey water slide past the windows. A few children pressed their faces "
        "to the glass, hoping to see the seals that sometimes rest on the rocks near the lighthouse. By the time "
        "the mainland appeared, the sun had burned through the fog, and the crossing felt shorter than it was.",
    ),
    Example(
        "ja-cat",
        "ja",
        "sentence",
        N_("A short Japanese sentence: MeCab words"),
        "猫がマットの上に座った。",
        model=JAPANESE_MODEL,
    ),
    Example(
        "ja-bookshop",
        "ja",
        "sentence",
        N_("Time, place and a chance meeting"),
        "昨日、駅前の本屋で古い友人に偶然会った。",
        model=JAPANESE_MODEL,
    ),
    Example(
        "ja-request",
        "ja",
        "sentence",
        N_("Who asked whom: a long Japanese sentence"),
        "先生は学生に、来週の発表までに資料の誤りを直しておくよう頼んだ。",
        model=JAPANESE_MODEL,
    ),
    Example(
        "ja-question",
        "ja",
        "pair",
        N_("A Japanese question and its answer"),
        "新しい橋はいつ開通しますか。",
        "工事が順調に進めば、来年の春に開通する予定です。",
        model=JAPANESE_MODEL,
    ),
    Example(
        "ja-entailment",
        "ja",
        "pair",
        N_("A Japanese sentence that implies the other"),
        "男性が小さな台所でパンを切っている。",
        "誰かが料理の支度をしている。",
        model=JAPANESE_MODEL,
    ),
    Example(
        "ja-passage",
        "ja",
        "passage",
        N_("A longer Japanese passage for the window and sparse patterns"),
        "朝から降り続いた雨は、夕方になってようやく小降りになった。川沿いの道にはまだ大きな水たまりが残り、"
        "帰りを急ぐ人たちは足元を気にしながら歩いていた。商店街の八百屋では、店主が濡れた段ボールを片付けながら、"
        "明日の入荷について電話で話している。駅の明かりが見え始めるころには雲の切れ間から夕日が差し込み、"
        "濡れた屋根がいっせいに光った。",
        model=JAPANESE_MODEL,
    ),
)


def examples_for(language: Language, kind: Kind | None = None) -> tuple[Example, ...]:
    """The examples written in `language` (optionally of one kind), in display order."""
    return tuple(e for e in EXAMPLES if e.language == language and (kind is None or e.kind == kind))


def example(key: str) -> Example | None:
    """The example with this key, or None."""
    return next((e for e in EXAMPLES if e.key == key), None)


def data_file(name: str) -> Path:
    """The path of a file in models/data/ (package data)."""
    return Path(str(files("models") / "data" / name))


def sample_corpus() -> Path:
    """models/data/sample_corpus.txt: 322 sentences the team wrote, one per line."""
    return data_file("sample_corpus.txt")


def sample_pairs() -> Path:
    """models/data/sample_pairs.tsv: 109 sentence pairs, columns `text` and `pair`."""
    return data_file("sample_pairs.tsv")


def sentiment_sentences() -> Path:
    """models/data/sentiment.tsv: 200 short sentences labelled positive or negative."""
    return data_file("sentiment.tsv")
