"""Two visitors at once: a corpus run in one app session while another opens norm-view links.

Both sessions share the process's cached model, as on a real server.  Every number each
session shows must equal what it shows alone (the corpus table) or what the engine gives
for that sentence alone (the norm-view heatmap, computed after both sessions finished).
"""

from __future__ import annotations

import json

import numpy as np
from app_runs import APP, open_page
from side_by_side import side_by_side
from streamlit.testing.v1 import AppTest

from models.extract.attention import extract
from models.load.loading import load_model
from models.score.views import view_layer

TIMEOUT = 600
SENTENCES = [  # not the default text, so no earlier test has cached them
    "Two sessions share one model but never its captured tensors.",
    "The miller counted his sacks twice before dawn.",
    "A quiet river ran past the old mill.",
]


def _corpus_table() -> object:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    open_page(at, "corpus")
    at.number_input(key="corpus_limit").set_value(160).run()
    at.button(key="corpus_run").click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    return at.dataframe[0].value.reset_index(drop=True)


def _norm_head(text: str) -> np.ndarray:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["text"] = text
    at.query_params["view"] = "norm"
    at.run()
    assert not at.exception and not at.error, (at.exception, at.error)
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("layout", {}).get("title", {})
        if "Layer 1, head 1" in (title.get("text", "") if isinstance(title, dict) else str(title)):
            return _z(spec)
    raise AssertionError("no head heatmap")


def _z(spec: dict) -> np.ndarray:
    import base64

    z = spec["data"][0]["z"]
    if isinstance(z, dict):
        shape = tuple(int(side) for side in str(z["shape"]).split(","))
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape).astype(np.float64)
    return np.asarray(z, dtype=np.float64)


def test_a_corpus_run_and_norm_view_links_at_once_show_the_numbers_of_each_alone():
    table, heads = side_by_side(_corpus_table, lambda: {text: _norm_head(text) for text in SENTENCES})

    minilm = load_model("minilm")  # a model of its own: nothing shared with the sessions above
    for text in SENTENCES:
        result = extract(minilm, text)
        alone = np.asarray(view_layer(result, 0, "norm")[0], dtype=np.float64)
        np.testing.assert_allclose(heads[text], alone, atol=1e-6, err_msg=text)
    alone_table = _corpus_table()
    assert table.equals(alone_table)
