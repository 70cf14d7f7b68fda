"""Numbers out of the plotly specs an AppTest page holds (`json.loads(chart.proto.spec)`)."""

from __future__ import annotations

import base64

import numpy as np


def plotly_array(value) -> np.ndarray:
    """A plotly JSON array: a list, or (plotly 6+) {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(value, dict):
        shape = tuple(int(side) for side in str(value["shape"]).split(","))
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape)
    return np.asarray(value, dtype=np.float64)


def heatmap_z(spec: dict) -> np.ndarray:
    """The first trace's z (a heatmap's [row, column] values) as an array."""
    return plotly_array(spec["data"][0]["z"])
