"""Small pieces of the Ray engine's edges: plain error lines and model folders for workers."""

import os

from commands.corpus import _absolute_folder
from models.corpus.ray_engine import _reason, plain_lines


def test_ray_errors_lose_their_terminal_colours():
    error = RuntimeError("\x1b[36mray::MapWorker(CorpusWorker).__init__()\x1b[39m failed\n\n  No module named 'i18n'\n")
    assert plain_lines(error) == ["ray::MapWorker(CorpusWorker).__init__() failed", "No module named 'i18n'"]
    assert _reason(error) == "ray::MapWorker(CorpusWorker).__init__() failed"
    assert _reason(RuntimeError("")) == "RuntimeError"


def test_a_relative_model_folder_reaches_the_workers_absolute(tmp_path, monkeypatch):
    (tmp_path / "my-model").mkdir()
    monkeypatch.chdir(tmp_path)
    assert _absolute_folder("my-model") == str(tmp_path / "my-model")
    assert os.path.isabs(_absolute_folder("./my-model"))
    assert _absolute_folder("minilm") == "minilm"  # registry keys and Hub ids stay as they are
    assert _absolute_folder("org/name") == "org/name"
