"""Ray Data engine (local Ray, num_cpus=2): the same numbers as the local engine, in both views."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tiers import ROOT

from models.corpus.engine import CorpusOptions, run_corpus
from models.corpus.ray_engine import plan_splits, run_corpus_ray, start_ray
from models.corpus.source import open_path, open_upload
from models.examples import sample_corpus, sample_pairs
from models.score.scores import PART_NAMES, SCORE_NAMES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")  # Ray's own internals
ENGINE_TOL = 1e-6
OPTIONS = CorpusOptions(batch_size=8, sort_batches=2, top_k=3, limit=120)


@pytest.fixture(scope="module")
def ray_cluster():
    import ray

    assert not ray.is_initialized()
    seconds = start_ray(num_cpus=2)  # a fresh local Ray: workers import `models` only via py_modules
    assert seconds > 0 and ray.cluster_resources()["CPU"] == 2
    yield ray
    ray.shutdown()


def _assert_same(local, remote):
    assert (remote.records, remote.sentences, remote.skipped, remote.truncated) == (
        local.records,
        local.sentences,
        local.skipped,
        local.truncated,
    )
    assert set(remote.views) == set(local.views) == {"weight", "norm"}
    for view in local.views:
        a, b = local.views[view], remote.views[view]
        for name in SCORE_NAMES:
            np.testing.assert_allclose(b.scores[name].mean, a.scores[name].mean, atol=ENGINE_TOL, err_msg=name)
            np.testing.assert_allclose(b.scores[name].std, a.scores[name].std, atol=ENGINE_TOL, err_msg=name)
            np.testing.assert_allclose(b.top[name].high_value, a.top[name].high_value, atol=ENGINE_TOL)
            np.testing.assert_array_equal(b.top[name].low_index, a.top[name].low_index)
        for part in PART_NAMES:
            np.testing.assert_allclose(b.layer_partition[part].mean, a.layer_partition[part].mean, atol=ENGINE_TOL)
        for role, share in a.roles.items():
            np.testing.assert_array_equal(b.roles[role], share)
        assert [d.message for d in b.diagnosis] == [d.message for d in a.diagnosis]
    for name, estimate in local.norm.norm_sizes.items():
        np.testing.assert_allclose(remote.norm.norm_sizes[name].mean, estimate.mean, rtol=ENGINE_TOL)
    assert remote.texts == local.texts
    assert remote.comparison == local.comparison and remote.comparison


def test_splits_cover_every_record_once(tmp_path):
    path = sample_corpus()
    source = open_path(path)
    splits = plan_splits(path, source.name, source.spec, 50)
    assert splits[0].start == 0 and splits[0].first_index == 0
    assert [s.first_index for s in splits[1:]] == [s.stop_index for s in splits[:-1]]
    assert splits[-1].stop_index == sum(1 for _ in source.records())
    assert [s.first_line for s in splits] == [s.first_index + 1 for s in splits]


def test_ray_equals_local_on_the_sample_corpus(ray_cluster, minilm):
    source = open_path(sample_corpus())
    local = run_corpus(minilm, source, OPTIONS)
    seen = []
    remote = run_corpus_ray("minilm", source, OPTIONS, split_chunks=1, progress=seen.append)
    assert len(seen) == 8 and seen[-1].records == 120  # 120 records in splits of 16: several actors' partials
    _assert_same(local, remote)


def test_ray_equals_local_on_pairs_with_blank_rows_from_an_upload(ray_cluster, minilm):
    rows = (sample_pairs()).read_text(encoding="utf-8").splitlines()
    data = ("\n".join([*rows[:30], "", "\tonly a pair", *rows[30:60]]) + "\n").encode()
    options = CorpusOptions(batch_size=4, sort_batches=2, top_k=2)
    local = run_corpus(minilm, open_upload(data, "pairs.tsv", pair_column="pair"), options)
    remote = run_corpus_ray("minilm", open_upload(data, "pairs.tsv", pair_column="pair"), options, split_chunks=2)
    assert local.skipped["blank"] == 2
    _assert_same(local, remote)


def test_ray_aggregates_the_context_mixing_measures_as_the_local_engine_does(ray_cluster, minilm):
    from models.corpus.mixing import QUANTITIES

    options = CorpusOptions(batch_size=4, sort_batches=1, top_k=2, limit=20, measures=("attention", "alti"))
    local = run_corpus(minilm, open_path(sample_corpus()), options)
    remote = run_corpus_ray("minilm", open_path(sample_corpus()), options, split_chunks=1, workers=2)
    assert remote.mixing.sentences == local.mixing.sentences == 20
    for quantity in QUANTITIES:
        for measure in ("attention", "alti"):
            a, b = local.mixing.estimates[quantity][measure], remote.mixing.estimates[quantity][measure]
            np.testing.assert_allclose(b.mean, a.mean, atol=ENGINE_TOL, err_msg=f"{quantity} {measure}")
            np.testing.assert_allclose(b.std, a.std, atol=ENGINE_TOL)
    assert [d.message for d in remote.mixing.diagnosis] == [d.message for d in local.mixing.diagnosis]


def test_cli_engine_ray_gives_the_local_numbers(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join((sample_corpus()).read_text(encoding="utf-8").splitlines()[:40]))
    documents = {}
    for engine in ("local", "ray"):
        completed = subprocess.run(
            [sys.executable, "cli.py", "corpus", str(corpus), "--engine", engine, "--workers", "2"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
        assert completed.returncode == 0, completed.stderr
        assert completed.stderr.strip() == ""  # Ray's own logs and bars stay quiet
        documents[engine] = json.loads(completed.stdout)
    for name, values in documents["local"]["scores"].items():
        np.testing.assert_allclose(documents["ray"]["scores"][name]["mean"], values["mean"], atol=ENGINE_TOL)
    for name, values in documents["local"]["norm"]["scores"].items():
        np.testing.assert_allclose(documents["ray"]["norm"]["scores"][name]["mean"], values["mean"], atol=ENGINE_TOL)
    assert documents["ray"]["diagnosis"] == documents["local"]["diagnosis"]
    assert documents["ray"]["norm"]["diagnosis"] == documents["local"]["norm"]["diagnosis"]


def _corpus_worker_pids() -> list[int]:
    """Processes of the Ray actors that hold a CorpusWorker (their title names the class)."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        command = " ".join(process.info["cmdline"] or ())
        if "CorpusWorker" in command:
            found.append(process.info["pid"])
    return found


