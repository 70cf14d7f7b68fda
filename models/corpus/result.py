"""The immutable result of a corpus analysis, and its stable JSON document.

L layers, H heads, k top-k size (at most the number of sentences).  Layers and heads are
0-based in arrays, 1-based in `layers[].layer` and in messages, as in models.score.analysis.
Every view ("weight", "norm": models.score.sweep.View) has the same aggregates (ViewResult);
the JSON keeps the weight view's at the top level and the norm view's under "norm".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from i18n import N_, as_text
from models.corpus.diagnosis import CorpusEvidence, corpus_diagnosis
from models.corpus.mixing import QUANTITIES, MixingStats
from models.corpus.scores import NORM_SIZES
from models.corpus.stats import CONFIDENCE, CorpusStats, Moments, ViewStats
from models.corpus.view_compare import ViewEvidence, compare_corpus_views
from models.frozen import read_only
from models.result import ModelInfo
from models.score.roles import ROLES, Diagnosis, RoleThresholds, summary_layers
from models.score.scores import PART_NAMES, SCORE_NAMES
from models.score.sweep import VIEWS, View

JSON_DECIMALS = 6


@dataclass(frozen=True, eq=False)
class Estimate:
    """A per-sentence quantity over the corpus: mean, sample std and the 95% interval's
    half-width (nan below two sentences), all of the quantity's shape."""

    mean: np.ndarray
    std: np.ndarray
    ci: np.ndarray

    @staticmethod
    def of(moments: Moments, index=...) -> Estimate:
        return Estimate(
            *(read_only(np.array(a[index], dtype=np.float64)) for a in (moments.mean, moments.std, moments.ci))
        )


@dataclass(frozen=True, eq=False)
class TopSentences:
    """For one score: per head, the sentences with the highest and lowest values, best first.

    high_index, low_index  [L, H, k] int64 sentence indices (0-based record numbers)
    high_value, low_value  [L, H, k] float64
    """

    high_index: np.ndarray
    high_value: np.ndarray
    low_index: np.ndarray
    low_value: np.ndarray


@dataclass(frozen=True, eq=False)
class ViewResult:
    """One attention view over the corpus.

    scores           score name → Estimate [L, H]   (models.score.scores.SCORE_NAMES)
    partition        part name → Estimate [L, H]    (to_cls, to_sep, near_diagonal, rest)
    roles            role → [L, H] share of sentences in which the head takes that role
    main_roles       [L, H] each head's most frequent role (ties: models.score.roles.ROLES order)
    layer_roles      role → Estimate [L]: the share of the layer's heads in that role
    layer_partition  part → Estimate [L]: the layer's mass split, averaged over its heads
    layer_summary    Estimate [L]: how good a sentence summary the layer's [CLS] is
    summary_layers   0-based layers with the best mean [CLS] summary, best first
    top              score name → TopSentences
    diagnosis        plain-language messages with intervals (the comparison of the two
                     views first, when both are there)
    norm_sizes       norm view only (else None): "words", "cls", "sep" → Estimate [L], the
                     mean ‖f_h(x_j)‖ over heads of the words, the first cls token and the sep
                     tokens (raw, not normalised): why the two views differ
    """

    scores: Mapping[str, Estimate]
    partition: Mapping[str, Estimate]
    roles: Mapping[str, np.ndarray]
    main_roles: np.ndarray
    layer_roles: Mapping[str, Estimate]
    layer_partition: Mapping[str, Estimate]
    layer_summary: Estimate
    summary_layers: tuple[int, ...]
    top: Mapping[str, TopSentences]
    diagnosis: tuple[Diagnosis, ...]
    norm_sizes: Mapping[str, Estimate] | None = None


@dataclass(frozen=True, eq=False)
class CorpusMixing:
    """The context-mixing measures over the corpus (models.corpus.mixing).

    measures   the measures computed, in MEASURES order
    sentences  sentences measured; skipped: sentences the measures could not read
    estimates  quantity ("mixing_ratio", "to_cls", "to_sep") → measure → Estimate [L]
    diagnosis  the no-op reading (models.mixing.diagnosis) of the corpus means
    """

    measures: tuple[str, ...]
    sentences: int
    skipped: int
    estimates: Mapping[str, Mapping[str, Estimate]]
    diagnosis: tuple[Diagnosis, ...]


