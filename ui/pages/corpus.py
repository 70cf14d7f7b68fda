"""The corpus page: the layer story of the chosen model over many sentences, with its
spread, the heads' top and bottom sentences, and a way back to one sentence.

A run starts on a button press (it can take minutes) and shows its progress, redrawing a
partial result every few batches.  The result stays in the session, keyed by the corpus
and the options, so moving around the page or to another page does not lose it: a
partial result too (a run stops when the visitor leaves the page while it runs), marked
as such.  Streamlit forgets an upload once its page is left; the result of the last
upload stays, named with the file's name and size.

The corpus choice shows identifiers (`sentences`, `pairs`, `upload`: the link holds them
in every language), each with a caption in the interface's language.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from i18n import N_, _, lazy_ngettext
from models.corpus.engine import CorpusOptions, CorpusProgress, run_corpus
from models.corpus.io import CorpusInputError
from models.corpus.result import CorpusResult, head_rows, to_json_dict
from models.corpus.source import open_upload, upload_limit_mb
from models.examples import sample_corpus, sample_pairs
from models.extract.attention import InputError
from models.load.loading import ModelLoadError
from models.score.roles import ROLE_LABELS
from ui import cache, common, inputs, state
from ui.eta import RecentRate, split_duration
from ui.pages.analysis import score_picker
from viz import corpus as corpus_figures
from viz import explanations as help_text
from viz import export, overview

SAMPLES = {"sentences": sample_corpus(), "pairs": sample_pairs()}
UPLOAD = "upload"
SOURCE_CAPTIONS = {
    "sentences": N_("sample sentences the team wrote"),
    "pairs": N_("sample sentence pairs"),
    "upload": N_("your own file"),
}
# what links written before the choice showed identifiers hold: label → identifier
LEGACY_SOURCES = {"Sample sentences": "sentences", "Sample sentence pairs": "pairs", "Upload a file": "upload"}
RUN_LABEL = N_("Analyse the corpus")
PRESS_RUN = N_("Press *{button}* to run the model over it.")
PROGRESS = lazy_ngettext(
    "Scoring: {n:,} sentence scored, {rate:.0f} per second lately{eta}",
    "Scoring: {n:,} sentences scored, {rate:.0f} per second lately{eta}",
)
SO_FAR = lazy_ngettext("So far, over {n:,} sentence:", "So far, over {n:,} sentences:")
OVER = lazy_ngettext(
    "`{key}` over {n:,} sentence of {source}{skipped}{truncated}.",
    "`{key}` over {n:,} sentences of {source}{skipped}{truncated}.",
)
SKIP_REASONS = {
    "blank": N_("{count} blank"),
    "empty": N_("{count} without tokens"),
    "missing": N_("{count} without the text column or field"),
}
DIRECTIONS = {"highest": N_("highest"), "lowest": N_("lowest")}
FIRST_SENTENCE = N_("The corpus's first sentence: ")
RESULT_KEY = "_corpus_result"
OPEN_KEY = "_corpus_open"  # set by an Open button: go to the analysis page
TEXT_KEY, PAIR_KEY = "text", "pair"  # the shared inputs a top sentence is sent to


@dataclass(frozen=True)
class CorpusRequest:
    """What to run: identifies a result in the session."""

    name: str
    digest: str
    column: str | None
    pair_column: str | None
    model: str
    window: int | None
    limit: int | None
    exclude_special: bool
    size: int = 0  # bytes
    upload: bool = False


def page() -> None:
    if st.session_state.pop(OPEN_KEY, False):
        st.switch_page(common.page_of("analysis"), query_params={})  # None would clear the bound keys: refused
    shared = inputs.current()
    st.subheader(_("The layer story over a corpus"))
    st.markdown(str(help_text.CORPUS_HELP))
    if common.show_problems(shared, text=False):
        return
    request, data = _choose_corpus(shared)
    held = st.session_state.get(RESULT_KEY)
    if request is None:  # no upload (now): the last upload's result, if that is what was run
        if held is not None and held[0].upload and st.session_state.get("corpus_source") == UPLOAD:
            st.info(
                str(
                    N_(
                        "The result of your last run on the upload '{name}' "
                        "({size}), kept while you visited other pages. "
                        "Upload a file to run again."
                    ).format(name=held[0].name, size=_size(held[0].size))
                ),
                icon=":material/history:",
            )
            _show(held[1], shared)
        return
    _vocabulary_warning(request, data)
    result = common.held_or_run(request, held, RUN_LABEL, PRESS_RUN, "corpus_run", lambda: _run(request, data))
    if result is not None:
        _show(result, shared)


def _corpus_stem(result: CorpusResult, what: str) -> str:
    """Corpus charts are named after the corpus, not the text box (common.file_stem's slug)."""
    return f"corpus_{Path(result.source).stem}_{what}"


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 2**10:.1f} kB"


