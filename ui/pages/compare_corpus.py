"""The compare-models page's optional "over a corpus" section: models A and B over the sample
corpus or an upload, streamed (models/corpus/compare.py), then the ranked heads, the
difference map and the summary.

A run starts on a button press and shows its progress; the finished comparison stays in the
session, keyed by the models, the corpus and the options, so moving around the page does not
run it again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from i18n import N_, _, lazy_ngettext
from models.corpus.compare import CorpusComparison, compare_corpus, to_json_dict
from models.corpus.engine import CorpusOptions, CorpusProgress
from models.corpus.io import CorpusInputError
from models.corpus.source import open_upload
from models.examples import sample_corpus
from models.load.loading import ModelLoadError
from models.score.roles import ROLE_LABELS
from models.score.sweep import View
from ui import cache, common
from ui.pages.corpus import corpus_upload, source_radio, time_left
from viz import export, overview

SAMPLE = sample_corpus()
SOURCES = ("sample", "upload")
SOURCE_CAPTIONS = {"sample": N_("sample sentences the team wrote"), "upload": N_("your own file")}
PROGRESS = lazy_ngettext(
    "{n:,} sentence scored by both models, {rate:.0f} per second{eta}",
    "{n:,} sentences scored by both models, {rate:.0f} per second{eta}",
)
RESULT_KEY = "_cmp_corpus_result"


@dataclass(frozen=True)
class CorpusCompareRequest:
    """What to run: identifies a comparison in the session."""

    model_a: str
    model_b: str
    name: str
    digest: str
    limit: int | None
    exclude_special: bool


def section(model_a: str, model_b: str, exclude_special: bool, view: View) -> None:
    """The section, under the single-input comparison."""
    st.divider()
    if not st.toggle(
        _("Over a corpus"),
        key="cmp_corpus",
        help=_(
            "The same comparison over many sentences: each model's per-head corpus means, their difference, "
            "and the similarity of the two maps on every sentence both tokenizers split alike."
        ),
    ):
        return
    request, data = _choose(model_a, model_b, exclude_special)
    if request is None:
        return
    held = st.session_state.get(RESULT_KEY)
    comparison = common.held_or_run(
        request,
        held,
        N_("Compare over the corpus"),
        N_("Press *{button}* to run both models over it."),
        "cmp_corpus_run",
        lambda: _run(request, data),
    )
    if comparison is not None:
        _show(comparison, view)


def _choose(model_a: str, model_b: str, exclude_special: bool) -> tuple[CorpusCompareRequest | None, bytes | None]:
    source = source_radio(SOURCES, SOURCE_CAPTIONS, "cmp_corpus_source")
    if source == "upload":
        upload = corpus_upload("cmp_corpus_upload")
        if upload is None:
            return None, None
        name, data = upload.name, upload.getvalue()
    else:
        name, data = SAMPLE.name, SAMPLE.read_bytes()
    limit = st.number_input(
        _("Only the first N sentences (0 = all)"), min_value=0, value=50, step=50, key="cmp_corpus_limit"
    )
    digest = hashlib.sha256(data).hexdigest()
    return CorpusCompareRequest(model_a, model_b, name, digest, int(limit) or None, exclude_special), data


def _run(request: CorpusCompareRequest, data: bytes) -> tuple[CorpusCompareRequest, CorpusComparison] | None:
    bar = st.progress(0.0, text=_("Loading the model…"))

    def progress(done: CorpusProgress) -> None:
        eta = time_left(done.eta_s)
        bar.progress(done.fraction or 0.0, text=str(PROGRESS.format(n=done.sentences, rate=done.rate, eta=eta)))

    try:
        loaded_a, loaded_b = cache.get_model(request.model_a), cache.get_model(request.model_b)
        source = open_upload(data, request.name)
        options = CorpusOptions(limit=request.limit, exclude_special=request.exclude_special)
        comparison = compare_corpus(loaded_a, loaded_b, source, options, progress=progress)
    except (CorpusInputError, ModelLoadError) as error:
        bar.empty()
        st.error(str(error))
        return None
    bar.empty()
    st.session_state[RESULT_KEY] = (request, comparison)
    return request, comparison


def _show(comparison: CorpusComparison, view: View) -> None:
    st.caption(
        str(
            N_("Over {sentences:,} sentences of {source}; {aligned:,} split alike by both tokenizers.").format(
                sentences=comparison.sentences, source=comparison.a.source, aligned=comparison.aligned
            )
        )
    )
    for notice in comparison.notices:
        st.info(str(notice), icon=":material/info:")
    if comparison.summary:
        st.info("\n".join(f"- {line}" for line in comparison.summary))
    if comparison.paired:
        _heads(comparison, view)
    else:
        _layers(comparison)
    common.data_download(
        _("Corpus comparison (JSON)"),
        lambda: export.json_bytes(to_json_dict(comparison)),
        "corpus_comparison.json",
        "cmp_corpus_dl_json",
    )


def changed_head_rows(changed) -> list[dict]:
    """The ranked head table of a comparison (one input or a corpus): one row per HeadChange,
    headed in the active language; score names stay identifiers, as in the JSON."""
    layer_column, head_column, similarity_column = _("layer"), _("head"), _("similarity")
    role_a, role_b = (str(N_("role in {name}").format(name=name)) for name in ("A", "B"))
    return [
        {
            layer_column: c.layer + 1,
            head_column: c.head + 1,
            similarity_column: round(c.similarity, 3),
            role_a: str(ROLE_LABELS[c.role_before]),
            role_b: str(ROLE_LABELS[c.role_after]),
            **{f"{name} A→B": f"{c.before[name]:.2f} → {c.after[name]:.2f}" for name in ("cls", "sep", "diagonal")},
        }
        for c in changed
    ]


def _heads(comparison: CorpusComparison, view: View) -> None:
    st.dataframe(changed_head_rows(comparison.changed), hide_index=True)
    diff = comparison.diff[view] if view in comparison.diff else comparison.diff["weight"]
    left, right = st.columns(2)
    with left:
        fig = overview.score_heatmap(comparison.similarity.mean, "similarity")
        fig.update_layout(title=_("Head similarity over the corpus (mean)"))
        common.show(fig, "cmp_corpus_similarity", sized=False, stem="corpus_similarity", of_text=False)
    with right:
        score = st.selectbox(_("Score difference (B − A)"), list(diff), key="cmp_corpus_score")
        fig = overview.difference_heatmap(diff[score], score)
        fig.update_layout(title=str(N_("{score}: B − A of the corpus means").format(score=score)))
        common.show(fig, "cmp_corpus_diff", sized=False, stem=f"corpus_diff_{score}", of_text=False)


def _layers(comparison: CorpusComparison) -> None:
    st.markdown(_("**Layers at matching depth** (corpus means, A then B)"))
    partition_pair(comparison.layers, "cmp_corpus_partition", "corpus_partition", of_text=False)


def partition_pair(layers, key: str, stem: str, of_text: bool = True) -> None:
    """Model A's and model B's layer partition (a LayerComparison's), side by side."""
    for column, name, partition in zip(st.columns(2), ("A", "B"), (layers.partition_a, layers.partition_b)):
        with column:
            fig = overview.partition_bar(partition)  # [L, 4]
            fig.update_layout(title=_("{name}: where each layer's attention goes").format(name=name))
            common.show(fig, f"{key}_{name}", sized=False, stem=f"{stem}_{name}", of_text=of_text)
