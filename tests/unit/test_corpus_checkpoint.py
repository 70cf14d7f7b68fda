"""Checkpoint files: a bit-exact round trip of hand-built aggregates, and every refusal of
--checkpoint/--resume, checked before any model would load."""

import hashlib
import io
import json

import numpy as np
import pytest

from models.corpus.checkpoint import Checkpoint, fingerprint, load, prepare, save
from models.corpus.engine import CorpusOptions
from models.corpus.io import CorpusInputError
from models.corpus.source import open_path, open_stdin
from models.corpus.stats import CorpusStats, Moments, TopK, ViewStats
from models.result import ModelInfo

OPTIONS = CorpusOptions(batch_size=4, sort_batches=2, top_k=3)
INFO = ModelInfo("minilm", "bert", 2, 3, None, "a model")


def _stats() -> CorpusStats:
    """Aggregates with awkward values: sub-normal and negative floats, a scalar moment, ties."""
    rng = np.random.default_rng(7)
    top = TopK.empty((2, 2, 3), 2).add(rng.random((5, 2, 2, 3)), np.arange(5))
    moments = {
        "score:cls": Moments.of(rng.standard_normal((5, 2, 3)) * 1e-300),
        "special_share": Moments.of(np.array([0.1, 0.2, 0.1 + 1e-16])),  # [B] → numpy scalars
    }
    view = ViewStats(moments, rng.integers(0, 9, (6, 2, 3)), top)
    texts = {i: (f"sentence «{i}»", None if i % 2 else "the pair") for i in range(5)}
    return CorpusStats(40, 5, {"blank": 2, "empty": 0}, 1, {"weight": view}, texts)


def _assert_identical(a: CorpusStats, b: CorpusStats) -> None:
    assert (a.records, a.sentences, dict(a.skipped), a.truncated, dict(a.texts)) == (
        b.records,
        b.sentences,
        dict(b.skipped),
        b.truncated,
        dict(b.texts),
    )
    for view in a.views:
        x, y = a.views[view], b.views[view]
        for name, m in x.moments.items():
            other = y.moments[name]
            assert m.count == other.count
            assert type(m.mean) is type(other.mean)
            assert np.asarray(m.mean).tobytes() == np.asarray(other.mean).tobytes(), name  # bit for bit
            assert np.asarray(m.m2).tobytes() == np.asarray(other.m2).tobytes(), name
        assert x.role_counts.dtype == y.role_counts.dtype and np.array_equal(x.role_counts, y.role_counts)
        for part in ("high_value", "high_index", "low_value", "low_index"):
            assert getattr(x.top, part).tobytes() == getattr(y.top, part).tobytes(), part


def test_a_checkpoint_stores_the_aggregates_bit_for_bit(tmp_path):
    stats = _stats()
    path = tmp_path / "run.npz"
    save(path, Checkpoint({"engine": "local"}, stats, 5, False, None, INFO))
    back = load(path)
    _assert_identical(stats, back.stats)
    assert (back.position, back.complete, back.model) == (5, False, INFO)
    # merging after the round trip gives exactly what merging before it gives
    _assert_identical(stats.merge(_stats()), back.stats.merge(_stats()))
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary file left behind


def test_a_checkpoint_runs_no_code_when_opened(tmp_path):
    """Only plain arrays: a pickled object inside is refused, not unpickled."""
    path = tmp_path / "evil.npz"
    np.savez(path, **{"header.json": np.array([{"x": 1}], dtype=object)})
    with pytest.raises(CorpusInputError, match="cannot be read"):
        load(path)


def _corpus(tmp_path, text="one sentence.\nanother one.\n"):
    path = tmp_path / "c.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_new_checkpoint_never_overwrites_an_old_one(tmp_path):
    source = open_path(_corpus(tmp_path))
    run = fingerprint(source, "minilm", None, OPTIONS, "local")
    path = tmp_path / "run.npz"
    path.write_bytes(b"an earlier run")
    with pytest.raises(CorpusInputError, match=r"already exists\. Add --resume"):
        prepare(path, False, run)
    assert path.read_bytes() == b"an earlier run"


def test_resume_needs_an_existing_readable_checkpoint(tmp_path):
    source = open_path(_corpus(tmp_path))
    run = fingerprint(source, "minilm", None, OPTIONS, "local")
    with pytest.raises(CorpusInputError, match="There is no checkpoint at"):
        prepare(tmp_path / "none.npz", True, run)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(CorpusInputError, match="cannot be read"):
        prepare(garbage, True, run)
    with pytest.raises(CorpusInputError, match="does not exist or is not writable"):
        prepare(tmp_path / "no" / "such" / "run.npz", False, run)


@pytest.mark.parametrize(
    "change,what,detail",
    [
        (dict(options=CorpusOptions(batch_size=4, sort_batches=2, top_k=4)), "option", "top_k=3 there, top_k=4 now"),
        (dict(options=CorpusOptions(batch_size=8, sort_batches=2, top_k=3)), "option", "batch_size=4 there"),
        (dict(model="bert-base"), "model", "name='minilm' there, name='bert-base' now"),
        (dict(window=16), "model", "window=None there, window=16 now"),
        (dict(engine="ray"), "engine", "'local' there, 'ray' now"),
        (dict(text="one sentence.\nanother One.\n"), "corpus content", "sha256="),  # one byte changed, same size
        (dict(text="one sentence.\n"), "corpus content", "size=27 there, size=14 now"),
    ],
)
def test_resume_refuses_another_run_and_names_what_differs(tmp_path, change, what, detail):
    first = dict(model="minilm", window=None, options=OPTIONS, engine="local", text="one sentence.\nanother one.\n")
    source = open_path(_corpus(tmp_path, first["text"]))
    path = tmp_path / "run.npz"
    run = fingerprint(source, first["model"], first["window"], first["options"], first["engine"])
    save(path, Checkpoint(run, _stats(), 1, False, None, INFO))
    now = {**first, **change}
    source = open_path(_corpus(tmp_path, now["text"]))
    with pytest.raises(CorpusInputError) as refused:
        prepare(path, True, fingerprint(source, now["model"], now["window"], now["options"], now["engine"]))
    message = str(refused.value)
    assert f"with a different {what} (" in message and detail in message, message
    assert message.endswith("or start afresh with another --checkpoint path.")
    # the same run is accepted, and gets the saved state back
    source = open_path(_corpus(tmp_path, first["text"]))
    plan = prepare(path, True, fingerprint(source, "minilm", None, OPTIONS, "local"))
    assert plan.resumed.position == 1 and plan.resumed.stats.records == 40


def test_standard_input_cannot_be_checkpointed():
    source = open_stdin(stream=io.BytesIO(b"one sentence.\n"))
    with pytest.raises(CorpusInputError, match="standard input cannot be read again"):
        fingerprint(source, "minilm", None, OPTIONS, "local")


def test_the_header_is_plain_json_naming_the_run(tmp_path):
    source = open_path(_corpus(tmp_path))
    run = fingerprint(source, "minilm", None, OPTIONS, "local")
    path = tmp_path / "run.npz"
    save(path, Checkpoint(run, _stats(), 3, True, None, INFO))
    with np.load(path, allow_pickle=False) as stored:
        header = json.loads(bytes(stored["header.json"]).decode())
    assert header["fingerprint"]["corpus"]["sha256"] == (hashlib.sha256(b"one sentence.\nanother one.\n").hexdigest())
    assert header["position"] == 3 and header["complete"] is True and header["model"]["key"] == "minilm"