def _mixing_result(stats: MixingStats) -> CorpusMixing:
    from models.mixing.diagnosis import diagnose_mixing

    estimates = {
        quantity: {measure: Estimate.of(moments) for measure, moments in stats.moments.get(quantity, {}).items()}
        for quantity in QUANTITIES
    }
    diagnosis: tuple[Diagnosis, ...] = ()
    if stats.sentences:
        lead = Diagnosis(
            "info",
            N_(
                "Context mixing over {sentences} sentences (each layer's "
                "mean; the spread is in the JSON and the table):"
            ).format(sentences=stats.sentences),
        )
        diagnosis = (lead, *diagnose_mixing(stats.summary()))
    return CorpusMixing(stats.measures, stats.sentences, stats.skipped, estimates, diagnosis)


@dataclass(frozen=True, eq=False)
class CorpusResult:
    """Everything a corpus analysis found.

    model            what produced the attention
    source           the corpus' name (file name, "-" for stdin, upload name)
    records          records read (skipped ones included; stops at the limit)
    sentences        sentences scored
    skipped          reason → count: blank (empty line or field), empty (no tokens the
                     model can read), missing (a row or object without the text column)
    truncated        sentences cut to the model's limit (scored on what was kept)
    exclude_special  whether special tokens' query rows were left out of the averages
    complete         False for a partial result sent while the run goes on
    views            view → ViewResult: "weight" (the softmax attention) always; "norm"
                     (row-normalised α·‖f(x)‖, models/score/norms.py) for families with a
                     capture entry, unless left out by CorpusOptions.views
    texts            sentence index → (text, text_b) for every sentence in a top-k list
    comparison       the messages comparing the two views (also at the head of each view's
                     diagnosis); () with one view
    notices          plain-language notes, e.g. that this family has no norm view
    mixing           the context-mixing measures per layer (CorpusOptions.measures), or None
    """

    model: ModelInfo
    source: str
    records: int
    sentences: int
    skipped: Mapping[str, int]
    truncated: int
    exclude_special: bool
    complete: bool
    views: Mapping[View, ViewResult]
    texts: Mapping[int, tuple[str, str | None]]
    comparison: tuple[Diagnosis, ...] = ()
    notices: tuple[str, ...] = ()
    mixing: CorpusMixing | None = None

    @property
    def weights(self) -> ViewResult:
        """The attention-weight view (views["weight"])."""
        return self.views["weight"]

    @property
    def norm(self) -> ViewResult | None:
        """The norm view (views["norm"]), or None when the model's family has none."""
        return self.views.get("norm")


def _evidence(stats: ViewStats, sentences: int) -> CorpusEvidence:
    m = stats.moments
    layer_summary = m["layer_summary"]
    return CorpusEvidence(
        sentences=sentences,
        band_partition=m["band_partition"].mean,
        band_partition_ci=m["band_partition"].ci,
        band_local=m["band_local"].mean,
        layer_cls_out=m["layer_cls_out"].mean,
        layer_cls_out_ci=m["layer_cls_out"].ci,
        layer_summary=layer_summary.mean,
        layer_summary_ci=layer_summary.ci,
        special_share=float(m["special_share"].mean),
        special_share_ci=float(m["special_share"].ci),
        main_share=stats.role_counts.max(axis=0) / max(sentences, 1),
    )


def _view_evidence(stats: ViewStats) -> ViewEvidence:
    partition, special = stats.moments["layer_partition"], stats.moments["special_share"]
    return ViewEvidence(partition.mean, partition.ci, float(special.mean), float(special.ci))


