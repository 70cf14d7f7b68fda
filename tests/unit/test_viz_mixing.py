"""Unit tier: the context-mixing line figures (viz/mixing.py) on hand-built arrays."""

from __future__ import annotations

import numpy as np

from viz.mixing import MEASURE_COLOURS, ratio_lines, share_lines

LABELS = {"attention": "attention weight", "alti": "ALTI", "value_zeroing": "value zeroing"}
RATIOS = {
    "attention": np.array([0.9, 0.85, 0.8, 0.88]),
    "alti": np.array([0.3, 0.2, 0.25, 0.1]),
    "value_zeroing": np.array([0.4, 0.35, 0.3, 0.2]),
}


def test_ratio_lines_draw_each_measure_as_given():
    fig = ratio_lines(RATIOS, LABELS)
    assert [trace.name for trace in fig.data] == ["attention weight", "ALTI", "value zeroing"]
    for trace, (name, values) in zip(fig.data, RATIOS.items()):
        np.testing.assert_array_equal(np.asarray(trace.y), values)
        np.testing.assert_array_equal(np.asarray(trace.x), [1, 2, 3, 4])  # layers from 1
        assert trace.line.color == MEASURE_COLOURS[name]
    assert fig.data[0].line.dash == "dash" and fig.data[1].line.dash == "solid"  # the weights, for contrast
    assert fig.layout.title.text.startswith("Mixing ratio per layer")
    assert fig.layout.yaxis.title.text == "mixing ratio" and fig.layout.xaxis.title.text == "layer"
    low, high = fig.layout.yaxis.range
    assert low < 0 < 1 < high < 1.05  # 0–100%, markers at either end not cut


def test_a_measure_without_a_label_is_named_by_its_identifier():
    fig = ratio_lines({"mystery": np.array([0.5, 0.5])}, {})
    assert fig.data[0].name == "mystery"


def test_share_lines_put_cls_left_and_sep_right_with_one_legend_entry_per_measure():
    to_sep = {name: 1 - values for name, values in RATIOS.items()}
    fig = share_lines(RATIOS, to_sep, LABELS, "<s>", "</s>")
    assert len(fig.data) == 2 * len(RATIOS)
    left = [trace for trace in fig.data if trace.xaxis == "x"]
    right = [trace for trace in fig.data if trace.xaxis == "x2"]
    for traces, shares in ((left, RATIOS), (right, to_sep)):
        assert [trace.legendgroup for trace in traces] == list(shares)
        for trace, values in zip(traces, shares.values()):
            np.testing.assert_array_equal(np.asarray(trace.y), values)
    assert [trace.showlegend for trace in fig.data].count(True) == len(RATIOS)
    titles = [annotation.text for annotation in fig.layout.annotations]
    assert titles == ["share on &lt;s&gt;", "share on &lt;/s&gt;"]  # a token, never markup
    assert left[0].line.color == right[0].line.color
