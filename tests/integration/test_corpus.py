"""Corpus engine on the embedded MiniLM: equal to analyze_views(extract()) one sentence at a
time, in both views (the weight view and the norm view)."""

import numpy as np
import pytest
import torch

from models.corpus.batch import batch_inputs, encode_records, plan_batches, score_sentences
from models.corpus.engine import CorpusOptions, run_corpus
from models.corpus.io import CorpusInputError, CorpusRecord
from models.corpus.result import head_rows, to_json_dict
from models.corpus.source import open_path, open_upload
from models.examples import sample_corpus, sample_pairs
from models.extract.attention import extract
from models.score.analysis import analyze, analyze_views
from models.score.roles import ROLES
from models.score.scores import PART_NAMES, SCORE_NAMES

AGGREGATE_TOL = 1e-6  # the batched forward pass differs from one sentence alone by up to ~5e-7
PADDING_TOL = 1e-5
HANDFUL = [
    "The dog chased the cat, because it was hungry.",
    "Why?",
    "[CLS] Typed markers are recognised . [SEP]",
    "A short one.",
    "",
    "Rain, wind, and then, quite suddenly, sunshine over the whole valley.",
    "\u200b",
    "First half of a typed pair [SEP] and its second half.",
    "Is this seat taken?",
]


def _one_by_one(loaded, texts, exclude_special=False, view="weight"):
    return [
        analyze_views(extract(loaded, t), exclude_special=exclude_special, rollout_views=())[view]
        for t in texts
        if t.strip() and t != "\u200b"
    ]


@pytest.fixture(scope="module")
def handful_result(minilm):
    data = "\n".join(HANDFUL).encode()
    return run_corpus(minilm, open_upload(data, "handful.txt"), CorpusOptions(batch_size=4, sort_batches=2, top_k=3))


@pytest.mark.parametrize("view", ["weight", "norm"])
def test_aggregates_equal_mean_and_std_of_single_analyses(minilm, handful_result, view):
    singles = _one_by_one(minilm, HANDFUL, view=view)
    weights = handful_result.views[view]
    assert handful_result.sentences == len(singles) == 7
    assert handful_result.skipped == {"blank": 1, "empty": 1, "missing": 0}
    for name in SCORE_NAMES:
        values = np.stack([a.scores[name] for a in singles])  # [n, L, H]
        np.testing.assert_allclose(weights.scores[name].mean, values.mean(0), atol=AGGREGATE_TOL, err_msg=name)
        np.testing.assert_allclose(weights.scores[name].std, values.std(0, ddof=1), atol=AGGREGATE_TOL, err_msg=name)
    for k, part in enumerate(PART_NAMES):
        values = np.stack([a.partition[..., k] for a in singles])
        np.testing.assert_allclose(weights.partition[part].mean, values.mean(0), atol=AGGREGATE_TOL)
        layer_values = np.stack([a.layer_partition[:, k] for a in singles])
        np.testing.assert_allclose(weights.layer_partition[part].std, layer_values.std(0, ddof=1), atol=AGGREGATE_TOL)
    for r, role in enumerate(ROLES):
        share = np.mean([a.roles == role for a in singles], axis=0)
        np.testing.assert_allclose(weights.roles[role], share, atol=1e-12, err_msg=role)
        layer_share = np.stack([a.layer_roles[:, r] for a in singles])
        np.testing.assert_allclose(weights.layer_roles[role].mean, layer_share.mean(0), atol=1e-12)
    summaries = np.stack([a.layer_summary for a in singles])
    np.testing.assert_allclose(weights.layer_summary.mean, summaries.mean(0), atol=AGGREGATE_TOL)
    np.testing.assert_allclose(weights.layer_summary.std, summaries.std(0, ddof=1), atol=AGGREGATE_TOL)