def _view_result(
    stats: ViewStats,
    sentences: int,
    thresholds: RoleThresholds,
    comparison: tuple[Diagnosis, ...] = (),
    warn: bool = True,
) -> ViewResult:
    m = stats.moments
    shares = stats.role_counts / max(sentences, 1)  # [R, L, H]
    main = np.asarray(ROLES, dtype=object)[np.argmax(stats.role_counts, axis=0)]
    layer_summary = Estimate.of(m["layer_summary"])
    k = min(stats.top.k, sentences)
    top = {
        name: TopSentences(
            *(
                read_only(np.array(a[s, ..., :k]))
                for a in (stats.top.high_index, stats.top.high_value, stats.top.low_index, stats.top.low_value)
            )
        )
        for s, name in enumerate(SCORE_NAMES)
    }
    sizes = None
    if "norm_sizes" in m:
        sizes = {name: Estimate.of(m["norm_sizes"], (..., c)) for c, name in enumerate(NORM_SIZES)}
    return ViewResult(
        scores={name: Estimate.of(m[f"score:{name}"]) for name in SCORE_NAMES},
        partition={name: Estimate.of(m["partition"], (..., p)) for p, name in enumerate(PART_NAMES)},
        roles={role: read_only(shares[r]) for r, role in enumerate(ROLES)},
        main_roles=read_only(main),
        layer_roles={role: Estimate.of(m["layer_roles"], (..., r)) for r, role in enumerate(ROLES)},
        layer_partition={name: Estimate.of(m["layer_partition"], (..., p)) for p, name in enumerate(PART_NAMES)},
        layer_summary=layer_summary,
        summary_layers=summary_layers(layer_summary.mean),
        top=top,
        diagnosis=comparison + corpus_diagnosis(_evidence(stats, sentences), thresholds, warn=warn),
        norm_sizes=sizes,
    )


def finish(
    stats: CorpusStats,
    model: ModelInfo,
    source: str,
    exclude_special: bool = False,
    thresholds: RoleThresholds = RoleThresholds(),
    complete: bool = True,
    views: Sequence[View] = VIEWS,
) -> CorpusResult:
    """Turn merged aggregates into the result (means, intervals, role shares, diagnosis).

    views: the views asked for; one asked for and missing (a family without a capture
    entry has no norm view) gets a notice.  With both views, the comparison leads each
    view's diagnosis and the clogged-flow warning is judged on the norm view.
    """
    both = all(view in stats.views for view in VIEWS)
    comparison: tuple[Diagnosis, ...] = ()
    if both:
        weight, norm = stats.views["weight"], stats.views["norm"]
        comparison = compare_corpus_views(
            _view_evidence(weight), _view_evidence(norm), norm.moments["norm_sizes"].mean, stats.sentences, thresholds
        )
    notices = ()
    if stats.views and "norm" in views and "norm" not in stats.views:
        notices = (
            N_(
                "The norm view is not available for {family} models: the value vectors of this family are not "
                "captured, so only the attention-weight view is shown."
            ).format(family=model.family),
        )
    return CorpusResult(
        model=model,
        source=source,
        records=stats.records,
        sentences=stats.sentences,
        skipped=dict(stats.skipped),
        truncated=stats.truncated,
        exclude_special=exclude_special,
        complete=complete,
        views={
            name: _view_result(view, stats.sentences, thresholds, comparison, warn=not both)
            for name, view in stats.views.items()
        },
        texts=dict(sorted(stats.texts.items())),
        comparison=comparison,
        notices=notices,
        mixing=_mixing_result(stats.mixing) if stats.mixing is not None else None,
    )


def head_rows(result: CorpusResult, view: View = "weight") -> list[dict]:
    """One row per layer × head (1-based): each score's mean and std, each partition part's
    mean, the main role and each role's share of sentences.  For a sortable, filterable
    table and a CSV export ("heads with mean cls ≥ 0.5")."""
    chosen = result.views[view]
    rows = []
    for layer, head in np.ndindex(chosen.main_roles.shape):
        row = {"layer": layer + 1, "head": head + 1, "main_role": chosen.main_roles[layer, head]}
        for name, estimate in chosen.scores.items():
            row[name] = round(float(estimate.mean[layer, head]), JSON_DECIMALS)
            row[f"{name}_std"] = round(float(estimate.std[layer, head]), JSON_DECIMALS)
        for name, estimate in chosen.partition.items():
            row[name] = round(float(estimate.mean[layer, head]), JSON_DECIMALS)
        for role, share in chosen.roles.items():
            row[f"share_{role}"] = round(float(share[layer, head]), JSON_DECIMALS)
        rows.append(row)
    return rows


