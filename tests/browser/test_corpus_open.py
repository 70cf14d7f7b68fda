"""Real browser: a top sentence's Open button on the Corpus page opens it on the analysis page.

The buttons sit in a fragment, so a real click reruns the fragment only (AppTest's .run() is
always a full run).  Note that each selectbox's dropdown toggle is also a button named "Open",
so the button is found within its own element container."""

from playwright.sync_api import expect
from test_e2e import choose, settle, wait_shown


def test_open_button_sends_a_top_sentence_to_the_analysis_page(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    page.goto(f"{server}/corpus", timeout=90_000)
    wait_shown(page, "The layer story over a corpus", 120)
    settle(page)
    limit = page.get_by_label("Only the first N sentences (0 = all)")
    limit.fill("30")
    limit.press("Enter")
    settle(page)
    page.get_by_role("button", name="Analyse the corpus").click()
    wait_shown(page, "over 30 sentences", 300)
    settle(page)
    choose(page, "Layer", "3")  # the corpus page's head picker: the analysis page opens at this head
    settle(page)
    cell = page.locator(".st-key-corpus_open_highest_0")
    row = cell.locator("xpath=ancestor::*[@data-testid='stHorizontalBlock'][1]")
    sentence = row.locator("[data-testid='stText']").inner_text().split("  ‖  ")[0].strip()
    assert sentence
    cell.get_by_role("button", name="Open", exact=True).click()  # a real mouse click on the visible one
    wait_shown(page, "One head in detail", 120)
    settle(page)
    expect(page.locator("textarea").first).to_have_value(sentence, timeout=60_000)
    wait_shown(page, "Layer 3, head 1", 120)  # the layer/head selectboxes were set
    expect(page.get_by_label("Layer", exact=True)).to_have_value("3")
    assert page.get_by_text("Traceback").count() == 0
    page.close()