def test_norm_view_value_norms_equal_single_extractions(minilm, handful_result):
    """The norm view's mean ‖f(x)‖ of the words, [CLS] and [SEP] per layer, against extract()."""
    results = [extract(minilm, t) for t in HANDFUL if t.strip() and t != "\u200b"]
    sizes = {"words": [], "cls": [], "sep": []}
    for result in results:
        norms = result.value_norms.astype(np.float64)  # [L, H, N]
        sizes["words"].append(norms[:, :, ~result.special_mask].mean(axis=(1, 2)))
        sizes["cls"].append(norms[:, :, result.cls_positions[0]].mean(axis=1))
        sizes["sep"].append(norms[:, :, list(result.sep_positions)].mean(axis=(1, 2)))
    for name, values in sizes.items():
        np.testing.assert_allclose(handful_result.norm.norm_sizes[name].mean, np.mean(values, axis=0), rtol=1e-5)
    words, cls = handful_result.norm.norm_sizes["words"].mean, handful_result.norm.norm_sizes["cls"].mean
    assert np.all(words[1:] > 5 * cls[1:])  # [CLS] moves little: the reason the views differ
    assert handful_result.weights.norm_sizes is None


def test_norm_view_moves_less_from_cls_than_the_weights_say(handful_result):
    """Kobayashi et al.'s finding on MiniLM, over the corpus: layers 2–5 put far more weight on
    [CLS] than they move from it, and the comparison says so first."""
    by_weight = handful_result.weights.layer_partition["to_cls"].mean[1:5]
    by_norm = handful_result.norm.layer_partition["to_cls"].mean[1:5]
    assert np.all(by_norm < 0.5 * by_weight)
    first = handful_result.comparison[0].message
    assert "of their attention weight on [CLS]" in first and "over 7 sentences" in first and "no-op" in first
    assert handful_result.weights.diagnosis[0] == handful_result.norm.diagnosis[0] == handful_result.comparison[0]


def test_top_sentences_are_the_extremes_of_single_analyses(minilm, handful_result):
    texts = [t for t in HANDFUL]
    kept = [i for i, t in enumerate(texts) if t.strip() and t != "\u200b"]
    singles = dict(zip(kept, _one_by_one(minilm, HANDFUL)))
    top = handful_result.weights.top["cls"]
    assert top.high_index.shape == (6, 12, 3)
    for layer, head in [(0, 0), (2, 5), (5, 11)]:
        values = {i: a.scores["cls"][layer, head] for i, a in singles.items()}
        ranked = sorted(values, key=lambda i: -values[i])
        np.testing.assert_allclose(top.high_value[layer, head], [values[i] for i in ranked[:3]], atol=AGGREGATE_TOL)
        np.testing.assert_allclose(top.low_value[layer, head], sorted(values.values())[:3], atol=AGGREGATE_TOL)
        assert top.high_index[layer, head, 0] == ranked[0]
    for index in np.unique(top.high_index):
        assert handful_result.texts[int(index)] == (texts[index], None)


def test_padding_never_leaks_into_scores(minilm):
    texts = [
        "Hi.",
        "A medium sentence, with a comma.",
        "A much longer sentence that goes on, and on, with several "
        "clauses, so that the others in its batch are padded a lot.",
        "Why not?",
    ]
    chunk = encode_records(minilm, [CorpusRecord(i, i + 1, 0, t) for i, t in enumerate(texts)])
    batch = list(chunk.sentences)
    together = score_sentences(minilm, batch)
    inputs, masks = batch_inputs(minilm, batch)
    assert masks.valid.sum(1).tolist() != [masks.valid.shape[1]] * len(batch)  # really padded
    assert set(together) == {"weight", "norm"}
    for b, sentence in enumerate(batch):
        alone = score_sentences(minilm, [sentence])
        for view in ("weight", "norm"):
            for name in SCORE_NAMES:
                np.testing.assert_allclose(
                    together[view].scores[name][b],
                    alone[view].scores[name][0],
                    atol=PADDING_TOL,
                    err_msg=f"{view} {name}",
                )
            np.testing.assert_allclose(together[view].partition[b], alone[view].partition[0], atol=PADDING_TOL)
            np.testing.assert_allclose(together[view].layer_summary[b], alone[view].layer_summary[0], atol=PADDING_TOL)
        np.testing.assert_allclose(together["norm"].norm_sizes[b], alone["norm"].norm_sizes[0], rtol=1e-5)
    with torch.inference_mode():
        attention = minilm.model(**inputs, output_attentions=True).attentions
    for b, sentence in enumerate(batch):  # the fact the scorer relies on: padding keys get exactly 0
        n = sentence.n
        for layer in attention:
            assert torch.all(layer[b, :, :n, n:] == 0)
            torch.testing.assert_close(layer[b, :, :n, :n].sum(-1), torch.ones(layer.shape[1], n), atol=3e-6, rtol=0)


