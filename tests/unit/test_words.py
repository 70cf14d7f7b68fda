"""Word-level merge on a hand-built pair with split words."""

import numpy as np
import pytest

from models.score.words import merge_words, word_groups

TOKENS = ("[CLS]", "un", "##believ", "##able", "dog", "[SEP]", "un", "##real", "[SEP]")
WORD_IDS = (None, 0, 0, 0, 1, None, 0, 0, None)  # word ids restart in the second segment
SEGMENTS = (0, 0, 0, 0, 0, 0, 1, 1, 1)


def _attention(seed=0):
    weights = np.random.default_rng(seed).random((2, 9, 9))
    return weights / weights.sum(-1, keepdims=True)


def test_groups_and_labels():
    words = word_groups(TOKENS, WORD_IDS, SEGMENTS)
    assert words.labels == ("[CLS]", "unbelievable", "dog", "[SEP]", "unreal", "[SEP]")
    assert words.groups == ((0,), (1, 2, 3), (4,), (5,), (6, 7), (8,))
    assert words.merge.shape == (9, 6)


def test_same_word_id_in_two_segments_is_two_words():
    merged = word_groups(TOKENS, WORD_IDS, (0,) * 9)  # without segments both "un…" would merge
    assert (1, 2, 3, 6, 7) in merged.groups
    assert (1, 2, 3, 6, 7) not in word_groups(TOKENS, WORD_IDS, SEGMENTS).groups


def test_merge_by_hand_and_rows_sum_to_one():
    attention = _attention()
    merged = merge_words(attention, word_groups(TOKENS, WORD_IDS, SEGMENTS))
    assert merged.shape == (2, 6, 6)
    np.testing.assert_allclose(merged.sum(-1), 1.0, atol=1e-12)
    a = attention[1]
    # from "unbelievable" (rows 1–3, averaged) to "unreal" (columns 6–7, summed)
    expected = sum(a[i, 6] + a[i, 7] for i in (1, 2, 3)) / 3
    assert merged[1, 1, 4] == pytest.approx(expected, abs=1e-12)
    # from [CLS] (one row) to "unbelievable" (columns 1–3)
    assert merged[1, 0, 1] == pytest.approx(a[0, 1] + a[0, 2] + a[0, 3], abs=1e-12)
    # single tokens keep their weight
    assert merged[0, 2, 3] == pytest.approx(attention[0, 4, 5], abs=1e-12)


def test_input_is_not_modified():
    attention = _attention(1)
    before = attention.copy()
    merge_words(attention, word_groups(TOKENS, WORD_IDS, SEGMENTS))
    np.testing.assert_array_equal(attention, before)


def test_lengths_must_match():
    with pytest.raises(ValueError, match="differ in length"):
        word_groups(TOKENS, WORD_IDS[:-1], SEGMENTS)
