"""App tier: the rollout token is written into the link by position and read back by position.

AppTest keeps the link Streamlit writes from Python (st.query_params); the values the app
writes through ui.state's link component (LINK_JS, run by the browser) are applied here
as the browser applies them, so `_link` is the link a user would copy."""

from __future__ import annotations

import json

from app_runs import opened
from streamlit.testing.v1 import AppTest

TIMEOUT = 120


def _link(at: AppTest) -> dict:
    params = dict(at.query_params)
    for element in at.get("bidi_component"):
        if element.proto.component_name != "attention_link":
            continue
        for key, value in json.loads(element.proto.json).get("set", {}).items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
    return params


def _chart_titles(at: AppTest) -> list[str]:
    titles = []
    for chart in at.get("plotly_chart"):
        title = json.loads(chart.proto.spec).get("layout", {}).get("title", {})
        titles.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return titles


def _notes(at: AppTest) -> str:
    return " ".join(warning.value for warning in at.warning)


def test_a_link_made_after_choosing_a_rollout_token_reopens_at_that_token():
    first = opened(TIMEOUT)
    first.selectbox(key="rollout_token").set_value(3).run()
    assert not first.exception
    link = _link(first)
    assert link.get("rollout_token") in ("3", ["3"])  # by position, not by its label 3·sat
    again = opened(TIMEOUT, **link)
    assert again.selectbox(key="rollout_token").value == 3
    assert "could not be used" not in _notes(again)
    assert any("Where 3·sat draws from" in title for title in _chart_titles(again))


def test_the_label_form_of_older_links_still_opens_and_a_wrong_token_is_named():
    older = opened(TIMEOUT, rollout_token="3·sat")
    assert older.selectbox(key="rollout_token").value == 3
    assert "could not be used" not in _notes(older)
    assert _link(older).get("rollout_token") in ("3", ["3"])  # rewritten by position

    wrong = opened(TIMEOUT, rollout_token="3·dog")
    assert wrong.selectbox(key="rollout_token").value == 0
    assert "rollout_token=3·dog could not be used" in _notes(wrong)
    assert "0·[CLS] is shown instead" in _notes(wrong)


def test_token_of_link_reads_positions_and_this_inputs_labels_only():
    from ui.flow import token_of_link

    labels = ["0·[CLS]", "1·the", "2·cat", "3·sat", "4·[SEP]"]
    assert [token_of_link(value, labels) for value in ("3", "03", "3·sat", "0·[CLS]")] == [3, 3, 3, 0]
    for value in ("3·dog", "5", "-1", "", "three", "٣", "3·"):
        assert token_of_link(value, labels) is None, value
