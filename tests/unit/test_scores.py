"""Every score on hand-built matrices whose answers can be worked out by eye."""

import math

import numpy as np
import pytest

from models.score import scores as S

TOL = 1e-9
# tokens: [CLS] dog , [SEP]   (positions 0..3)
TOKENS = ("[CLS]", "dog", ",", "[SEP]")
SPECIAL = np.array([True, False, False, True])
CLS, SEP = (0,), (3,)


def _one_head(matrix):
    """[1 layer][1 head, N, N] read-only, as the extractor hands it over."""
    array = np.asarray(matrix, dtype=np.float32)[None]
    array.setflags(write=False)
    return (array,)


ALL_TO_CLS = _one_head([[1, 0, 0, 0]] * 4)
IDENTITY = _one_head(np.eye(4))
PREVIOUS = _one_head([[1, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
UNIFORM = _one_head(np.full((4, 4), 0.25))
MIXED = _one_head(
    [
        [0.1, 0.4, 0.3, 0.2],
        [0.5, 0.2, 0.2, 0.1],
        [0.2, 0.2, 0.2, 0.4],
        [0.3, 0.3, 0.3, 0.1],
    ]
)


def test_cls_sep_diagonal_on_pure_patterns():
    assert S.cls_score(ALL_TO_CLS, CLS)[0, 0] == pytest.approx(1.0, abs=TOL)
    assert S.sep_score(ALL_TO_CLS, SEP)[0, 0] == pytest.approx(0.0, abs=TOL)
    assert S.diagonal_score(IDENTITY)[0, 0] == pytest.approx(1.0, abs=TOL)
    assert S.diagonal_score(ALL_TO_CLS)[0, 0] == pytest.approx(0.25, abs=TOL)  # only row 0 hits its own column


def test_mixed_matrix_by_hand():
    assert S.cls_score(MIXED, CLS)[0, 0] == pytest.approx((0.1 + 0.5 + 0.2 + 0.3) / 4)
    assert S.sep_score(MIXED, SEP)[0, 0] == pytest.approx((0.2 + 0.1 + 0.4 + 0.1) / 4)
    assert S.diagonal_score(MIXED)[0, 0] == pytest.approx((0.1 + 0.2 + 0.2 + 0.1) / 4)
    assert S.prev_score(MIXED)[0, 0] == pytest.approx((0.5 + 0.2 + 0.3) / 4)
    assert S.next_score(MIXED)[0, 0] == pytest.approx((0.4 + 0.2 + 0.4) / 4)
    assert S.punct_score(MIXED, TOKENS)[0, 0] == pytest.approx((0.3 + 0.2 + 0.2 + 0.3) / 4)
    assert S.cls_out_score(MIXED, CLS, SPECIAL)[0, 0] == pytest.approx(0.4 + 0.3)


def test_query_mask_excludes_special_rows():
    rows = S.query_rows(SPECIAL, exclude_special=True)
    assert rows.tolist() == [False, True, True, False]
    assert S.cls_score(MIXED, CLS, rows)[0, 0] == pytest.approx((0.5 + 0.2) / 2)
    assert S.prev_score(MIXED, rows)[0, 0] == pytest.approx((0.5 + 0.2) / 2)


def test_prev_is_one_except_first_row():
    assert S.prev_score(PREVIOUS)[0, 0] == pytest.approx(3 / 4)


def test_entropy_is_normalised():
    assert S.entropy_score(UNIFORM)[0, 0] == pytest.approx(1.0, abs=1e-6)
    assert S.entropy_score(IDENTITY)[0, 0] == pytest.approx(0.0, abs=1e-6)
    row = np.array([0.1, 0.4, 0.3, 0.2])
    expected = -(row * np.log(row)).sum() / math.log(4)
    assert S.entropy_score(_one_head([row] * 4))[0, 0] == pytest.approx(expected, abs=1e-6)


def test_entropy_means_the_same_at_any_length():
    for n in (8, 128, 512):
        uniform = _one_head(np.full((n, n), 1.0 / n))
        assert S.entropy_score(uniform)[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_partition_by_hand_and_sums_to_one():
    parts = S.mass_partition(MIXED, CLS, SEP, SPECIAL)[0, 0]
    # near-diagonal keys (|i-j| <= 1, not special): row0 -> key1; row1 -> keys1,2; row2 -> keys1,2; row3 -> key2
    near = (0.4 + (0.2 + 0.2) + (0.2 + 0.2) + 0.3) / 4
    to_cls = (0.1 + 0.5 + 0.2 + 0.3) / 4
    to_sep = (0.2 + 0.1 + 0.4 + 0.1) / 4
    assert parts == pytest.approx([to_cls, to_sep, near, 1 - to_cls - to_sep - near])
    assert parts.sum() == pytest.approx(1.0, abs=1e-12)


def test_two_sep_tokens_are_summed():
    attention = _one_head(np.full((5, 5), 0.2))
    assert S.sep_score(attention, (2, 4))[0, 0] == pytest.approx(0.4)


def test_scores_never_mutate_input_and_have_layer_head_shape():
    rng = np.random.default_rng(0)
    raw = rng.random((3, 2, 6, 6)).astype(np.float32)
    raw /= raw.sum(-1, keepdims=True)
    before = raw.copy()
    special = np.array([1, 0, 0, 0, 0, 1], bool)
    for values in (
        S.cls_score(raw, (0,)),
        S.sep_score(raw, (5,)),
        S.diagonal_score(raw),
        S.entropy_score(raw),
        S.punct_score(raw, ("[CLS]", "a", ".", "b", ",", "[SEP]")),
        S.cls_out_score(raw, (0,), special),
    ):
        assert values.shape == (3, 2)
        assert ((values >= -TOL) & (values <= 1 + 1e-6)).all()
    assert S.mass_partition(raw, (0,), (5,), special).shape == (3, 2, 4)
    np.testing.assert_array_equal(raw, before)


def test_punctuation_positions_ignore_subword_marks():
    assert S.punctuation_positions(("<s>", "Ġ,", "word", ".", "##,", "!")) == (1, 3, 4)


def test_empty_query_mask_is_an_error():
    with pytest.raises(ValueError, match="No query rows"):
        S.cls_score(MIXED, CLS, np.zeros(4, bool))
