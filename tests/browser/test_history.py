"""Real browser: the Back button.  A new text (or model) is a new history entry, so Back
shows the previous analysis; a view tweak (layer, rollout token) replaces the entry."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect
from test_e2e import choose, head_data, settle, wait_shown

SENTENCES = (
    ("The fox jumped over the fence.", "fence"),
    ("A bird sang in the morning.", "morning"),
    ("My uncle baked fresh bread.", "bread"),
)


def _analyse(page, text: str, word: str) -> None:
    box = page.locator("textarea").first
    box.fill(text)
    box.press("Control+Enter")
    head_data(page, "Layer 1, head 1", word=word)
    settle(page)


def _shows(page, text: str, word: str) -> None:
    """The text box holds `text` and the analysis below is of it."""
    expect(page.locator("textarea").first).to_have_value(text, timeout=60_000)
    head_data(page, "Layer 1, head 1", word=word)
    settle(page)
    assert parse_qs(urlparse(page.url).query)["text"] == [text]


def _opened(browser, server, height: int):
    """A new browser context on the app, its first sentence shown and the page settled."""
    context = browser.new_context(viewport={"width": 1400, "height": height})
    page = context.new_page()
    page.goto(server, timeout=90_000)
    wait_shown(page, "Layer 1, head 1", 120)
    settle(page)
    return context, page


def test_back_after_three_sentences_shows_the_second_then_the_first(server, browser):
    context, page = _opened(browser, server, height=1800)
    for text, word in SENTENCES:
        _analyse(page, text, word)
    choose(page, "Layer", "3")  # a tweak: replaces the third sentence's entry
    wait_shown(page, "Layer 3, head 1", 60)
    settle(page)

    page.go_back()
    _shows(page, *SENTENCES[1])
    page.go_back()
    _shows(page, *SENTENCES[0])
    page.go_forward()
    _shows(page, *SENTENCES[1])
    page.go_forward()
    expect(page.locator("textarea").first).to_have_value(SENTENCES[2][0], timeout=60_000)
    wait_shown(page, "Layer 3, head 1", 60)  # the tweak came back with its sentence
    context.close()


def test_a_new_model_is_a_new_entry_and_a_rollout_token_is_not(server, browser):
    context, page = _opened(browser, server, height=2400)
    entries = page.evaluate("() => history.length")

    choose(page, "Token", "3·sat")  # the rollout's token: a tweak, written by position
    wait_shown(page, "Where 3·sat draws from", 60)
    settle(page)
    assert parse_qs(urlparse(page.url).query)["rollout_token"] == ["3"]
    assert page.evaluate("() => history.length") == entries
    link = page.url

    choose(page, "Model", "minilm-longformer")  # a new model: a new entry
    wait_shown(page, "Global tokens (attend to and from every token)", 120)
    settle(page)
    assert parse_qs(urlparse(page.url).query)["model"] == ["minilm-longformer"]
    page.wait_for_function("n => history.length === n", arg=entries + 1, timeout=30_000)
    page.go_back()
    expect(page.get_by_text("Global tokens (attend to and from every token)")).to_have_count(0, timeout=60_000)
    settle(page)
    assert "model" not in parse_qs(urlparse(page.url).query)
    assert page.url == link

    fresh = browser.new_context(viewport={"width": 1400, "height": 2400})
    again = fresh.new_page()
    again.goto(link, timeout=90_000)
    wait_shown(again, "Where 3·sat draws from", 120)
    settle(again)
    assert again.get_by_text("could not be used").count() == 0
    fresh.close()
    context.close()
