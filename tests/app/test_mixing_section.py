"""App tier: the analysis page's "What really moves" section (ui/mixing.py) with the embedded
MiniLM: its charts and diagnosis, the measure picker, value zeroing on demand, the refusal
for a Longformer model, and the share link."""

from __future__ import annotations

import json

import numpy as np
from app_runs import opened
from plotly_specs import heatmap_z
from streamlit.testing.v1 import AppTest

TIMEOUT = 180
HEADING = "What really moves: context mixing"
RATIO_TITLE = "Mixing ratio per layer"
SHARES_TITLE = "How much of each layer's mixing lands on the special tokens"


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _title(spec: dict) -> str:
    title = spec.get("layout", {}).get("title", {})
    return title.get("text", "") if isinstance(title, dict) else str(title)


def _chart(at: AppTest, start: str) -> dict:
    for spec in _specs(at):
        if _title(spec).startswith(start):
            return spec
    raise AssertionError(f"no chart titled {start!r}; titles: {[_title(spec)[:60] for spec in _specs(at)]}")


def _line_names(spec: dict) -> list[str]:
    return [trace["name"] for trace in spec["data"] if trace.get("showlegend", True)]


def _notes(at: AppTest) -> str:
    return " ".join(warning.value for warning in at.warning)


def test_the_section_shows_its_maps_lines_and_diagnosis_for_minilm():
    at = opened(TIMEOUT)
    assert HEADING in [subheader.value for subheader in at.subheader]
    assert not at.error
    assert at.selectbox(key="mix_measure").value == "attention"
    assert at.selectbox(key="mix_layer").value == 4  # a middle layer of six
    assert _chart(at, "Layer 4: attention weight")
    assert _chart(at, "attention weight, rolled out through layer 4")
    ratio = _chart(at, RATIO_TITLE)
    assert _line_names(ratio) == [
        "attention weight",
        "norm view",
        "norm with residual",
        "norm with residual and LayerNorm",
        "GlobEnc",
        "ALTI",
    ]  # measures 1–6; value zeroing only on demand
    shares = _chart(at, SHARES_TITLE)
    assert len(shares["data"]) == 2 * 6  # [CLS] and [SEP] panels
    infos = [info.value for info in at.info]
    assert any("by ALTI" in info and "a no-op, not clogged flow" in info for info in infos)
    assert any(info.startswith("Share of a token's new representation") for info in infos)


def test_switching_the_measure_redraws_the_map():
    at = opened(TIMEOUT)
    before = heatmap_z(_chart(at, "Layer 4: attention weight"))
    at.selectbox(key="mix_measure").set_value("alti").run()
    assert not at.exception
    after = heatmap_z(_chart(at, "Layer 4: ALTI"))
    assert before.shape == after.shape
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after.sum(axis=1), 1.0, atol=1e-5)  # rows of a measure sum to 1
    assert "`alti` (ALTI)" in " ".join(caption.value for caption in at.caption)


def test_ticking_value_zeroing_adds_its_line_and_measure():
    at = opened(TIMEOUT)
    box = at.checkbox(key="mix_vz")
    assert "layer reruns" in box.help
    box.check().run()
    assert not at.exception
    assert "value_zeroing" in at.selectbox(key="mix_measure").options
    assert _line_names(_chart(at, RATIO_TITLE))[-1] == "value zeroing"
    assert any("zeroing [CLS]'s value vector" in info.value for info in at.info)  # the strongest evidence


def test_a_longformer_model_gets_the_engines_message_and_nothing_else():
    at = opened(TIMEOUT)
    at.selectbox(key="model").set_value("minilm-longformer").run()
    assert not at.exception and not at.error
    assert HEADING in [subheader.value for subheader in at.subheader]
    assert any("is a Longformer model" in info.value for info in at.info)
    assert not [box for box in at.selectbox if box.key == "mix_measure"]
    assert not any(_title(spec).startswith(RATIO_TITLE) for spec in _specs(at))


def _link(at: AppTest, bound: tuple[str, ...]) -> dict:
    """The link a user would copy: what the app wrote itself (st.query_params), and each
    bound widget of `bound` as the browser writes it (its displayed option; AppTest does not
    run the browser side of bind="query-params")."""
    params = dict(at.query_params)
    for key in bound:
        widget = at.selectbox(key=key)
        params[key] = widget.format_func(widget.value)
    return params


def test_the_link_reopens_the_same_measure_and_layer():
    at = opened(TIMEOUT)
    at.selectbox(key="mix_measure").set_value("globenc").run()
    at.selectbox(key="mix_layer").set_value(2).run()
    assert not at.exception
    link = _link(at, ("mix_measure", "mix_layer"))
    assert link["mix_measure"] == "globenc" and link["mix_layer"] == "2"  # identifiers: the same in every language
    again = opened(TIMEOUT, **link)
    assert again.selectbox(key="mix_measure").value == "globenc"
    assert again.selectbox(key="mix_layer").value == 2
    assert _chart(again, "Layer 2: GlobEnc")
    assert "could not be used" not in _notes(again)
    assert "is not an option of this app" not in _notes(again)  # the keys are known link parameters


def test_a_link_to_value_zeroing_opens_with_it_computed():
    again = opened(TIMEOUT, mix_vz="true", mix_measure="value_zeroing")
    assert again.checkbox(key="mix_vz").value is True
    assert again.selectbox(key="mix_measure").value == "value_zeroing"
    assert "could not be used" not in _notes(again)
    assert "is not an option of this app" not in _notes(again)
