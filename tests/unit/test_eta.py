"""Unit tier: the corpus page's time left (ui.eta), on hand-made (time, done) points whose
smoothed rate is worked out by hand."""

from __future__ import annotations

import pytest

from ui.eta import RecentRate, split_duration

TOLERANCE = 1e-9


def test_a_steady_run_gives_its_rate_and_the_time_left():
    rate = RecentRate(smoothing=0.3)
    for time_s, done in ((0.0, 0), (10.0, 100), (20.0, 200), (30.0, 300)):
        rate.add(time_s, done)
    assert rate.rate == pytest.approx(10.0, abs=TOLERANCE)
    assert rate.seconds_left(1_000) == pytest.approx(70.0, abs=TOLERANCE)


def test_a_slowdown_weighs_the_newest_step_most():
    # smoothing 0.5: steps 1, 2, 3 weigh 0.125, 0.25, 0.5
    # amount   0.125·100 + 0.25·100 + 0.5·50 = 62.5;  seconds 0.125·10 + 0.25·10 + 0.5·10 = 8.75
    rate = RecentRate(smoothing=0.5)
    for time_s, done in ((0.0, 0), (10.0, 100), (20.0, 200), (30.0, 250)):
        rate.add(time_s, done)
    assert rate.rate == pytest.approx(62.5 / 8.75, abs=TOLERANCE)  # 7.14 per second
    assert rate.seconds_left(400) == pytest.approx(150 / (62.5 / 8.75), abs=TOLERANCE)  # 21 s
    assert rate.rate < 250 / 30  # the mean since the start (8.3 per second) would say 18 s


def test_a_slow_warm_up_fades_from_the_estimate():
    # a first chunk of 30 s (loading, warm-up), then 10 s a chunk: weights 0.3·0.7³, 0.3·0.7², 0.3·0.7, 0.3
    weights = [0.3 * 0.7**3, 0.3 * 0.7**2, 0.3 * 0.7, 0.3]
    rate = RecentRate(smoothing=0.3)
    for time_s, done in ((0.0, 0), (30.0, 100), (40.0, 200), (50.0, 300), (60.0, 400)):
        rate.add(time_s, done)
    expected = 100 * sum(weights) / (30 * weights[0] + 10 * sum(weights[1:]))
    assert rate.rate == pytest.approx(expected, abs=TOLERANCE)  # 7.87 per second
    assert 400 / 60 < rate.rate < 10  # nearer the speed now than the mean since the start


def test_uneven_chunks_count_as_long_as_they_last():
    # one step of 200 in 10 s, then a short last chunk of 20 in 1 s: the same speed
    rate = RecentRate(smoothing=0.5)
    for time_s, done in ((0.0, 0), (10.0, 200), (11.0, 220)):
        rate.add(time_s, done)
    assert rate.rate == pytest.approx(20.0, abs=TOLERANCE)


def test_no_estimate_without_a_step_a_total_or_a_speed():
    rate = RecentRate()
    assert rate.rate is None and rate.seconds_left(100) is None
    rate.add(0.0, 0)
    assert rate.rate is None and rate.seconds_left(100) is None
    rate.add(0.0, 50)  # no time has passed: ignored
    assert rate.rate is None
    rate.add(5.0, 0)  # nothing done yet
    assert rate.rate == 0 and rate.seconds_left(100) is None
    rate.add(10.0, 50)
    assert rate.seconds_left(None) is None
    assert rate.seconds_left(10) == 0  # past an underestimated total


def test_the_smoothing_must_lie_in_the_unit_interval():
    for smoothing in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="smoothing"):
            RecentRate(smoothing=smoothing)


def test_split_duration():
    assert split_duration(59.4) == (0, 0, 59)
    assert split_duration(59.6) == (0, 1, 0)
    assert split_duration(3725) == (1, 2, 5)
    assert split_duration(-3) == (0, 0, 0)