def test_a_killed_worker_is_replaced_and_the_result_equals_a_clean_run(ray_cluster, minilm, monkeypatch):
    import os
    import signal

    from models.corpus import ray_engine as corpus_ray

    runs = []
    one_run = corpus_ray._run_splits

    def counted(ray, rows, *args):
        runs.append(len(rows))
        return one_run(ray, rows, *args)

    monkeypatch.setattr(corpus_ray, "_run_splits", counted)

    source = open_path(sample_corpus())
    options = CorpusOptions(batch_size=8, sort_batches=2, top_k=3, limit=240)
    local = run_corpus(minilm, source, options)
    killed = []

    def kill_one_worker(progress):
        if not killed:
            pids = _corpus_worker_pids()
            assert pids, "no CorpusWorker process found"
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    remote = run_corpus_ray("minilm", source, options, split_chunks=1, progress=kill_one_worker, workers=2)
    assert killed  # one worker died after the first split came back, while others were running
    assert len(runs) == 2 and runs[0] == 15 and 0 < runs[1] < 15  # the second run took only the missing splits
    _assert_same(local, remote)
    assert remote.complete and remote.records == 240


def test_workers_get_every_first_party_package_they_import():
    """models imports i18n: a worker on a node without the checkout needs both shipped."""
    import ast

    from models.corpus.ray_engine import runtime_env, split_size

    shipped = {Path(module).name: Path(module) for module in runtime_env()["py_modules"]}
    imported = set()
    for path in (ROOT / "models").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
    first_party = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert imported & first_party <= shipped.keys() and {"models", "i18n"} <= shipped.keys()
    # the catalogues are package data inside i18n/, so the workers' messages translate too
    import i18n

    assert i18n.LOCALE_DIR.is_relative_to(shipped["i18n"])
    assert (shipped["i18n"] / "locale" / "ja" / "LC_MESSAGES" / "messages.po").is_file()
    # a 500-sentence corpus in chunks of 256 on 4 workers: two splits, not one of 1,024 records
    assert split_size(500, 4, 256, 4) == 256
    assert split_size(100_000, 4, 256, 4) == 1024  # large corpora keep the longest splits


