"""Role rules and the diagnosis on hand-made score tables."""

import numpy as np

from models.roles import RoleThresholds, classify_heads, diagnose, role_shares, summary_layers


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
    assert "layers 6 and 5" in text


def test_summary_layers_best_first():
    assert summary_layers(np.array([0.1, 0.5, 0.3, 0.0])) == (1, 2)
    assert summary_layers(np.zeros(3)) == ()


def test_few_local_heads_are_not_called_neighbour_heads():
    """21% of attention within one token but 1 of 12 lower heads local: the message says so."""
    roles = np.array(
        [["local"] + ["broad"] * 11] + [["broad"] * 12] + [["cls"] * 12] * 2 + [["mixed"] * 12] * 2, dtype=object
    )
    partition = np.array([[0.4, 0.0, 0.21, 0.39]] * 2 + [[0.6, 0.0, 0.1, 0.3]] * 4)
    text = " ".join(d.message for d in diagnose(roles, partition, np.zeros((6, 12)), ()))
    assert "look at themselves and their neighbours" not in text
    assert "within one token (21%) than the layers above (10%), though only 4% of their heads" in text