def test_batches_are_bucketed_by_length(minilm):
    texts = [("word " * (i % 7 + 1)).strip() for i in range(40)]
    chunk = encode_records(minilm, [CorpusRecord(i, i + 1, 0, t) for i, t in enumerate(texts)])
    batches = plan_batches(minilm, chunk.sentences, 8)
    assert [len(b) for b in batches] == [8] * 5
    widths = [max(s.n for s in b) for b in batches]
    assert widths == sorted(widths) and widths[0] < widths[-1]
    padding = sum(max(s.n for s in b) - s.n for b in batches for s in b)
    unsorted = sum(
        max(s.n for s in chunk.sentences[i : i + 8]) - s.n for i in range(0, 40, 8) for s in chunk.sentences[i : i + 8]
    )
    assert padding < unsorted / 3


def test_exclude_special_matches_analyze(minilm):
    texts = ["The cat sat on the mat.", "Birds sing at dawn, loudly."]
    result = run_corpus(minilm, open_upload("\n".join(texts).encode(), "c.txt"), CorpusOptions(exclude_special=True))
    for view in ("weight", "norm"):
        singles = _one_by_one(minilm, texts, exclude_special=True, view=view)
        for name in ("cls", "entropy"):
            expected = np.mean([a.scores[name] for a in singles], axis=0)
            np.testing.assert_allclose(result.views[view].scores[name].mean, expected, atol=AGGREGATE_TOL)
    assert result.exclude_special


def test_pairs_from_the_sample_tsv_equal_single_pair_analyses(minilm):
    source = open_path(sample_pairs(), pair_column="pair")
    result = run_corpus(minilm, source, CorpusOptions(limit=6))
    records = list(source.records(6))
    singles = [analyze_views(extract(minilm, r.text, r.text_b), rollout_views=()) for r in records]
    assert result.sentences == 6 and all(r.text_b for r in records)
    for view in ("weight", "norm"):
        expected = np.mean([a[view].scores["sep"] for a in singles], axis=0)
        np.testing.assert_allclose(result.views[view].scores["sep"].mean, expected, atol=AGGREGATE_TOL)


def test_long_lines_are_truncated_and_counted(minilm):
    long_line = "word " * 700
    result = run_corpus(minilm, open_upload(f"Short line.\n{long_line}\n".encode(), "c.txt"))
    assert result.truncated == 1 and result.sentences == 2
    single = analyze(extract(minilm, long_line))
    assert extract(minilm, long_line).truncated
    expected = (single.scores["entropy"] + analyze(extract(minilm, "Short line.")).scores["entropy"]) / 2
    np.testing.assert_allclose(result.weights.scores["entropy"].mean, expected, atol=AGGREGATE_TOL)


def test_progress_partials_and_limit(minilm):
    seen, partials = [], []
    source = open_path(sample_corpus())
    options = CorpusOptions(batch_size=8, sort_batches=2, limit=100, partial_every=2)
    result = run_corpus(minilm, source, options, progress=seen.append, on_partial=partials.append)
    assert result.records == 100 and result.complete
    assert [p.records for p in seen] == sorted(p.records for p in seen) and seen[-1].fraction == 1.0
    assert seen[0].total == 100 and seen[-1].rate > 0 and seen[-1].eta_s == 0
    assert partials and not any(p.complete for p in partials)
    assert [p.sentences for p in partials] == sorted(p.sentences for p in partials) and partials[-1].sentences < 100