def _vocabulary_warning(request: CorpusRequest, data: bytes) -> None:
    """The [UNK] warning, from the corpus's first sentence (one cached forward pass): a
    corpus the model cannot read says so before it runs."""
    try:
        source = open_upload(data, request.name, request.column, request.pair_column)
        first = next((record for record in source.records(stop_index=20) if record.text and record.text.strip()), None)
        if first is None:
            return
        result = cache.run_model(request.model, request.window, first.text, first.text_b, None)
    except (CorpusInputError, InputError, ModelLoadError):
        return  # the run says what is wrong
    for notice in result.notices:
        if common.is_vocabulary_notice(notice):
            st.warning(f"{FIRST_SENTENCE}{notice}", icon=":material/translate:")


def source_radio(sources, captions, key: str, **options) -> str:
    """The "Corpus" choice: one option a source, each with its caption."""
    labels = [str(captions[name]) for name in sources]
    return st.radio(_("Corpus"), sources, key=key, horizontal=True, captions=labels, **options)


def _choose_corpus(shared: inputs.Inputs) -> tuple[CorpusRequest | None, bytes | None]:
    sources = [*SAMPLES, UPLOAD]
    state.adopt_aliases("corpus_source", LEGACY_SOURCES)
    source = source_radio(sources, SOURCE_CAPTIONS, "corpus_source", bind=state.BIND)
    state.check("corpus_source", source)
    column = pair_column = None
    if source == UPLOAD:
        upload = corpus_upload("corpus_upload")
        left, right = st.columns(2)
        column = (
            left.text_input(
                _("Text column or field (CSV/TSV/JSONL)"), key="corpus_column", bind=state.BIND, placeholder="text"
            ).strip()
            or None
        )
        pair_column = (
            right.text_input(_("Second-sentence column (optional)"), key="corpus_pair_column", bind=state.BIND).strip()
            or None
        )
        if upload is None:
            return None, None
        name, data = upload.name, upload.getvalue()
    else:
        path = SAMPLES[source]
        name, data = path.name, path.read_bytes()
        pair_column = "pair" if path.suffix == ".tsv" else None
        column = "text" if path.suffix == ".tsv" else None
    limit = st.number_input(
        _("Only the first N sentences (0 = all)"), min_value=0, value=0, step=100, key="corpus_limit", bind=state.BIND
    )
    request = CorpusRequest(
        name,
        hashlib.sha256(data).hexdigest(),
        column,
        pair_column,
        shared.model,
        shared.window,
        int(limit) or None,
        shared.exclude_special,
        len(data),
        source == UPLOAD,
    )
    return request, data


def corpus_upload(key: str):
    """The corpus file box (one sentence a line, CSV/TSV with a header, or JSONL, up to the
    upload limit): the uploaded file, or None."""
    return st.file_uploader(
        str(
            N_("One sentence per line (.txt), a CSV/TSV with a header, or JSONL (at most {limit:g} MB)").format(
                limit=upload_limit_mb()
            )
        ),
        type=["txt", "csv", "tsv", "jsonl", "json"],
        key=key,
    )


