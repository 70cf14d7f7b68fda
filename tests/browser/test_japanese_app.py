"""The app in Japanese in a real browser: opened with ?lang=ja, a sentence analysed, the head
heatmap downloaded as PNG and SVG, then switched to English without losing the analysis.

The PNG's title is checked for real glyphs without a reference image: a character no font has
is drawn as one fixed box (the .notdef glyph), so a title of missing glyphs breaks into pieces
of one size, while 「第1層・ヘッド1」 drawn properly has pieces of many sizes (the small dot,
the wide ヘ, the tall 第).  The method is shown to tell the two apart on a title of Private Use
Area characters (in no font) rendered through the same export.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from test_e2e import head_data, settle
from test_japanese_font import japanese_font  # noqa: F401  (fails in CI without the font)

TITLE_JA = "第1層・ヘッド1"
TITLE_EN = "Layer 1, head 1"
SENTENCE = "The dog chased the cat."


def title_pieces(png: bytes) -> list[tuple[int, int]]:
    """The (width, height) of each inked piece of the topmost line of text in a PNG: pieces are
    runs of inked columns within the first band of inked rows."""
    ink = np.asarray(Image.open(io.BytesIO(png)).convert("L")) < 128
    rows = ink.any(axis=1)
    top = int(np.argmax(rows))
    bottom = top
    while bottom < len(rows) and rows[bottom]:
        bottom += 1
    band = ink[top:bottom]
    columns = band.any(axis=0)
    pieces, start = [], None
    for x, inked in enumerate([*columns, False]):
        if inked and start is None:
            start = x
        elif not inked and start is not None:
            inked_rows = np.flatnonzero(band[:, start:x].any(axis=1))
            pieces.append((x - start, int(inked_rows[-1] - inked_rows[0] + 1)))
            start = None
    return pieces


def distinct_sizes(pieces: list[tuple[int, int]]) -> int:
    return len({(width // 3, height // 3) for width, height in pieces})


def test_the_piece_sizes_tell_glyphs_from_boxes():
    from viz import export
    from viz.heatmaps import head_heatmap

    tokens = ["[CLS]", "the", "dog", "[SEP]"]
    special = np.array([True, False, False, True])
    weights = np.full((4, 4), 0.25)
    missing = "\ue000\ue001\ue002\ue003\ue004\ue005\ue006"
    boxes = title_pieces(export.figure_image(head_heatmap(weights, tokens, special, title=missing), "png", scale=2))
    glyphs = title_pieces(export.figure_image(head_heatmap(weights, tokens, special, title=TITLE_JA), "png", scale=2))
    assert len(boxes) == len(missing) and distinct_sizes(boxes) <= 2, boxes
    assert distinct_sizes(glyphs) >= 5, glyphs


def test_japanese_page_exports_a_japanese_title_and_switches_to_english(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1800}, accept_downloads=True, locale="en-US")
    page.goto(f"{server}/?lang=ja", timeout=90_000)
    text_area = page.locator("textarea").first
    text_area.wait_for(timeout=90_000)
    text_area.fill(SENTENCE)
    text_area.press("Control+Enter")
    page.get_by_text(TITLE_JA).first.wait_for(timeout=120_000)
    settle(page)
    assert page.get_by_role("heading", name="アテンションマップ分析").count() == 1
    drawn = head_data(page, TITLE_JA, word="dog")  # the default text has a cat, not a dog
    settle(page)
    assert "dog" in " ".join(drawn["x"])

    with page.expect_download(timeout=120_000) as download_info:
        page.locator(".st-key-dl_head_png button").click()  # the head heatmap's own
    png = tmp_path / "head.png"
    download_info.value.save_as(png)
    pieces = title_pieces(png.read_bytes())
    assert len(pieces) >= len(TITLE_JA) - 1 and distinct_sizes(pieces) >= 5, pieces

    with page.expect_download(timeout=120_000) as download_info:
        page.locator(".st-key-dl_head_svg button").click()
    svg = tmp_path / "head.svg"
    download_info.value.save_as(svg)
    assert TITLE_JA in svg.read_text(encoding="utf-8")

    switch = page.locator('[data-testid="stRadio"]').filter(has_text="Language / 言語")
    switch.get_by_text("en", exact=True).click()
    page.get_by_text(TITLE_EN).first.wait_for(timeout=120_000)
    settle(page)
    assert page.locator("textarea").first.input_value() == SENTENCE
    assert page.get_by_role("heading", name="Attention map analysis").count() == 1
    assert head_data(page, TITLE_EN)["z"] == drawn["z"]
    # English is this browser's language, the switch's default, so the link drops lang=
    assert "lang=" not in page.url and "text=The+dog" in page.url
    assert page.get_by_text("Traceback").count() == 0
    page.close()