def test_nothing_to_analyse_is_an_error(minilm):
    with pytest.raises(CorpusInputError, match=r"No sentence in 'c.txt' could be analysed \(3 records read: 2 blank"):
        run_corpus(minilm, open_upload(b"\n   \n\xe2\x80\x8b\n", "c.txt"))


def test_json_document_shapes_and_keys(handful_result):
    document = to_json_dict(handful_result)
    assert set(document) >= {
        "model",
        "sentences",
        "skipped",
        "truncated",
        "scores",
        "roles",
        "layers",
        "top",
        "diagnosis",
        "texts",
        "view",
        "views",
        "norm",
        "notices",
    }
    assert (document["view"], document["views"], document["notices"]) == ("weight", ["weight", "norm"], [])
    norm = document["norm"]
    assert set(norm) == {
        "scores",
        "partition",
        "roles",
        "main_roles",
        "layers",
        "summary_layers",
        "top",
        "diagnosis",
        "value_norms",
    }
    for key in ("scores", "partition", "roles", "main_roles", "layers", "summary_layers", "top"):
        assert _shape(norm[key]) == _shape(document[key]), key
    assert set(norm["value_norms"]) == {"words", "cls", "sep"} and len(norm["value_norms"]["cls"]["mean"]) == 6
    assert norm["scores"]["cls"]["mean"][2][4] == round(float(handful_result.norm.scores["cls"].mean[2, 4]), 6)
    assert norm["diagnosis"][0] == document["diagnosis"][0]  # the comparison of the two views leads both
    assert len(document["scores"]["cls"]["mean"]) == 6 and len(document["scores"]["cls"]["std"][0]) == 12
    assert set(document["roles"]) == set(ROLES) and len(document["roles"]["cls"]) == 6
    layer = document["layers"][0]
    assert set(layer["partition"]) == set(PART_NAMES) and set(layer["partition"]["to_cls"]) == {"mean", "std", "ci"}
    assert len(document["top"]["entropy"]["low"]["index"][5][11]) == 3
    assert any("over 7 sentences" in d["message"] for d in document["diagnosis"])


def _shape(value):
    """The nesting of a JSON value: dict keys and list lengths, numbers and strings as None."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return None


def test_longformer_corpus_equals_single_analyses(minilm_longformer):
    texts = [
        "The dog chased the cat.",
        "A longer sentence, which spans several windows of sixteen tokens, so that "
        "the band, the global [CLS] and the padding of the batch all matter here.",
    ]
    result = run_corpus(minilm_longformer, open_upload("\n".join(texts).encode(), "c.txt"))
    assert extract(minilm_longformer, texts[1]).n_tokens > 2 * minilm_longformer.window
    for view in ("weight", "norm"):
        singles = _one_by_one(minilm_longformer, texts, view=view)
        for name in ("cls", "diagonal", "entropy", "cls_out"):
            expected = np.mean([a.scores[name] for a in singles], axis=0)
            np.testing.assert_allclose(
                result.views[view].scores[name].mean, expected, atol=PADDING_TOL, err_msg=f"{view} {name}"
            )


def test_head_rows_are_one_per_head_and_match_the_estimates(handful_result):
    norm_rows = head_rows(handful_result, "norm")
    assert norm_rows[2 * 12 + 4]["cls"] == round(float(handful_result.norm.scores["cls"].mean[2, 4]), 6)
    rows = head_rows(handful_result)
    assert len(rows) == 6 * 12 and (rows[0]["layer"], rows[0]["head"], rows[-1]["layer"], rows[-1]["head"]) == (
        1,
        1,
        6,
        12,
    )
    row = rows[2 * 12 + 4]  # layer 3, head 5
    assert row["cls"] == round(float(handful_result.weights.scores["cls"].mean[2, 4]), 6)
    assert row["main_role"] == handful_result.weights.main_roles[2, 4]
    assert sum(row[f"share_{role}"] for role in ROLES) == pytest.approx(1.0, abs=1e-5)
