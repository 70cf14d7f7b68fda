"""Real browser: headless Debian Chromium driven by Playwright against `streamlit run`."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import IN_CI, ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

if not Path(CHROMIUM).exists():
    if IN_CI:
        pytest.fail(f"{CHROMIUM} is missing: install the Debian packages chromium and chromium-driver", pytrace=False)
    pytest.skip("Chromium is not installed", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=20)


def test_type_commit_switch_layer_download_and_bertviz(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
        page.goto(server, timeout=90_000)
        text_area = page.locator("textarea").first
        text_area.wait_for(timeout=90_000)
        text_area.fill("The dog chased the cat, because it was hungry.")
        text_area.press("Control+Enter")
        page.get_by_text("Layer 1, head 1").first.wait_for(timeout=120_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        assert page.get_by_text("hungry").count() > 0

        page.get_by_label("Layer", exact=True).click()  # the layer selectbox
        page.get_by_role("option", name="3", exact=True).click()
        page.get_by_text("Layer 3, head 1").first.wait_for(timeout=60_000)

        with page.expect_download(timeout=120_000) as download_info:
            page.get_by_role("button", name="Head heatmap (PNG)").click()
        path = tmp_path / "head.png"
        download_info.value.save_as(path)
        assert path.read_bytes()[:8] == PNG_MAGIC

        page.get_by_text("Show the interactive bertviz view").click()
        frame = page.frame_locator("iframe").first
        frame.locator("svg rect").first.wait_for(timeout=60_000)
        assert frame.locator("svg text").count() > 0

        # the sparse-pattern explorer draws on the same sentence
        page.get_by_text("Sparse patterns", exact=True).click()
        page.get_by_text("Every pattern at a glance").wait_for(timeout=120_000)
        page.get_by_text("Who reaches whom").first.wait_for(timeout=60_000)
        assert page.locator(".js-plotly-plot").count() >= 4
        assert page.get_by_text("Traceback").count() == 0
        browser.close()