def test_when_workers_keep_dying_the_run_ends_with_the_merged_part_marked_incomplete(ray_cluster, monkeypatch):
    from models.corpus import ray_engine as corpus_ray

    one_run = corpus_ray._run_splits

    def one_split_then_a_death(ray, rows, *args):
        yield from one_run(ray, rows[:1], *args)
        raise ray.exceptions.RayError("The actor died unexpectedly before finishing this task.")

    monkeypatch.setattr(corpus_ray, "_run_splits", one_split_then_a_death)
    source = open_path(sample_corpus())
    with pytest.raises(corpus_ray.RayRunError) as raised:
        run_corpus_ray("minilm", source, OPTIONS, split_chunks=1, workers=1)
    message = str(raised.value)
    assert "after 4 of 8 splits" in message and "4 runs in a row" in message and "actor died" in message
    partial = raised.value.partial
    assert partial is not None and not partial.complete
    assert partial.records == 4 * 16  # each run merged its one split, none twice


def _ray_plan(path, resume, options=OPTIONS):
    from models.corpus.checkpoint import fingerprint, prepare

    source = open_path(sample_corpus())
    return prepare(path, resume, fingerprint(source, "minilm", None, options, "ray"))


def test_a_ray_run_stopped_by_dying_workers_resumes_to_the_clean_result(ray_cluster, monkeypatch, tmp_path):
    import json

    from models.corpus import ray_engine as corpus_ray
    from models.corpus.checkpoint import load
    from models.corpus.result import to_json_dict

    source = open_path(sample_corpus())
    clean = to_json_dict(run_corpus_ray("minilm", source, OPTIONS, split_chunks=1, workers=2))
    one_run = corpus_ray._run_splits

    def one_split_then_a_death(ray, rows, *args):
        yield from one_run(ray, rows[:1], *args)
        raise ray.exceptions.RayError("The actor died unexpectedly before finishing this task.")

    path = tmp_path / "ray.npz"
    with monkeypatch.context() as patched:
        patched.setattr(corpus_ray, "_run_splits", one_split_then_a_death)
        with pytest.raises(corpus_ray.RayRunError):
            run_corpus_ray("minilm", source, OPTIONS, split_chunks=1, workers=1, checkpoint=_ray_plan(path, False))
    saved = load(path)
    assert (saved.position, saved.stats.records, saved.split_records) == (4, 64, 16)  # 4 splits of 16 records

    runs = []

    def counted(ray, rows, *args):
        runs.append([int(row["split"]) for row in rows])
        return one_run(ray, rows, *args)

    monkeypatch.setattr(corpus_ray, "_run_splits", counted)
    resumed = run_corpus_ray("minilm", source, OPTIONS, split_chunks=1, workers=2, checkpoint=_ray_plan(path, True))
    assert runs == [[4, 5, 6, 7]]  # only the splits the checkpoint lacks
    assert json.dumps(to_json_dict(resumed)) == json.dumps(clean)  # merged in split order: the same bits


def test_a_ray_run_interrupted_by_ctrl_c_keeps_a_checkpoint_and_a_partial_result(ray_cluster, tmp_path):
    from models.corpus.checkpoint import load
    from models.corpus.engine import CorpusInterrupted

    source = open_path(sample_corpus())
    path = tmp_path / "ray.npz"

    def stop_after_three(progress):
        if progress.records >= 48:
            raise KeyboardInterrupt

    with pytest.raises(CorpusInterrupted) as stopped:
        run_corpus_ray(
            "minilm", source, OPTIONS, split_chunks=1, progress=stop_after_three, checkpoint=_ray_plan(path, False)
        )
    assert stopped.value.records == 48 and stopped.value.partial is not None
    assert not stopped.value.partial.complete
    saved = load(path)
    assert saved.stats.records == 16 * saved.position and 1 <= saved.position <= 3  # splits merged in order
