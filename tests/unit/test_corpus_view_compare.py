"""The corpus comparison of the two views, on hand-made evidence; and how the result uses it."""

import numpy as np

from i18n import using
from models.corpus.result import finish, to_json_dict
from models.corpus.scores import SentenceScores
from models.corpus.stats import CorpusStats, ViewStats
from models.corpus.view_compare import ViewEvidence, compare_corpus_views
from models.result import ModelInfo
from models.score.roles import RoleThresholds
from models.score.scores import SCORE_NAMES

L, H = 4, 3
SIZES = np.array([[4.0, 0.2, 2.0]] * L)  # words, [CLS], [SEP]: [CLS] 20× smaller


def _evidence(to_cls, special_share=0.1, ci=0.02, share_ci=0.01, to_sep=0.05):
    partition = np.array([[share, to_sep, 0.1, 1 - share - to_sep - 0.1] for share in to_cls])
    return ViewEvidence(partition, np.full((L, 4), ci), special_share, share_ci)


def test_no_op_message_gives_both_shares_with_their_intervals():
    weight, norm = _evidence([0.1, 0.6, 0.56, 0.2]), _evidence([0.05, 0.14, 0.12, 0.1], ci=0.01)
    found = compare_corpus_views(weight, norm, SIZES, 1200)
    assert len(found) == 1 and found[0].level == "info"
    assert found[0].message == (
        "Layers 2–3 put 0.58 ± 0.02 of their attention weight on [CLS], but [CLS]'s value vectors are 20× "
        "smaller than the words', so only 0.13 ± 0.01 of what these heads move comes from [CLS], over 1,200 "
        "sentences (norm view, Kobayashi et al. 2020). Heavy [CLS] attention here is mostly a no-op, not "
        "clogged flow."
    )


def test_carries_message_when_the_norm_view_keeps_the_share():
    weight, norm = _evidence([0.5, 0.5, 0.1, 0.1]), _evidence([0.44, 0.4, 0.1, 0.1])
    sizes = np.array([[3.0, 3.0, 3.0]] * L)
    (found,) = compare_corpus_views(weight, norm, sizes, 300)
    assert "0.42 ± 0.02 of what these heads move comes from [CLS], over 300 sentences" in found.message
    assert "about as large as the words'" in found.message and "carries real information" in found.message


def test_sep_focus_and_no_focus():
    weight = _evidence([0.1] * 4, to_sep=0.5)
    norm = _evidence([0.1] * 4, to_sep=0.1)
    (found,) = compare_corpus_views(weight, norm, SIZES, 50)
    assert found.message.startswith("Layers 1–4 put 0.50 ± 0.02 of their attention weight on [SEP]")
    assert "2.0× smaller" in found.message
    assert compare_corpus_views(_evidence([0.1] * 4), _evidence([0.1] * 4), SIZES, 50) == ()


def test_clogged_warning_is_judged_on_the_norm_view():
    flat = [0.1] * 4
    both = compare_corpus_views(_evidence(flat, 0.95), _evidence(flat, 0.93, share_ci=0.01), SIZES, 800)
    assert [d.level for d in both] == ["warning"]
    assert both[0].message.startswith("93% of heads (± 1.0%, over 800 sentences) move mostly [CLS]/[SEP]")
    assert "disagree" not in both[0].message and "Not settled" not in both[0].message

    only_norm = compare_corpus_views(
        _evidence(flat, 0.3, share_ci=0.02), _evidence(flat, 0.91, share_ci=0.03), SIZES, 800
    )
    assert only_norm[0].level == "warning"
    assert "The two views disagree: by attention weight only 30% (± 2.0%)" in only_norm[0].message
    assert "Not settled: the 95% interval reaches below the threshold of 0.90." in only_norm[0].message

    only_weight = compare_corpus_views(_evidence(flat, 0.95), _evidence(flat, 0.2), SIZES, 800)
    assert [d.level for d in only_weight] == ["info"]
    assert "says the flow is not clogged" in only_weight[0].message
    assert compare_corpus_views(_evidence(flat, 0.5), _evidence(flat, 0.2), SIZES, 800) == ()


def test_messages_translate():
    weight, norm = _evidence([0.1, 0.6, 0.56, 0.2]), _evidence([0.05, 0.14, 0.12, 0.1])
    (found,) = compare_corpus_views(weight, norm, SIZES, 1200)
    with using("ja"):
        text = str(found.message)
    assert "第2～3層" in text and "1,200文にわたって" in text and "0.58 ± 0.02" in text and "ノルムビュー" in text


def _view(rng, size, cls_heads: bool, norm: bool = False) -> SentenceScores:
    scores = {name: np.zeros((size, L, H)) for name in SCORE_NAMES}
    scores["cls"] = np.full((size, L, H), 0.95 if cls_heads else 0.2) + rng.uniform(0, 0.01, (size, L, H))
    scores["entropy"] = np.full((size, L, H), 0.5)
    partition = np.tile([0.2, 0.1, 0.1, 0.6], (size, L, H, 1))
    sizes = np.tile([4.0, 0.2, 2.0], (size, L, 1)) if norm else None
    return SentenceScores(scores, partition, rng.uniform(0, 0.3, (size, L)), sizes)


def _stats(views: dict) -> CorpusStats:
    size = next(iter(views.values())).size
    indices = np.arange(size)
    stats = {name: ViewStats.of(scores, indices, RoleThresholds(), 2) for name, scores in views.items()}
    return CorpusStats(size, size, {"blank": 0}, 0, stats, {int(i): (f"s{i}", None) for i in indices})


MODEL = ModelInfo("tiny", "bert", L, H, None, "hand-made")


def test_finish_puts_the_comparison_first_and_warns_only_on_the_norm_view():
    rng = np.random.default_rng(0)
    stats = _stats({"weight": _view(rng, 40, cls_heads=True), "norm": _view(rng, 40, cls_heads=False, norm=True)})
    result = finish(stats, MODEL, "c.txt")
    assert set(result.views) == {"weight", "norm"} and result.notices == ()
    assert result.comparison and result.comparison[0].level == "info"
    assert "says the flow is not clogged" in result.comparison[0].message
    for view in result.views.values():
        assert view.diagnosis[: len(result.comparison)] == result.comparison
        assert not any(d.level == "warning" for d in view.diagnosis)  # the weight view alone would warn
    np.testing.assert_allclose(result.norm.norm_sizes["cls"].mean, 0.2)
    assert result.weights.norm_sizes is None


def test_a_family_without_the_norm_view_says_so():
    rng = np.random.default_rng(1)
    result = finish(_stats({"weight": _view(rng, 40, cls_heads=True)}), MODEL, "c.txt")
    assert result.norm is None and result.comparison == ()
    assert result.notices == (
        "The norm view is not available for bert models: the value vectors of this family "
        "are not captured, so only the attention-weight view is shown.",
    )
    assert result.weights.diagnosis[0].level == "warning"  # with one view, the weight view warns itself
    document = to_json_dict(result)
    assert document["views"] == ["weight"] and document["norm"] is None and len(document["notices"]) == 1
    assert finish(_stats({"weight": _view(rng, 4, True)}), MODEL, "c.txt", views=("weight",)).notices == ()
