"""Corpus share bars: whiskers are the mean's 95% interval and stay inside [0, 1]."""

from __future__ import annotations

import numpy as np

from models.corpus.result import Estimate
from models.score.roles import ROLES
from models.score.scores import PART_NAMES
from viz.corpus import partition_bars, role_split_bars, share_interval


def _estimate(mean, std, ci) -> Estimate:
    return Estimate(np.asarray(mean, float), np.asarray(std, float), np.asarray(ci, float))


def test_interval_is_cut_to_the_share_range():
    low, high = share_interval(np.array([0.01, 0.5, 0.98, 0.2]), np.array([0.05, 0.1, 0.05, np.nan]))
    np.testing.assert_allclose(low, [0.0, 0.4, 0.93, 0.2])
    np.testing.assert_allclose(high, [0.06, 0.6, 1.0, 0.2])


def test_a_rare_role_whose_std_exceeds_its_mean_draws_no_whisker_below_zero():
    # a role taken by 2% of heads with std 10%: mean − std would be −8%
    rare = _estimate([0.02, 0.02], [0.10, 0.10], [0.012, 0.012])
    common = _estimate([0.5, 0.5], [0.2, 0.2], [0.03, 0.03])
    roles = {role: (rare if k == 0 else common) for k, role in enumerate(ROLES)}
    fig = role_split_bars(roles, sentences=300)
    for trace in fig.data:
        y = np.asarray(trace.y, float)
        minus, plus = np.asarray(trace.error_y.arrayminus, float), np.asarray(trace.error_y.array, float)
        assert (y - minus >= 0).all() and (y + plus <= 1).all()
    first = fig.data[0]
    np.testing.assert_allclose(first.error_y.arrayminus, [0.012, 0.012])  # the interval, not the std
    assert "95% interval" in fig.layout.title.text and "300 sentences" in fig.layout.title.text


def test_partition_bars_draw_every_part():
    parts = {part: _estimate([0.25] * 3, [0.1] * 3, [0.3] * 3) for part in PART_NAMES}
    fig = partition_bars(parts, sentences=2)
    assert len(fig.data) == len(PART_NAMES)
    for trace in fig.data:
        np.testing.assert_allclose(np.asarray(trace.error_y.arrayminus, float), 0.25)  # cut at 0
