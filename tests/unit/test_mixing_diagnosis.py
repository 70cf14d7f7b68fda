"""The no-op diagnosis on hand-built per-layer shares, and the rollout / share helpers on
hand-built matrices."""

import numpy as np
import pytest

from models.mixing import measures as M
from models.mixing.diagnosis import diagnose_mixing
from models.mixing.run import ContextMixing, check_measures

TOKENS = ("[CLS]", "a", "b", "[SEP]")


def _mixing(weight_cls, evidence=None, evidence_cls=None, norm_cls=None):
    """A ContextMixing whose [CLS] shares per layer are given (the matrices are placeholders)."""
    layers = len(weight_cls)
    shares = {"attention": np.array(weight_cls)}
    if evidence is not None:
        shares[evidence] = np.array(evidence_cls)
    if norm_cls is not None:
        shares["attention_norm"] = np.array(norm_cls)
    names = check_measures(list(shares))
    flat = np.full((layers, 4, 4), 0.25)
    return ContextMixing(
        tokens=TOKENS,
        cls_positions=(0,),
        sep_positions=(3,),
        model="hand-built",
        measures=names,
        layers={name: flat for name in names},
        rollout={name: flat for name in names},
        mixing_ratio={name: np.full(layers, 0.75) for name in names},
        to_cls={name: shares[name] for name in names},
        to_sep={name: np.full(layers, 0.05) for name in names},
        sink_rate=np.zeros(layers),
        sink_keys=np.full((layers, 2), -1),
    )


def _messages(mixing):
    return [(d.level, str(d.message)) for d in diagnose_mixing(mixing)]


def test_value_zeroing_calls_heavy_cls_weight_a_no_op():
    found = _messages(_mixing([0.2, 0.6, 0.7, 0.2], "value_zeroing", [0.1, 0.05, 0.1, 0.1], [0.1, 0.1, 0.2, 0.1]))
    assert found[0] == (
        "info",
        "Layers 2–3 put 65% of their attention weight on [CLS], yet zeroing [CLS]'s value vector accounts for "
        "only 8% of the change in the layer's output: a no-op, not clogged flow.",
    )
    assert "norm view" in found[1][1] and "15%" in found[1][1]
    assert not any(level == "warning" for level, _ in found)


def test_clogged_flow_fires_on_the_evidence_not_the_weights():
    found = _messages(_mixing([0.2, 0.5, 0.2], "value_zeroing", [0.1, 0.45, 0.1]))
    assert found[0][0] == "warning" and "Layer 2 puts 50%" in found[0][1] and "45%" in found[0][1]


def test_alti_is_the_evidence_without_value_zeroing():
    found = _messages(_mixing([0.6, 0.6], "alti", [0.05, 0.07]))
    assert found[0][0] == "info" and "by ALTI" in found[0][1] and "6%" in found[0][1]


def test_between_no_op_and_clogged():
    found = _messages(_mixing([0.6], "alti", [0.35]))
    assert "part of that weight carries information" in found[0][1]


def test_weights_alone_do_not_decide():
    found = _messages(_mixing([0.1, 0.8]))
    assert "cannot tell a no-op from clogged flow" in found[0][1]


def test_no_heavy_layer():
    found = _messages(_mixing([0.1, 0.2], "value_zeroing", [0.1, 0.1]))
    assert found[0][1].startswith("No layer puts 40% or more")


def test_rollout_with_and_without_residual():
    m = np.array([[[0.0, 1.0], [1.0, 0.0]], [[0.5, 0.5], [0.0, 1.0]]])
    plain = M.rollout(m, residual=True)
    np.testing.assert_allclose(plain[1], m[1] @ m[0])
    half = M.rollout(m, residual=False)
    np.testing.assert_allclose(half[0], [[0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_allclose(half[1], np.array([[0.75, 0.25], [0.0, 1.0]]) @ half[0])


def test_mixing_ratio_and_shares():
    m = np.array([[[0.5, 0.25, 0.25], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]])
    assert M.mixing_ratio(m)[0] == pytest.approx(1 - (0.5 + 0.0 + 0.5) / 3)
    assert M.share_to(m, [0])[0] == pytest.approx(0.5)
    assert M.share_to(m, [1, 2])[0] == pytest.approx(0.5)


def test_unknown_measure_is_named():
    with pytest.raises(ValueError, match="Unknown measure 'rollout'"):
        check_measures(["alti", "rollout"])