def _run(request: CorpusRequest, data: bytes) -> tuple[CorpusRequest, CorpusResult] | None:
    bar = st.progress(0.0, text=_("Loading the model…"))
    partial_box = st.empty()
    records, sentences = RecentRate(), RecentRate()  # the time left, and the speed shown

    def progress(done: CorpusProgress) -> None:
        records.add(done.elapsed_s, done.records)
        sentences.add(done.elapsed_s, done.sentences)
        text = PROGRESS.format(
            n=done.sentences,
            rate=sentences.rate or done.rate,
            eta=time_left(records.seconds_left(done.total)),
        )
        bar.progress(done.fraction or 0.0, text=str(text))

    def partial(result: CorpusResult) -> None:
        st.session_state[RESULT_KEY] = (request, result)  # kept if the visitor leaves before the end
        with partial_box.container():
            st.caption(str(SO_FAR.format(n=result.sentences)))
            common.show(
                corpus_figures.partition_bars(result.weights.layer_partition, result.sentences),
                f"corpus_partial_{result.sentences}",
                sized=False,
                of_text=False,
            )

    try:
        loaded = cache.get_model(request.model, request.window)
        bar.progress(0.0, text=_("Model ready. Reading the corpus (every record is checked before the run)…"))
        source = open_upload(data, request.name, request.column, request.pair_column)
        options = CorpusOptions(limit=request.limit, exclude_special=request.exclude_special)
        bar.progress(
            0.0,
            text=str(
                N_("Model ready. Scoring the first {n:,} sentences (then the speed and time left show here)…").format(
                    n=options.chunk_records
                )
            ),
        )
        records.add(0.0, 0)  # the engine's clock starts at the run's start
        sentences.add(0.0, 0)
        result = run_corpus(loaded, source, options, progress=progress, on_partial=partial)
    except (CorpusInputError, InputError, ModelLoadError) as error:
        bar.empty()
        partial_box.empty()
        st.error(str(error))
        return None
    bar.empty()
    partial_box.empty()
    st.session_state[RESULT_KEY] = (request, result)
    return request, result


def time_left(seconds: float | None) -> str:
    """The progress line's end: about how long the run has left ("" when not known yet)."""
    if seconds is None:
        return ""
    hours, minutes, rest = split_duration(seconds)
    if hours:
        return str(N_(", about {hours} h {minutes:02d} min left").format(hours=hours, minutes=minutes))
    if minutes:
        return str(N_(", about {minutes} min {seconds:02d} s left").format(minutes=minutes, seconds=rest))
    return str(N_(", about {seconds:.0f} s left").format(seconds=rest))


def _show(result: CorpusResult, shared: inputs.Inputs) -> None:
    skipped = [
        SKIP_REASONS[reason].format(count=count) if reason in SKIP_REASONS else f"{count} {reason}"
        for reason, count in result.skipped.items()
        if count
    ]
    counts = str(common.SEPARATOR).join(str(item) for item in skipped)
    caption = OVER.format(
        key=result.model.key,
        n=result.sentences,
        source=result.source,
        skipped=N_("; skipped: {counts}").format(counts=counts) if skipped else "",
        truncated=N_("; {count} cut to the model's limit").format(count=result.truncated) if result.truncated else "",
    )
    st.caption(str(caption))
    if not result.complete:
        st.warning(
            str(
                N_(
                    "A partial result: the run stopped after {n:,} records, when "
                    "the page was left or changed while it ran. "
                    "Press *{button}* to run it to the end."
                ).format(n=result.records, button=RUN_LABEL)
            ),
            icon=":material/pending:",
        )
    view = result.weights
    common.diagnosis_summary(view.diagnosis, heading=N_("What the layers do over this corpus"))
    side_by_side = (
        ("roles", corpus_figures.role_split_bars(view.layer_roles, result.sentences)),
        ("partition", corpus_figures.partition_bars(view.layer_partition, result.sentences)),
    )
    for column, (name, figure) in zip(st.columns(2), side_by_side):
        with column:
            common.show(figure, f"corpus_{name}", sized=False, stem=_corpus_stem(result, name), of_text=False)
    _heads(result, shared)
    _downloads(result)


