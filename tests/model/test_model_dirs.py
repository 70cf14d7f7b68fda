"""Which local model folders the app may load (ATTENTION_MAPS_MODEL_DIRS): a refused path
gets one message whether or not it exists, and the command line's default stays open."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tiny_families import save_family

from models.load.loading import (
    ENV_MODEL_DIRS,
    ModelLoadError,
    check_allowed,
    is_allowed_path,
    is_loopback,
    load_model,
    local_model_roots,
    model_dirs_from_env,
)

PROBES = ("/etc", "/no/such/dir", "/root", "~/.ssh", "/proc/self/cwd", "/etc/../etc/passwd")


@pytest.fixture(scope="module")
def allowed(tmp_path_factory) -> Path:
    """An allowed root holding a tiny BERT, a symlink to /etc, and one to a model outside."""
    root = tmp_path_factory.mktemp("allowed")
    save_family("bert", root / "tiny")
    outside = save_family("bert", tmp_path_factory.mktemp("outside") / "model")
    (root / "etc-link").symlink_to("/etc")
    (root / "outside-link").symlink_to(outside)
    return root


@pytest.fixture
def roots(allowed, monkeypatch) -> tuple[str, ...]:
    monkeypatch.setenv(ENV_MODEL_DIRS, str(allowed))
    found = local_model_roots(["0.0.0.0"])  # the variable decides, whatever the address
    assert found == (os.path.realpath(allowed),)
    return found


def _refusal(name: str, roots, window=None) -> str:
    with pytest.raises(ModelLoadError) as caught:
        load_model(name, window, allowed_roots=roots)
    return str(caught.value)


def _template(message: str, path: str) -> str:
    assert f"'{path}'" in message
    return message.replace(f"'{path}'", "'{path}'")


def test_existing_and_missing_paths_get_the_same_message(roots):
    messages = {_template(_refusal(path, roots), path) for path in PROBES}
    assert len(messages) == 1, messages
    (message,) = messages
    assert "ATTENTION_MAPS_MODEL_DIRS" in message and "not under an allowed folder" in message
    for revealing in ("config.json", "Unknown model", "safetensors", "no such"):
        assert revealing not in message


def test_a_window_changes_nothing(roots):
    missing = "/no/such/dir"
    assert _template(_refusal("/etc", roots, 8), "/etc") == _template(_refusal(missing, roots, 8), missing)


def test_a_folder_under_the_root_loads(allowed, roots):
    loaded = load_model(str(allowed / "tiny"), allowed_roots=roots)
    assert loaded.layers == 3 and loaded.spec.source == "local"


def test_a_missing_folder_under_the_root_says_so(allowed, roots):
    message = _refusal(str(allowed / "nothing-here"), roots)
    assert "there is no such folder" in message


def test_symlinks_and_dotdot_cannot_leave_the_root(allowed, roots):
    expected = _template(_refusal("/no/such/dir", roots), "/no/such/dir")
    for escape in ("etc-link", "outside-link", "tiny/../../outside"):
        path = str(allowed / escape)
        assert _template(_refusal(path, roots), path) == expected
    assert not is_allowed_path(allowed / "etc-link" / "passwd", roots)
    assert is_allowed_path(allowed / "tiny" / ".." / "tiny", roots)


def test_registry_models_are_always_allowed(roots):
    for policy in (roots, (), None):
        check_allowed("minilm", policy)
        check_allowed("minilm-longformer", policy)
    assert load_model("minilm", allowed_roots=()).name == "minilm"


def test_a_reachable_server_without_roots_loads_no_folder(allowed, monkeypatch):
    monkeypatch.delenv(ENV_MODEL_DIRS, raising=False)
    for address in ("0.0.0.0", "", None, "192.168.1.5", "::"):
        assert local_model_roots([address]) == ()
    assert local_model_roots(["127.0.0.1", "0.0.0.0"]) == ()  # any reachable address counts
    assert local_model_roots([]) == ()
    paths = (*PROBES, str(allowed / "tiny"))
    messages = {_template(_refusal(path, ()), path) for path in paths}
    assert len(messages) == 1 and "turned off" in messages.pop()


def test_loopback_without_roots_loads_folders_as_before(allowed, monkeypatch):
    monkeypatch.delenv(ENV_MODEL_DIRS, raising=False)
    for address in ("127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost", "LocalHost"):
        assert is_loopback(address), address
        assert local_model_roots([address]) is None
    assert load_model(str(allowed / "tiny"), allowed_roots=local_model_roots(["127.0.0.1"])).layers == 3
    with pytest.raises(ModelLoadError, match="there is no such folder"):
        load_model("/no/such/dir", allowed_roots=None)  # issue 17: a missing folder is named as one
    with pytest.raises(ModelLoadError, match="Unknown model"):
        load_model("not-in-the-registry", allowed_roots=None)  # a bare name is not a folder


def test_the_command_line_default_stays_open(allowed, roots):
    """load_model without allowed_roots (what cli.py calls) loads any folder, even outside."""
    assert load_model(str(allowed / "outside-link")).layers == 3
    with pytest.raises(ModelLoadError, match=r"there is no config\.json"):
        load_model("/etc")


def test_the_variable_is_read_as_colon_separated_roots(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").symlink_to(tmp_path / "a")
    value = f"{tmp_path / 'a'}:: {tmp_path / 'b'} :{tmp_path / 'c'}"
    real = os.path.realpath(tmp_path / "a")
    assert model_dirs_from_env({ENV_MODEL_DIRS: value}) == (real, os.path.realpath(tmp_path / "c"))
    assert model_dirs_from_env({}) is None
    assert model_dirs_from_env({ENV_MODEL_DIRS: " "}) == ()  # set but empty: no folder
    assert local_model_roots(["127.0.0.1"], {ENV_MODEL_DIRS: ""}) == ()


def test_the_app_reads_both_addresses(monkeypatch):
    import streamlit as st

    from ui import cache

    monkeypatch.delenv(ENV_MODEL_DIRS, raising=False)
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    monkeypatch.setattr(st.config, "get_option", lambda key: "127.0.0.1")
    assert cache.model_roots() is None
    monkeypatch.setenv("STREAMLIT_SERVER_ADDRESS", "0.0.0.0")
    assert cache.model_roots() == ()
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS")
    monkeypatch.setattr(st.config, "get_option", lambda key: None)  # unset: every interface
    assert cache.model_roots() == ()
