"""App tier: a visitor's local folder is checked against ATTENTION_MAPS_MODEL_DIRS (one
message whether or not the path exists), and the favicon is a local image."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from app_runs import APP, opened
from PIL import Image
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "model"))
from tiny_families import save_family

from models.load.loading import ENV_MODEL_DIRS

TIMEOUT = 120


def _errors(path: str, **params: str) -> list[str]:
    at = opened(TIMEOUT, dir=path, **params)
    return [error.value.replace(f"'{path}'", "'{path}'") for error in at.error]


@pytest.fixture
def allowed(tmp_path, monkeypatch) -> Path:
    save_family("bert", tmp_path / "tiny")
    monkeypatch.setenv(ENV_MODEL_DIRS, str(tmp_path))
    return tmp_path


def test_etc_and_a_missing_dir_read_the_same(allowed):
    shown = _errors("/etc")
    assert shown and shown == _errors("/no/such/dir")
    assert any("not under an allowed folder (ATTENTION_MAPS_MODEL_DIRS)" in error for error in shown)
    assert not any("config.json" in error or "Unknown model" in error for error in shown)


def test_a_symlink_out_of_the_root_reads_the_same(allowed):
    (allowed / "etc-link").symlink_to("/etc")
    assert _errors(str(allowed / "etc-link")) == _errors("/no/such/dir")


def test_a_folder_under_the_root_is_analysed(allowed):
    at = opened(TIMEOUT, dir=str(allowed / "tiny"), text="a small test .")
    assert not at.error and at.get("plotly_chart")


def test_a_reachable_server_without_roots_loads_no_folder(monkeypatch):
    monkeypatch.delenv(ENV_MODEL_DIRS, raising=False)
    monkeypatch.setenv("STREAMLIT_SERVER_ADDRESS", "0.0.0.0")
    shown = _errors("/etc")
    assert shown == _errors("/no/such/dir") and any("turned off" in error for error in shown)


def test_the_favicon_is_a_local_image(monkeypatch):
    import streamlit
    from streamlit.commands.page_config import _get_favicon_string

    given, sent = [], []
    original = streamlit.set_page_config

    def recording(*args, **kwargs):
        given.append(kwargs.get("page_icon"))
        sent.append(_get_favicon_string(kwargs.get("page_icon")))  # what the browser is told to fetch
        return original(*args, **kwargs)

    monkeypatch.setattr(streamlit, "set_page_config", recording)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["dir"] = "/no/such/dir"  # no model run needed
    at.run()
    assert not at.exception and given
    assert all(url.startswith("/") and "/media/" in url and url.endswith(".png") for url in sent), sent  # local
    for icon in given:
        assert isinstance(icon, Path) and icon.is_file(), icon
        assert Path(APP).parent in icon.resolve().parents
        with Image.open(icon) as image:
            assert image.format == "PNG" and image.size[0] >= 16
