"""The corpus engine's context-mixing aggregates (models/corpus/mixing.py, `cli.py corpus
--mixing/--measure`) on the embedded MiniLM: every per-layer mean and standard deviation equals
numpy's over the sentences one by one, across chunk merges; a checkpoint keeps them bit for
bit; the corpus diagnosis cites the evidence; bad requests fail before any work; and a run
without them writes the JSON it wrote before (no "mixing" key)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cli
from models.corpus.checkpoint import Checkpoint, load, save
from models.corpus.engine import CorpusOptions, run_corpus
from models.corpus.io import CorpusInputError
from models.corpus.mixing import QUANTITIES
from models.corpus.result import to_json_dict
from models.corpus.source import open_path
from models.examples import sample_corpus
from models.mixing.run import context_mixing

SENTENCES = 10
MEASURES = ("attention", "alti", "value_zeroing")
TOL = 1e-9


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    lines = [line for line in sample_corpus().read_text(encoding="utf-8").splitlines() if line.strip()]
    path = tmp_path_factory.mktemp("mixing") / "ten.txt"
    path.write_text("\n".join(lines[:SENTENCES]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def mixed(minilm, corpus_file):
    options = CorpusOptions(batch_size=2, sort_batches=2, measures=MEASURES)  # 3 chunks, merged
    return run_corpus(minilm, open_path(str(corpus_file)), options)


def test_each_layer_mean_and_spread_equal_the_sentences_one_by_one(minilm, corpus_file, mixed):
    texts = [line for line in corpus_file.read_text(encoding="utf-8").splitlines() if line]
    one_by_one = [context_mixing(minilm, text, None, MEASURES) for text in texts]
    mixing = mixed.mixing
    assert mixing is not None and mixing.measures == MEASURES
    assert (mixing.sentences, mixing.skipped) == (SENTENCES, 0)
    for quantity in QUANTITIES:
        for measure in MEASURES:
            values = np.stack([np.asarray(getattr(m, quantity)[measure], dtype=np.float64) for m in one_by_one])
            estimate = mixing.estimates[quantity][measure]
            np.testing.assert_allclose(estimate.mean, values.mean(axis=0), atol=TOL, err_msg=f"{quantity} {measure}")
            np.testing.assert_allclose(estimate.std, values.std(axis=0, ddof=1), atol=TOL)
            assert estimate.mean.shape == (minilm.layers,)


def test_the_corpus_diagnosis_reads_the_no_op_question_from_the_evidence(mixed):
    messages = [str(d.message) for d in mixed.mixing.diagnosis]
    assert messages[0].startswith(f"Context mixing over {SENTENCES} sentences")
    no_op = [m for m in messages if "a no-op, not clogged flow" in m]
    assert no_op and "zeroing [CLS]'s value vector" in no_op[0]  # value zeroing outranks ALTI
    assert all(d.level == "info" for d in mixed.mixing.diagnosis)


def test_the_json_holds_the_estimates_and_a_run_without_measures_has_no_mixing_key(minilm, corpus_file, mixed):
    document = to_json_dict(mixed)
    entry = document["mixing"]
    assert entry["sentences"] == SENTENCES and list(entry["measures"]) == list(MEASURES)
    alti = mixed.mixing.estimates["to_cls"]["alti"]
    assert entry["measures"]["alti"]["to_cls"]["mean"] == pytest.approx(alti.mean.tolist(), abs=1e-6)
    plain = to_json_dict(run_corpus(minilm, open_path(str(corpus_file)), CorpusOptions(batch_size=2, sort_batches=2)))
    assert "mixing" not in plain
    del document["mixing"]
    assert json.dumps(plain, sort_keys=True) == json.dumps(document, sort_keys=True)  # the rest is unchanged


def test_a_checkpoint_keeps_the_mixing_aggregates_bit_for_bit(minilm, corpus_file, tmp_path):
    from models.corpus.engine import analyse_chunk
    from models.corpus.source import open_path as opened

    records = list(opened(str(corpus_file)).records(None))[:4]
    stats = analyse_chunk(minilm, records, CorpusOptions(measures=("alti", "globenc")))
    path = tmp_path / "run.npz"
    save(path, Checkpoint({"run": 1}, stats, 1))
    restored = load(path).stats.mixing
    assert restored.measures == ("globenc", "alti")  # MEASURES order
    assert (restored.sentences, restored.cls_token, restored.sep_token) == (4, "[CLS]", "[SEP]")
    for quantity in QUANTITIES:
        for measure in ("alti", "globenc"):
            a, b = stats.mixing.moments[quantity][measure], restored.moments[quantity][measure]
            assert a.count == b.count
            np.testing.assert_array_equal(a.mean, b.mean)
            np.testing.assert_array_equal(a.m2, b.m2)


def test_an_unknown_measure_is_refused_by_name():
    with pytest.raises(CorpusInputError, match="nope"):
        CorpusOptions(measures=("alti", "nope"))


def test_a_longformer_model_is_refused_before_any_sentence_runs(minilm_longformer, corpus_file):
    with pytest.raises(CorpusInputError, match="minilm-longformer"):
        run_corpus(minilm_longformer, open_path(str(corpus_file)), CorpusOptions(measures=("alti",)))


def test_the_cli_table_prints_each_layer_and_the_reading(capsys, corpus_file):
    code = cli.main(["corpus", str(corpus_file), "--limit", "4", "--measure", "attention", "alti", "--format", "table"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "context mixing over 4 sentences" in out
    rows = [line for line in out.splitlines() if line.split()[1:2] == ["mixing"] and line.split()[0].isdigit()]
    assert [int(line.split()[0]) for line in rows] == [1, 2, 3, 4, 5, 6]
    assert "by ALTI" in out
