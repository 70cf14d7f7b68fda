"""Broken local model folders, built here from a tiny BERT: one plain message, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiers import ROOT, run_python
from tiny_encoders import tiny_config
from transformers import AutoTokenizer, BertConfig, BertModel

from models.load.loading import ModelLoadError, embedded_model_path, load_model


def _save_tiny_bert(folder: Path) -> Path:
    BertModel(tiny_config(BertConfig, seed=0, num_hidden_layers=2)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(embedded_model_path())).save_pretrained(folder)
    return folder


def _truncated(folder: Path) -> None:
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a half-finished copy


def _garbage_header(folder: Path) -> None:
    (folder / "model.safetensors").write_bytes(b"\xff" * 64)


def _wider_config(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_size=48, intermediate_size=96)
    (folder / "config.json").write_text(json.dumps(config))


def _deeper_config(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] = 4  # the weights hold two layers
    (folder / "config.json").write_text(json.dumps(config))


def _broken_tokenizer(folder: Path) -> None:
    (folder / "tokenizer.json").write_text("{not json")
    (folder / "vocab.txt").unlink(missing_ok=True)


BROKEN = {
    "truncated": (_truncated, "corrupt or incomplete"),
    "garbage": (_garbage_header, "corrupt or incomplete"),
    "wider": (_wider_config, "config.json does not match the weights (their tensor shapes differ)"),
    "deeper": (_deeper_config, "are missing from the safetensors file"),
    "tokenizer": (_broken_tokenizer, "its tokenizer could not be loaded"),
}


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory) -> Path:
    return _save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(params=sorted(BROKEN))
def broken(request, good_folder, tmp_path) -> tuple[Path, str]:
    import shutil

    folder = tmp_path / request.param
    shutil.copytree(good_folder, folder)
    spoil, needle = BROKEN[request.param]
    spoil(folder)
    return folder, needle


def test_the_good_folder_loads(good_folder):
    assert load_model(str(good_folder)).layers == 2


def test_loader_says_what_is_wrong(broken):
    folder, needle = broken
    with pytest.raises(ModelLoadError) as caught:
        load_model(str(folder))
    message = str(caught.value)
    assert needle in message and str(folder) in message
    assert "Traceback" not in message and len(message.splitlines()) == 1


def test_cli_prints_one_line_and_exits_2(broken):
    folder, needle = broken
    done = run_python("cli.py", "analyze", "A small test.", "--model", str(folder), timeout=300)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], done.stderr[-2000:]


def test_app_shows_one_message_and_stays_usable(broken):
    from streamlit.testing.v1 import AppTest

    folder, needle = broken
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.text_input(key="dir").set_value(str(folder)).run()
    assert not at.exception
    assert [error.value for error in at.error if needle in error.value]
    at.text_input(key="dir").set_value("").run()
    assert not at.exception and not at.error and at.get("plotly_chart")
