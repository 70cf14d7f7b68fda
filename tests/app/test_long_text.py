"""App tier: a text over the text box's limit is refused with a message that names the limit
(and the app analyses the next text); a long text travels in the link compressed."""

from __future__ import annotations

import random

from app_runs import APP
from streamlit.testing.v1 import AppTest

from ui.inputs import DEFAULT_TEXT, MAX_TEXT_CHARS
from ui.state import PACKED, link_text

TIMEOUT = 120
JAPANESE = ("猫がマットの上に座った。" * 2000)[:20_000]


def _charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def test_a_text_over_the_limit_says_so_and_the_app_recovers():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    at.text_area(key="text").set_value("The cat sat on the mat. " * 4167).run()  # 100,008 characters
    assert not at.exception
    errors = " ".join(error.value for error in at.error)
    assert f"{MAX_TEXT_CHARS:,}" in errors and "100,008" in errors
    assert "minilm-longformer" in errors and "Corpus" in errors and "cli.py analyze" in errors
    assert not _charts(at)  # no result of the old text left on screen
    at.text_area(key="text").set_value("Dogs chase cats across the garden.").run()
    assert not at.exception and not at.error and _charts(at)


def test_a_compressed_link_text_opens_as_the_original_text():
    value = link_text(JAPANESE)
    assert value is not None and value.startswith(PACKED)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["text"] = value
    at.query_params["model"] = "minilm-longformer"
    at.run()
    assert not at.exception
    assert at.text_area(key="text").value == JAPANESE
    assert not any("text=" in warning.value for warning in at.warning)


def test_a_broken_compressed_link_text_is_named_and_the_default_used():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["text"] = "z:not-a-packed-text"
    at.run()
    assert not at.exception
    assert at.text_area(key="text").value == DEFAULT_TEXT
    assert any("text=z:not-a-packed-text could not be used" in warning.value for warning in at.warning)


def test_a_plain_link_text_still_opens():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["text"] = "The dog chased the cat."
    at.run()
    assert not at.exception and not at.error
    assert at.text_area(key="text").value == "The dog chased the cat."


def test_the_link_holds_a_short_text_as_it_is_a_long_one_compressed_and_a_huge_one_not():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert "text" not in at.query_params  # the default sentence is left out, as a bound widget does
    at.text_area(key="text").set_value("Short one.").run()
    assert at.query_params["text"] in ("Short one.", ["Short one."])
    at.text_area(key="text").set_value(JAPANESE).run()
    written = at.query_params["text"]
    written = written[-1] if isinstance(written, list) else written
    assert written == link_text(JAPANESE) and len(written) < 10_000
    assert not any("too long to share" in caption.value for caption in at.caption)
    rng = random.Random(0)
    huge = "".join(chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(30_000))  # within the box's limit
    assert link_text(huge) is None
    at.text_area(key="text").set_value(huge).run()
    assert not at.exception
    assert "text" not in at.query_params
    assert any("too long to share by link" in caption.value for caption in at.caption)
