"""Browser tier: headless Debian Chromium (never a downloaded browser) and a live app server."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import CHROMIUM, CHROMIUM_ARGS, start_server
from tiers import IN_CI

if not Path(CHROMIUM).exists():
    if IN_CI:
        pytest.fail(f"{CHROMIUM} is missing: install the Debian packages chromium and chromium-driver", pytrace=False)
    pytest.skip("Chromium is not installed", allow_module_level=True)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server():
    process, url = start_server()
    yield url
    process.terminate()
    process.wait(timeout=20)
