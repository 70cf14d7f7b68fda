"""Browser tier: the "What really moves" section's mixing-ratio chart, downloaded through its
own buttons in a real Chromium and looked at as a picture (PNG) and as a drawing whose every
label lies inside the canvas (SVG); and the line figures at the smallest and largest font."""

from __future__ import annotations

import io

import numpy as np
import pytest
from test_e2e import settle
from test_exports import assert_all_inside, label_boxes

from viz.mixing import MEASURE_COLOURS

SECTION = "What really moves: context mixing"
FIRST_SIX = ("attention", "attention_norm", "attention_norm_res", "attention_norm_res_ln", "globenc", "alti")
COLOUR_TOLERANCE = 12  # per channel: antialiased line pixels near the stroke's centre


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])


def _has_colour(pixels: np.ndarray, hex_colour: str, at_least: int = 30) -> bool:
    near = np.abs(pixels.astype(int) - _rgb(hex_colour)).max(axis=-1) <= COLOUR_TOLERANCE
    return int(near.sum()) >= at_least


def _download(page, selector: str, path) -> bytes:
    with page.expect_download(timeout=180_000) as download_info:
        page.locator(selector).click()
    download_info.value.save_as(path)
    return path.read_bytes()


def test_the_mixing_ratio_chart_exports_as_a_picture_with_every_label_inside(server, browser, tmp_path):
    from PIL import Image

    page = browser.new_page(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
    page.goto(server, timeout=90_000)
    heading = page.get_by_role("heading", name=SECTION)
    heading.wait_for(timeout=240_000)
    png_button = page.locator(".st-key-dl_mixing_ratio_chart_png button")
    png_button.wait_for(timeout=240_000)
    settle(page)
    heading.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "section.png"))  # kept beside the test's files for a look

    png = _download(page, ".st-key-dl_mixing_ratio_chart_png button", tmp_path / "ratio.png")
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    height, width, _ = pixels.shape
    assert width >= 2 * 500 and height >= 2 * 300  # exported at scale 2
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200  # drawn, not blank
    assert (pixels[:2] >= 250).all() and (pixels[-2:] >= 250).all()  # nothing cut at the edges
    for name in FIRST_SIX:
        assert _has_colour(pixels, MEASURE_COLOURS[name]), f"no {name} line in the PNG"
    assert not _has_colour(pixels, MEASURE_COLOURS["value_zeroing"])  # not ticked

    svg = _download(page, ".st-key-dl_mixing_ratio_chart_svg button", tmp_path / "ratio.svg")
    canvas, labels = label_boxes(browser, svg)
    assert_all_inside(canvas, labels, [str(layer) for layer in range(1, 7)] + ["0%", "100%"])
    text = svg.decode("utf-8")
    assert "Mixing ratio per layer" in text and "ALTI" in text
    assert page.get_by_text("Traceback").count() == 0
    page.close()


@pytest.mark.parametrize("font", (8, 32))
def test_the_line_figures_keep_titles_legends_and_labels_inside_at_any_font(browser, font):
    from viz import export
    from viz.layout import FigureSettings
    from viz.mixing import ratio_lines, share_lines

    labels = {name: name.replace("_", " ") for name in MEASURE_COLOURS}
    lines = {name: np.linspace(0.9, 0.1, 12) for name in MEASURE_COLOURS}
    settings = FigureSettings(font_size=font)
    for fig in (ratio_lines(lines, labels, settings), share_lines(lines, lines, labels, "<s>", "</s>", settings)):
        canvas, ticks = label_boxes(browser, export.figure_image(fig, "svg"))
        assert_all_inside(canvas, ticks, ["1", "12", "0%", "100%"])
        page = browser.new_page()
        page.set_content(f"<html><body style='margin:0'>{export.figure_image(fig, 'svg').decode()}</body></html>")
        boxes = page.evaluate(
            "() => [...document.querySelectorAll('g.legend text, .g-gtitle text, g.annotation text')].map(t => {"
            " const r = t.getBoundingClientRect(); return {text: t.textContent, left: r.left, right: r.right,"
            " top: r.top, bottom: r.bottom}; })"
        )
        page.close()
        assert len(boxes) >= len(labels) + 1  # every legend entry and the title
        assert_all_inside(canvas, boxes, [labels["value_zeroing"]])
