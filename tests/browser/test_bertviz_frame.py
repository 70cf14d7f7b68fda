"""The bertviz frame fits what it draws: no head cut off at the bottom (the model view of a
6-layer model once drew 996 px of heads in an 800 px frame)."""

from urllib.parse import urlencode

import pytest

FITS_JS = """(frame) => {
  const doc = frame.contentDocument;
  const bottoms = [...doc.querySelectorAll('svg, div, select, span')].map(e => e.getBoundingClientRect().bottom);
  return {frame: frame.getBoundingClientRect().height, drawn: Math.max(...bottoms)};
}"""
SLACK_PX = 40  # a frame this much taller than what it draws is a gap, not a fit


@pytest.mark.parametrize("view,width", [("model", 1920), ("model", 1000), ("head", 1400)])
def test_the_bertviz_frame_is_as_tall_as_its_content(server, browser, view, width):
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.goto(f"{server}/?{urlencode({'text': 'The dog chased the cat because it was hungry.', 'bertviz_view': view})}")
    page.get_by_text("Show the interactive bertviz view").click(timeout=120_000)
    frame = page.frame_locator("iframe").first
    frame.locator("svg rect").first.wait_for(timeout=60_000)
    page.wait_for_timeout(3500)  # bertviz draws, then fits its width (up to 2.5 s), and the frame follows
    sizes = page.locator("iframe").first.evaluate(FITS_JS)
    assert sizes["drawn"] > 300, sizes  # something was drawn
    assert sizes["drawn"] <= sizes["frame"] + 1, sizes  # nothing hidden below the frame's edge
    if width >= 1400:  # unscaled: the frame is the view's own height (scaled down to fit a narrow
        # frame, bertviz keeps its unscaled height, so a band stays under it: nothing is cut, though)
        assert sizes["frame"] - sizes["drawn"] <= SLACK_PX, sizes
    page.close()