@st.fragment
def _heads(result: CorpusResult, shared: inputs.Inputs) -> None:
    if st.session_state.get(OPEN_KEY):
        # An Open button in this fragment reruns the fragment only, never page(), where the
        # switch to the analysis page happens; so rerun the whole app.  (AppTest's .run() is a
        # full run, which is why only a real browser showed the click doing nothing.)
        st.rerun(scope="app")
    view = result.weights
    score = score_picker("corpus_score")
    estimate = view.scores[score]
    common.show(
        corpus_figures.score_mean_heatmap(estimate.mean, estimate.std, score, result.sentences),
        "corpus_heatmap",
        sized=False,
        stem=_corpus_stem(result, f"{score}_mean"),
        of_text=False,
    )
    left, right = st.columns(2)
    threshold = left.slider(
        str(N_("Heads whose mean {score} is at least").format(score=overview.SCORE_LABELS.get(score, score))),
        0.0,
        1.0,
        0.0,
        0.05,
        key="corpus_threshold",
        bind=state.BIND,
    )
    rows = [
        {**row, "main_role": str(ROLE_LABELS.get(row["main_role"], row["main_role"]))}
        for row in head_rows(result)
        if row[score] >= threshold
    ]
    right.caption(str(N_("{shown} of {total} heads.").format(shown=len(rows), total=estimate.mean.size)))
    st.dataframe(
        rows,
        hide_index=True,
        column_order=["layer", "head", "main_role", score, f"{score}_std", *(f"share_{role}" for role in ROLE_LABELS)],
        column_config={
            "layer": st.column_config.NumberColumn(_("layer")),
            "head": st.column_config.NumberColumn(_("head")),
            "main_role": st.column_config.TextColumn(_("main role")),
            score: st.column_config.NumberColumn(score, format="percent"),
            f"{score}_std": st.column_config.NumberColumn(
                str(N_("{score} (std)").format(score=score)), format="percent"
            ),
            **{
                f"share_{role}": st.column_config.NumberColumn(
                    str(N_("{role} (share of sentences)").format(role=label)), format="percent"
                )
                for role, label in ROLE_LABELS.items()
            },
        },
    )
    _top_sentences(result, score, shared)


def _top_sentences(result: CorpusResult, score: str, shared: inputs.Inputs) -> None:
    top = result.weights.top[score]
    layers, heads = result.model.layers, result.model.heads
    layer, head = common.layer_head_picker(layers, heads, prefix="corpus_")
    heading = N_("Sentences with the highest and lowest {score} in layer {layer}, head {head}").format(
        score=overview.SCORE_LABELS.get(score, score), layer=layer, head=head
    )
    st.markdown(f"**{heading}**")
    for direction, indices, values in (
        ("highest", top.high_index, top.high_value),
        ("lowest", top.low_index, top.low_value),
    ):
        st.caption(str(DIRECTIONS[direction]))
        for rank, (index, value) in enumerate(zip(indices[layer - 1, head - 1], values[layer - 1, head - 1])):
            text, pair = result.texts[int(index)]
            cells = st.columns([1, 8, 2])
            cells[0].markdown(f"`{value:.2f}`")
            cells[1].text(text + (f"  ‖  {pair}" if pair else ""))  # st.text: user text is never markdown/HTML
            cells[2].button(
                _("Open"),
                key=f"corpus_open_{direction}_{rank}",
                icon=":material/open_in_new:",
                on_click=_open,
                args=(text, pair, layer, head),
                help=_("Analyse this sentence on the attention-analysis page, at this head."),
            )


def _open(text: str, pair: str | None, layer: int, head: int) -> None:
    """Button callback (runs before the next run, so the shared inputs can still change)."""
    st.session_state[TEXT_KEY] = text
    st.session_state[PAIR_KEY] = pair or ""
    st.session_state["layer"], st.session_state["head"] = layer, head
    st.session_state[OPEN_KEY] = True


def _downloads(result: CorpusResult) -> None:
    with st.container(horizontal=True):
        common.data_download(
            _("Aggregates (JSON)"),
            lambda: export.json_bytes(to_json_dict(result)),
            "corpus.json",
            "corpus_dl_json",
        )
        common.data_download(
            _("Per head (CSV)"),
            lambda: export.rows_csv(head_rows(result)),
            "corpus_heads.csv",
            "corpus_dl_csv",
        )
