"""Real browser: the Corpus page and the other pages through the top navigation.  The Corpus
page draws no sentence boxes (its run reads none; the model picker stays); its result is
still shown after a visit to another page; and the sentence of the analysis page, text and
pair, is still in the boxes and in the link when the visitor comes back to it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect
from test_e2e import head_data, settle, wait_shown

TEXT, PAIR = "The keeper fed the lions at noon.", "They roared."
RESULT = "over 30 sentences of sample_corpus.txt"


def _link(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def _go(page, title: str) -> None:
    page.get_by_role("link", name=title).click()  # the top navigation


def test_a_corpus_result_and_the_sentence_survive_a_round_trip(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    page.goto(server, timeout=90_000)
    wait_shown(page, "Layer 1, head 1", 120)
    settle(page)
    page.get_by_label("Optional second sentence (the two are analysed as a pair)").fill(PAIR)
    box = page.locator("textarea").first
    box.fill(TEXT)
    box.press("Control+Enter")
    head_data(page, "Layer 1, head 1", word="lions")
    settle(page)
    assert _link(page)["text"] == [TEXT] and _link(page)["pair"] == [PAIR]

    _go(page, "Corpus")
    wait_shown(page, "The layer story over a corpus", 120)
    settle(page)
    expect(page.locator("textarea")).to_have_count(0)  # no sentence boxes on this page
    expect(page.get_by_label("Optional second sentence (the two are analysed as a pair)")).to_have_count(0)
    expect(page.get_by_label("Model", exact=True)).to_be_visible()  # the corpus run uses it
    assert _link(page)["text"] == [TEXT]
    limit = page.get_by_label("Only the first N sentences (0 = all)")
    limit.fill("30")
    limit.press("Enter")
    settle(page)
    page.get_by_role("button", name="Analyse the corpus").click()
    wait_shown(page, RESULT, 300)
    settle(page)
    expect(page.locator("[data-testid='stDataFrame']")).to_be_visible()
    assert _link(page)["text"] == [TEXT]

    _go(page, "Sparse patterns")
    wait_shown(page, "Every pattern at a glance", 120)
    settle(page)
    expect(page.get_by_text(RESULT)).to_have_count(0)
    _go(page, "Corpus")
    wait_shown(page, RESULT, 120)  # shown again without a new run
    settle(page)
    expect(page.locator("[data-testid='stDataFrame']")).to_be_visible()
    expect(page.get_by_text("Press Analyse the corpus")).to_have_count(0)
    assert page.locator("[data-testid='stException']").count() == 0

    _go(page, "Attention analysis")
    expect(page.locator("textarea").first).to_have_value(TEXT, timeout=60_000)
    expect(page.get_by_label("Optional second sentence (the two are analysed as a pair)")).to_have_value(PAIR)
    head_data(page, "Layer 1, head 1", word="roared")  # the pair's analysis, not the default sentence's
    settle(page)
    assert _link(page)["text"] == [TEXT] and _link(page)["pair"] == [PAIR]
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()
