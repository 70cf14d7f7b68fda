"""The diagnosis comparing the two views, on hand-made partitions, roles and norms."""

import numpy as np

from models.score.view_compare import compare_views, layers_phrase, size_phrase

SPECIAL = {"cls": ((0,), "[CLS]"), "sep": ((5,), "[SEP]")}
MASK = np.array([True, False, False, False, False, True])


def _partition(to_cls, to_sep=0.05):
    """[L, 4] layer partitions with the given to-CLS share per layer."""
    rows = []
    for share in to_cls:
        rest = 1 - share - to_sep - 0.1
        rows.append([share, to_sep, 0.1, rest])
    return np.array(rows)


def _norms(cls, word, sep=1.0):
    norms = np.full((4, 2, 6), word)
    norms[:, :, 0], norms[:, :, 5] = cls, sep
    return norms


def test_phrases():
    assert layers_phrase([1, 2, 3, 4]) == "layers 2–5"
    assert layers_phrase([0, 2, 3]) == "layers 1 and 3–4"
    assert layers_phrase([0, 2, 4]) == "layers 1, 3 and 5"
    assert layers_phrase([5]) == "layer 6"
    assert size_phrase(25.0, "[CLS]") == "25× smaller than the words'"
    assert size_phrase(2.0, "[CLS]") == "2.0× smaller than the words'"
    assert size_phrase(1.1, "[CLS]") == "about as large as the words'"
    assert size_phrase(0.25, "[CLS]") == "4.0× larger than the words'"


def test_no_op_message_numbers():
    weight, norm = _partition([0.1, 0.6, 0.56, 0.2]), _partition([0.05, 0.14, 0.12, 0.1])
    roles = np.full((4, 2), "mixed", dtype=object)
    found = compare_views(weight, norm, roles, roles, _norms(0.16, 4.0), SPECIAL, MASK)
    assert len(found) == 1 and found[0].level == "info"
    assert found[0].message == (
        "Layers 2–3 put 58% of their attention weight on [CLS], but [CLS]'s value vectors are 25× smaller "
        "than the words', so only 13% of what these heads move comes from [CLS] (norm view, Kobayashi et al. "
        "2020). Heavy [CLS] attention here is mostly a no-op, not clogged flow."
    )


def test_real_information_message():
    weight, norm = _partition([0.5, 0.5, 0.1, 0.1]), _partition([0.44, 0.4, 0.1, 0.1])
    roles = np.full((4, 2), "mixed", dtype=object)
    found = compare_views(weight, norm, roles, roles, _norms(3.0, 3.0), SPECIAL, MASK)
    assert "42% of what these heads move comes from [CLS]" in found[0].message
    assert "carries real information" in found[0].message


def test_clogged_warning_follows_the_norm_view():
    weight = norm = _partition([0.1] * 4)
    clogged = np.full((4, 2), "cls", dtype=object)
    healthy = np.full((4, 2), "broad", dtype=object)
    by_norm = compare_views(weight, norm, healthy, clogged, _norms(1, 1), SPECIAL, MASK)
    assert [d.level for d in by_norm] == ["warning"]
    assert "100% of heads" in by_norm[0].message and "The two views disagree" in by_norm[0].message
    by_weight = compare_views(weight, norm, clogged, healthy, _norms(1, 1), SPECIAL, MASK)
    assert [d.level for d in by_weight] == ["info"]
    assert "By attention weight 100% of heads" in by_weight[0].message
    assert "by norm only 0% of heads" in by_weight[0].message and "not clogged" in by_weight[0].message
    both = compare_views(weight, norm, clogged, clogged, _norms(1, 1), SPECIAL, MASK)
    assert [d.level for d in both] == ["warning"] and "disagree" not in both[0].message
    assert compare_views(weight, norm, healthy, healthy, _norms(1, 1), SPECIAL, MASK) == ()
