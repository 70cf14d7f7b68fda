"""Any Hub model by its id, offline, from a Hub cache laid out as huggingface_hub writes it:
models--org--name/snapshots/<revision>/… plus refs/main."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tiers import ROOT
from tiny_families import save_family

from models.load.loading import ModelLoadError, load_model

REVISION = "0123456789abcdef0123456789abcdef01234567"


def _hub_cache(root: Path, repo: str, files_from: Path | None = None, extra: dict | None = None) -> Path:
    """A Hub cache entry for `repo`: the files of `files_from` (and `extra` name → bytes)."""
    entry = root / ("models--" + repo.replace("/", "--"))
    snapshot = entry / "snapshots" / REVISION
    snapshot.mkdir(parents=True)
    if files_from is not None:
        for path in files_from.iterdir():
            shutil.copy(path, snapshot / path.name)
    for name, data in (extra or {}).items():
        (snapshot / name).write_bytes(data)
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text(REVISION)
    return root


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    tiny = save_family("bert", tmp_path / "tiny")
    cache = _hub_cache(tmp_path / "hub", "someone/tiny-bert", tiny)
    config = (tiny / "config.json").read_bytes()
    _hub_cache(cache, "someone/pickled", extra={"config.json": config, "pytorch_model.bin": b"not loaded"})
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def test_an_org_name_id_loads_from_the_cache_offline(hub_cache):
    loaded = load_model("someone/tiny-bert")
    assert loaded.name == "someone/tiny-bert" and loaded.family == "bert" and loaded.spec.source == "hub"
    assert loaded.layers == 3  # the tiny model's own config, not a registry entry
    pinned = load_model(f"someone/tiny-bert@{REVISION}")
    assert pinned.name == f"someone/tiny-bert@{REVISION}" and pinned.layers == 3


def test_a_model_neither_cached_nor_reachable_gets_one_line(hub_cache):
    with pytest.raises(ModelLoadError) as raised:
        load_model("someone/not-downloaded")
    message = str(raised.value)
    assert "not in the local cache" in message and str(hub_cache) in message and "\n" not in message


def test_pickle_only_weights_are_refused_with_a_reason(hub_cache):
    with pytest.raises(ModelLoadError, match=r"only pickle weights \(pytorch_model.bin\)"):
        load_model("someone/pickled")


def test_a_hub_id_is_allowed_on_a_server_that_limits_local_folders(hub_cache, tmp_path):
    assert load_model("someone/tiny-bert", allowed_roots=(str(tmp_path / "models"),)).layers == 3
    with pytest.raises(ModelLoadError, match="limited on this server"):
        load_model("/etc", allowed_roots=(str(tmp_path / "models"),))


def test_the_cli_analyses_a_hub_id_from_another_directory(hub_cache, tmp_path):
    env = {**os.environ, "HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1"}
    completed = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "analyze", "the dog barked .", "--model", "someone/tiny-bert"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["model"]["key"] == "someone/tiny-bert" and document["model"]["layers"] == 3
