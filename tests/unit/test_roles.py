"""Role rules and the diagnosis on hand-made score tables."""

import numpy as np

from models.score.roles import RoleThresholds, classify_heads, diagnose, role_shares, summary_layers


def _scores(**overrides):
    base = {name: np.zeros((1, 1)) for name in ("cls", "sep", "diagonal", "prev", "next", "punct", "entropy")}
    base.update({name: np.array([[value]]) for name, value in overrides.items()})
    return base


def test_each_rule():
    assert classify_heads(_scores(cls=0.7))[0, 0] == "cls"
    assert classify_heads(_scores(cls=0.3, sep=0.4))[0, 0] == "sep"
    assert classify_heads(_scores(prev=0.55))[0, 0] == "local"
    assert classify_heads(_scores(diagonal=0.5))[0, 0] == "local"
    assert classify_heads(_scores(punct=0.6))[0, 0] == "punct"
    assert classify_heads(_scores(entropy=0.8))[0, 0] == "broad"
    assert classify_heads(_scores(entropy=0.5, cls=0.2))[0, 0] == "mixed"


def test_special_rule_wins_over_local_and_thresholds_override():
    assert classify_heads(_scores(cls=0.6, prev=0.9))[0, 0] == "cls"
    assert classify_heads(_scores(cls=0.6), RoleThresholds(special=0.7))[0, 0] == "mixed"


def test_role_shares_rows_sum_to_one():
    roles = np.array([["cls", "cls", "local", "mixed"], ["sep", "sep", "sep", "sep"]], dtype=object)
    shares = role_shares(roles)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert shares[1].max() == 1.0


def test_clogged_warning_only_when_almost_every_head_is_special():
    clogged = np.full((6, 4), "cls", dtype=object)
    partition = np.tile([0.8, 0.1, 0.05, 0.05], (6, 1))
    cls_out = np.zeros((6, 4))
    assert any(d.level == "warning" for d in diagnose(clogged, partition, cls_out, ()))
    healthy = clogged.copy()
    healthy[:2] = "local"
    assert not any(d.level == "warning" for d in diagnose(healthy, partition, cls_out, ()))


def test_layer_story_messages():
    roles = np.array(
        [["local"] * 4, ["local"] * 4, ["sep"] * 4, ["sep"] * 4, ["mixed"] * 4, ["mixed"] * 4], dtype=object
    )
    partition = np.array([[0.1, 0.0, 0.7, 0.2]] * 2 + [[0.1, 0.6, 0.1, 0.2]] * 2 + [[0.2, 0.1, 0.1, 0.6]] * 2)
    cls_out = np.array([[0.0] * 4] * 4 + [[0.8] * 4] * 2)
    text = " ".join(d.message for d in diagnose(roles, partition, cls_out, (5, 4)))
    assert "Layers 1–2 look at themselves and their neighbours" in text
    assert "Layers 3–4 send 60% of attention to [SEP]" in text
    assert "In layers 5–6, [CLS] spends 80%" in text
    assert (
        "Best [CLS] sentence-summary candidates: layer 6 (its [CLS] puts 80% of its attention on the words and "
        "spreads it over them) and layer 5 (its [CLS] puts 80%"
    ) in text  # each candidate with its reason


def test_summary_layers_best_first():
    assert summary_layers(np.array([0.1, 0.5, 0.3, 0.0])) == (1, 2)
    assert summary_layers(np.zeros(3)) == ()


def test_few_local_heads_are_not_called_neighbour_heads():
    """21% of attention near the diagonal but 1 of 12 lower heads local: the message says so."""
    roles = np.array(
        [["local"] + ["broad"] * 11] + [["broad"] * 12] + [["cls"] * 12] * 2 + [["mixed"] * 12] * 2, dtype=object
    )
    partition = np.array([[0.4, 0.0, 0.21, 0.39]] * 2 + [[0.6, 0.0, 0.1, 0.3]] * 4)
    text = " ".join(d.message for d in diagnose(roles, partition, np.zeros((6, 12)), ()))
    assert "look at themselves and their neighbours" not in text
    assert (
        "near the diagonal (the token itself and its neighbours: 21%) than the layers above (10%), though only 4% "
        "of their heads"
    ) in text


def _story(roles, partition, cls_out, summary=(), pair=False) -> str:
    return " ".join(d.message for d in diagnose(roles, partition, cls_out, summary, pair=pair))


def test_cls_focus_low_and_middle_is_one_claim_over_both():
    roles = np.array([["cls"] * 4] * 4 + [["mixed"] * 4] * 2, dtype=object)
    partition = np.array([[0.5, 0.1, 0.1, 0.3]] * 2 + [[0.7, 0.1, 0.1, 0.1]] * 2 + [[0.1, 0.1, 0.1, 0.7]] * 2)
    text = _story(roles, partition, np.zeros((6, 4)))
    assert "Layers 1–4 gather 60% of attention into [CLS]" in text
    assert text.count("attention into [CLS]") + text.count("attention to [CLS]") == 1  # not 1–2 and 3–4 apart
    assert "[SEP] receives about 10% of the attention in every layer." in text


def test_sep_is_named_per_layer_and_for_a_pair():
    roles = np.array([["mixed"] * 4] * 6, dtype=object)
    partition = np.array([[0.1, sep, 0.1, 0.8 - sep] for sep in (0.02, 0.05, 0.3, 0.2, 0.1, 0.04)])
    single = _story(roles, partition, np.zeros((6, 4)))
    assert "[SEP] receives the most attention in layer 3 (30%), the least in layer 1 (2%)." in single
    pair = _story(roles, partition, np.zeros((6, 4)), pair=True)
    assert (
        "In this pair, [SEP] (between the two sentences and at the end) receives the most attention in layer 3" in pair
    )
    unused = np.array([[0.1, 0.03, 0.1, 0.77]] * 6)
    assert "This model hardly uses [SEP] here: no layer sends more than 3% of its attention to it." in _story(
        roles, unused, np.zeros((6, 4))
    )


def test_a_layer_that_is_only_broad_is_no_summary_candidate():
    roles = np.array([["broad"] * 4] * 6, dtype=object)
    partition = np.tile([0.1, 0.1, 0.1, 0.7], (6, 1))
    cls_out = np.array([[0.1] * 4] * 5 + [[0.9] * 4])  # layer 6's [CLS] reads the words; layer 5's hardly
    text = _story(roles, partition, cls_out, summary=(4, 5))
    assert "candidate: layer 6 (its [CLS] puts 90% of its attention on the words" in text
    assert "layer 5 (" not in text


def test_a_token_the_view_comparison_already_named_gets_no_second_claim():
    roles = np.array([["cls"] * 4] * 4 + [["mixed"] * 4] * 2, dtype=object)
    partition = np.array([[0.5, 0.3, 0.1, 0.1]] * 2 + [[0.7, 0.1, 0.1, 0.1]] * 2 + [[0.1, 0.1, 0.1, 0.7]] * 2)
    alone = _story(roles, partition, np.zeros((6, 4)))
    assert "gather 60% of attention into [CLS]" in alone
    told = " ".join(d.message for d in diagnose(roles, partition, np.zeros((6, 4)), (), said={"cls"}))
    assert "into [CLS]" not in told and "to [CLS]" not in told
