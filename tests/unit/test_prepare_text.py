"""Typed [CLS]/[SEP] markers are recognised, not doubled."""

from models.extract.attention import prepare_text


def test_typed_markers_are_stripped():
    prepared = prepare_text("[CLS] The dog barked . [SEP]", None, "[CLS]", "[SEP]")
    assert prepared.first.strip() == "The dog barked ."
    assert prepared.second is None
    assert prepared.markers == ("[CLS]", "[SEP]")
    assert "[CLS] The dog barked . [SEP]"[prepared.first_offset :].startswith(prepared.first)


def test_middle_sep_splits_a_pair():
    text = "[CLS] A dog . [SEP] A cat . [SEP]"
    prepared = prepare_text(text, None, "[CLS]", "[SEP]")
    assert (prepared.first.strip(), prepared.second.strip()) == ("A dog .", "A cat .")
    assert prepared.split_at_typed_sep
    assert text[prepared.second_offset :].startswith(prepared.second)


def test_plain_text_untouched():
    prepared = prepare_text("No markers here.", None, "[CLS]", "[SEP]")
    assert (prepared.first, prepared.markers, prepared.first_offset) == ("No markers here.", (), 0)


def test_roberta_markers():
    prepared = prepare_text("<s> Hello </s>", None, "<s>", "</s>")
    assert prepared.first.strip() == "Hello" and prepared.markers == ("<s>", "</s>")
