"""Regenerate docs/screenshot.png: the analysis page of the app, as a newcomer first sees it.

  python scripts/screenshot.py [--out docs/screenshot.png]   (or: make screenshot)

Starts `streamlit run app.py` on a free local port through tests/browser/harness.py (offline:
HF_HUB_OFFLINE=1, the same server as the UI bench and the browser tests), opens it in headless
Debian Chromium (/usr/bin/chromium, driven by Playwright; no downloaded browser) at 1400×1000,
waits until the analysis of the default sentence is drawn and the page has settled, takes a
screenshot of the top of the page (title, text box, diagnosis, first charts: the top TOP_PX
pixels), scales it to OUT_WIDTH and writes it as a palette PNG to keep it small, and stops the
server.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from harness import CHROMIUM, CHROMIUM_ARGS, server_log, start_server  # noqa: E402  (the browser tests' harness)

VIEWPORT = {"width": 1400, "height": 1000}
TOP_PX = 1750  # how much of the page to keep: the heading and inputs, the diagnosis and the first charts
OUT_WIDTH = 1000  # the saved image's width (scaled down from 1400 to stay small)
# Settled: no element Streamlit may still replace, no running indicator, and a head heatmap drawn.
SETTLED_JS = """() => {
  if (document.querySelectorAll('[data-stale="true"]').length) return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  return [...document.querySelectorAll('.js-plotly-plot')].some(
    plot => plot.layout && plot.layout.title && (plot.layout.title.text || '').startsWith('Layer 1, head 1'));
}"""


def shrink(png: bytes, width: int = OUT_WIDTH, colors: int = 256) -> bytes:
    """The screenshot scaled to `width` px, as a palette PNG (a UI and heatmaps lose little at
    256 colours)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    small = image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the first analysis")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    process, url = start_server()  # tests/browser/harness.py: a free local port, offline
    log_path = server_log(urlparse(url).port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url, timeout=120_000)
            try:
                page.wait_for_function(SETTLED_JS, timeout=args.timeout * 1000)
            except Exception as error:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise SystemExit(f"the analysis was not shown within {args.timeout} s\nserver log:\n{tail}") from error
            time.sleep(1.5)  # let plotly finish its transitions
            if page.get_by_text("Traceback").count():
                raise SystemExit("the page shows a traceback; not saving a screenshot")
            # Streamlit scrolls inside its own container, so the document is one viewport tall:
            # show more of the page top (title, text box, diagnosis, first charts) by making the
            # window taller, then wait for the charts to redraw at the new size.
            page.set_viewport_size({"width": VIEWPORT["width"], "height": TOP_PX})
            page.wait_for_function(SETTLED_JS, timeout=60_000)
            time.sleep(2.0)
            png = page.screenshot(full_page=False)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=20)
    data = shrink(png)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"{args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}: {len(data) // 1024} KB")


if __name__ == "__main__":
    main()
