"""The example inputs: both languages, every kind, unique keys, texts in their own language,
and the English examples read by minilm without [UNK]."""

from __future__ import annotations

from i18n import LANGUAGES, using
from models.examples import EXAMPLES, example, examples_for
from models.load.registry import REGISTRY
from models.load.vocab_check import looks_japanese


def test_each_language_has_sentences_pairs_and_a_passage():
    for language in LANGUAGES:
        kinds = [e.kind for e in examples_for(language)]
        assert kinds.count("sentence") >= 2 and kinds.count("pair") >= 2 and kinds.count("passage") == 1
    assert len({e.key for e in EXAMPLES}) == len(EXAMPLES)
    assert example("ja-cat").text == "猫がマットの上に座った。" and example("nope") is None


def test_texts_are_in_their_language_and_pairs_have_two_sentences():
    for e in EXAMPLES:
        assert looks_japanese(e.text) == (e.language == "ja"), e.key
        assert (e.text_b is not None) == (e.kind == "pair"), e.key
        assert e.model in REGISTRY, e.key
    assert all(len(e.text) > 150 for e in EXAMPLES if e.kind == "passage")


def test_labels_translate():
    for e in EXAMPLES:
        with using("ja"):
            shown = str(e.label)
        assert shown and shown != e.label, e.key
