"""Every page in Japanese and in English (AppTest with ?lang=ja|en), and the language switch
keeping the analysis.

"Untranslated" is judged against the catalogue itself: every English message the Japanese
catalogue translates to something else is a known label, and no text a Japanese page shows may
be one of them.  Identifiers the app shows on purpose in every language (score and view names
bound to the link, model names, token labels) are options or hovers, not labels, and are not
in that list.
"""

from __future__ import annotations

import json
import re
from functools import cache

import numpy as np
import pytest
from app_runs import APP, open_page
from babel.messages.pofile import read_po
from shown_text import shown_text
from streamlit.testing.v1 import AppTest

import i18n

PAGES = ("analysis", "sparse", "dense-vs-window", "compare", "corpus")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
IDENTIFIER = re.compile(r"[a-z_.]+")  # a bound option as the link writes it: weight, norm, entropy
SWITCH = "Language / 言語"  # the switch's label is written in both languages


@cache
def known_english_labels() -> frozenset[str]:
    """English messages (without placeholders) that Japanese translates to other text."""
    with (i18n.LOCALE_DIR / "ja" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="ja")
    labels = set()
    for message in catalog:
        if not message.id or isinstance(message.id, (tuple, list)) or "{" in message.id:
            continue
        if message.string and message.string != message.id and re.search(r"[A-Za-z]{3}", message.id):
            labels.add(message.id.strip())
    return frozenset(labels)


def open_app(language: str, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = language
    at.run()
    if page != "analysis":
        open_page(at, page)
    assert not at.exception, at.exception
    return at


def test_the_list_of_known_labels_is_real():
    labels = known_english_labels()
    assert len(labels) > 150
    assert {"Layer", "Attention map analysis", "Score"} <= labels


@pytest.mark.parametrize("page", PAGES)
def test_a_japanese_page_shows_no_english_label(page):
    at = open_app("ja", page)
    shown = [(kind, text.strip()) for kind, text in shown_text(at) if text.strip() != SWITCH]
    english = [
        (kind, text)
        for kind, text in shown
        if text in known_english_labels() and not (kind.endswith(".options") and IDENTIFIER.fullmatch(text))
    ]
    assert not english, english
    headings = [text for kind, text in shown if kind in ("title", "header", "subheader")]
    assert headings and all(JAPANESE.search(text) for text in headings), headings
    labels = [text for kind, text in shown if kind.endswith(".label") and kind != "download_button.label"]
    assert labels and all(JAPANESE.search(text) for text in labels), labels  # download buttons: PNG, SVG…


@pytest.mark.parametrize("page", PAGES)
def test_an_english_page_shows_no_japanese(page):
    at = open_app("en", page)
    japanese = [(kind, text) for kind, text in shown_text(at) if JAPANESE.search(text) and SWITCH not in text]
    # the language switch names Japanese in Japanese ("日本語"), as a language list should
    assert japanese == [("radio.captions", "日本語")], japanese


def _head_z(at: AppTest, title: str) -> np.ndarray:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        layout_title = spec.get("layout", {}).get("title", {})
        text = layout_title.get("text", "") if isinstance(layout_title, dict) else str(layout_title)
        if text == title:
            z = spec["data"][0]["z"]
            if isinstance(z, dict):
                import base64

                shape = tuple(int(side) for side in str(z["shape"]).split(","))
                return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)
            return np.asarray(z, dtype=np.float64)
    raise AssertionError(f"no chart titled {title!r}")


def test_switching_the_language_keeps_the_analysis():
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = "en"
    at.run()
    sentence = "The cat sat on the mat because it was tired."
    at.text_area(key="text").set_value(sentence).run()
    at.selectbox(key="layer").set_value(3).run()
    at.selectbox(key="head").set_value(2).run()
    before = _head_z(at, "Layer 3, head 2")

    at.radio(key="lang").set_value("ja").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "アテンションマップ分析"
    assert at.text_area(key="text").value == sentence
    assert (at.selectbox(key="layer").value, at.selectbox(key="head").value) == (3, 2)
    after = _head_z(at, "第3層・ヘッド2")
    np.testing.assert_array_equal(after, before)

    at.radio(key="lang").set_value("en").run()
    assert at.title[0].value == "Attention map analysis"
    np.testing.assert_array_equal(_head_z(at, "Layer 3, head 2"), before)


def test_japanese_input_on_minilm_warns_about_unknown_tokens_in_japanese():
    at = open_app("ja", "analysis")
    at.text_area(key="text").set_value("猫がマットの上に座った。").run()
    assert not at.exception, at.exception
    warnings = [warning.value for warning in at.warning]
    assert any("[UNK]" in text and "%" in text and JAPANESE.search(text) for text in warnings), warnings