def rounded(array) -> list | float | None:
    """Rounded JSON numbers; nan (no interval below two sentences) becomes null."""
    array = np.round(np.asarray(array, dtype=np.float64), JSON_DECIMALS)
    as_object = np.where(np.isfinite(array), array, None).astype(object)
    return as_object.tolist()


def _estimate(estimate: Estimate, with_ci: bool = True) -> dict:
    out = {"mean": rounded(estimate.mean), "std": rounded(estimate.std)}
    if with_ci:
        out["ci"] = rounded(estimate.ci)
    return out


def _view_json(chosen: ViewResult, layers: int) -> dict:
    """One view's per-head and per-layer keys (the same shape in both views)."""
    document = {
        "scores": {name: _estimate(estimate) for name, estimate in chosen.scores.items()},
        "partition": {name: _estimate(estimate) for name, estimate in chosen.partition.items()},
        "roles": {role: rounded(share) for role, share in chosen.roles.items()},
        "main_roles": chosen.main_roles.tolist(),
        "layers": [
            {
                "layer": layer + 1,
                "roles": {
                    role: _estimate(Estimate(e.mean[layer], e.std[layer], e.ci[layer]), with_ci=False)
                    for role, e in chosen.layer_roles.items()
                },
                "partition": {
                    name: _estimate(Estimate(e.mean[layer], e.std[layer], e.ci[layer]))
                    for name, e in chosen.layer_partition.items()
                },
                "summary": _estimate(
                    Estimate(
                        chosen.layer_summary.mean[layer],
                        chosen.layer_summary.std[layer],
                        chosen.layer_summary.ci[layer],
                    )
                ),
            }
            for layer in range(layers)
        ],
        "summary_layers": [layer + 1 for layer in chosen.summary_layers],
        "top": {
            name: {
                "high": {"index": top.high_index.tolist(), "value": rounded(top.high_value)},
                "low": {"index": top.low_index.tolist(), "value": rounded(top.low_value)},
            }
            for name, top in chosen.top.items()
        },
        "diagnosis": _messages(chosen.diagnosis),
    }
    if chosen.norm_sizes is not None:
        document["value_norms"] = {name: _estimate(estimate) for name, estimate in chosen.norm_sizes.items()}
    return document


def _messages(diagnosis: Sequence[Diagnosis]) -> list[dict]:
    return [{"level": d.level, "message": as_text(d.message)} for d in diagnosis]


def to_json_dict(result: CorpusResult) -> dict:
    """The stable JSON document printed by `cli.py corpus --format json` (see README): the
    weight view's keys at the top level, the norm view's (same shape) under "norm"."""
    layers = result.model.layers
    weight = _view_json(result.weights, layers)
    texts = {str(index): {"text": text, "pair": pair} for index, (text, pair) in result.texts.items()}
    return {
        "model": result.model.as_json(),
        "view": "weight",
        "views": list(result.views),
        "source": result.source,
        "records": result.records,
        "sentences": result.sentences,
        "skipped": dict(result.skipped),
        "truncated": result.truncated,
        "exclude_special": result.exclude_special,
        "complete": result.complete,
        "confidence": CONFIDENCE,
        **{key: value for key, value in weight.items() if key != "diagnosis"},
        "texts": texts,
        "diagnosis": weight["diagnosis"],
        "norm": _view_json(result.norm, layers) if result.norm is not None else None,
        "notices": [as_text(notice) for notice in result.notices],
        **({"mixing": _mixing_json(result.mixing)} if result.mixing is not None else {}),
    }


def _mixing_json(mixing: CorpusMixing) -> dict:
    """{sentences, skipped, measures: {NAME: {mixing_ratio, to_cls, to_sep: {mean, std, ci} [L]}},
    diagnosis}: the keys of `cli.py mixing`'s per-layer lists, as corpus estimates."""
    return {
        "sentences": mixing.sentences,
        "skipped": mixing.skipped,
        "measures": {
            measure: {quantity: _estimate(mixing.estimates[quantity][measure]) for quantity in QUANTITIES}
            for measure in mixing.measures
            if mixing.sentences
        },
        "diagnosis": _messages(mixing.diagnosis),
    }
