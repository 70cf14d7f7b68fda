"""Real browser: long texts.  A 20,000-character Japanese text is analysed, its share link
(written compressed, ui.state.link_text) stays under the app's limit, and the link opened in
a fresh browser gives back exactly the same text and its analysis.  A 100,000-character paste
is refused with a visible message that names the limit, and the app goes on working.

The long text's page is not waited on to the end: minilm reads its first 512 tokens, and the
sections below the head heatmap take minutes to draw at that size on a small CPU.  The test
waits for what a reader checks first: the notice that the input was cut, and the head
heatmap of the new text."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect
from test_e2e import settle, wait_shown

from ui.inputs import MAX_TEXT_CHARS
from ui.state import LINK_TEXT_LIMIT, PACKED, text_of_link

HEAD_TITLE = "Layer 1, head 1"
CUT_NOTICE = "cut to the first 512"  # minilm reads 512 tokens: the app says so (and the link keeps it all)
WORD = "[UNK]"  # minilm reads most kanji as [UNK]; the default sentence has none
SENTENCES = (
    "今朝は駅前の小さなパン屋で焼きたてのクロワッサンを買った。",
    "図書館の窓から見える桜の木は、毎年四月の初めに満開になる。",
    "彼女は研究室で注意機構の重みを一つずつ確かめていた。",
    "雨が降り出したので、私たちは近くの喫茶店で雨宿りをした。",
    "この町の古い神社には、三百年前に建てられた門が残っている。",
    "新しい辞書を引くと、知らなかった言葉の由来が書いてあった。",
    "夕方になると、川沿いの道を散歩する人が少しずつ増えてくる。",
)


def japanese_text(length: int) -> str:
    """`length` characters of varied Japanese prose: the sentences in turn, each numbered, so
    no two stretches of the text are the same."""
    parts, size, counter = [], 0, 0
    while size < length:
        counter += 1
        part = f"第{counter}話。{SENTENCES[counter % len(SENTENCES)]}"
        parts.append(part)
        size += len(part)
    return "".join(parts)[:length]


HEAD_OF_TEXT_JS = """([title, word]) => [...document.querySelectorAll('.js-plotly-plot')].some(plot =>
  (plot.layout?.title?.text || '').startsWith(title) && plot.calcdata?.[0]?.[0]?.z
  && Array.from(plot.data[0].x).some(label => label.includes(word)))"""


def head_of_the_text_drawn(page) -> None:
    """Wait for the head heatmap of the long text: its title (with the note on the labels shown
    under it) and a key label of that text."""
    page.wait_for_function(HEAD_OF_TEXT_JS, arg=[HEAD_TITLE, WORD], timeout=300_000)


def no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Traceback").count() == 0


def test_a_100000_character_paste_says_the_limit_and_the_app_goes_on(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(server, timeout=90_000)
    wait_shown(page, HEAD_TITLE, 120)
    settle(page)
    box = page.locator("textarea").first
    huge = ("The cat sat on the mat. " * 4200)[:100_000]
    box.fill(huge)
    box.press("Control+Enter")
    message = page.locator("[data-testid='stAlert']").filter(has_text=f"at most {MAX_TEXT_CHARS:,}")
    expect(message.first).to_be_visible(timeout=120_000)
    expect(message.first).to_contain_text("100,000 characters")
    settle(page)
    no_exception(page)

    box.fill("Dogs chase cats across the garden.")  # still usable: the next text is analysed
    box.press("Control+Enter")
    expect(message).to_have_count(0, timeout=120_000)
    wait_shown(page, HEAD_TITLE, 120)
    settle(page)
    no_exception(page)
    page.close()


def test_a_20000_character_japanese_text_reopens_from_its_share_link(server, browser):
    text = japanese_text(20_000)
    assert len(text) == 20_000 and len(set(text)) > 100
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    page.goto(server, timeout=90_000)
    wait_shown(page, HEAD_TITLE, 120)
    settle(page)
    box = page.locator("textarea").first
    box.fill(text)
    box.press("Control+Enter")
    page.wait_for_function(
        "prefix => new URLSearchParams(location.search).get('text')?.startsWith(prefix)", arg=PACKED, timeout=120_000
    )
    wait_shown(page, CUT_NOTICE, 300)
    head_of_the_text_drawn(page)
    no_exception(page)

    link = page.url
    value = parse_qs(urlparse(link).query)["text"]
    assert len(value) == 1 and value[0].startswith(PACKED)
    assert text_of_link(value[0]) == text
    assert len(link) < LINK_TEXT_LIMIT  # the whole link, not only its text value
    context.close()

    fresh = browser.new_context(viewport={"width": 1400, "height": 1800})
    again = fresh.new_page()
    again.goto(link, timeout=90_000)
    expect(again.locator("textarea").first).to_have_value(text, timeout=120_000)
    wait_shown(again, CUT_NOTICE, 300)
    head_of_the_text_drawn(again)
    assert again.locator("textarea").first.input_value() == text
    assert again.get_by_text("could not be used").count() == 0
    assert again.locator("[data-testid='stAlert']").filter(has_text="characters; the text box").count() == 0
    no_exception(again)
    fresh.close()
