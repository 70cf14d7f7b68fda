"""The sparse-patterns page: seven patterns on the user's own text, measured against the
chosen model's real attention (coverage, the top-k yardstick, reach, minimum window).

The pattern picker shows the patterns' identifiers (`local`, `lsh`, …: the link holds
them in every language) with the chosen one's name written under it."""

from __future__ import annotations

import numpy as np
import streamlit as st

from i18n import N_, _, lazy_ngettext
from models.extract.attention import InputError
from models.extract.window import PATTERN_MIN_WINDOW, validate_window
from models.load.families import family_info
from models.load.loading import ModelLoadError
from models.result import AttentionResult
from models.sparse import own_pattern
from models.sparse import patterns as sparse
from ui import cache, common, inputs, state
from ui.pages.analysis import english_aliases, meaning
from viz import explanations as help_text
from viz import export
from viz import sparse as sparse_figures
from viz.labels import token_labels

HUB_PATTERNS = ("global", "longformer", "bigbird")
EXPLORER_MAX_TOKENS = 512  # masks and coverage compare N×N matrices with the dense attention
PATTERN_LABELS: dict[str, str] = {
    "local": N_("local window"),
    "dilated": N_("dilated window"),
    "global": N_("global tokens only"),
    "longformer": N_("Longformer (window + global)"),
    "bigbird": N_("BigBird (window + global + random blocks)"),
    "lsh": N_("LSH buckets (Reformer)"),
    "topk": N_("top-k of the real attention (yardstick)"),
}
SUMMARY_COLUMNS = (
    N_("pattern"),
    N_("density"),
    N_("scores"),
    N_("of N²"),
    N_("complexity"),
    N_("coverage"),
    N_("top-k, same density"),
    N_("reach ≤ 2 hops"),
)
BIGBIRD_NOTE = lazy_ngettext(
    "BigBird block-sparse: blocks of {block} tokens, {n} random block per query block as configured. {how}",
    "BigBird block-sparse: blocks of {block} tokens, {n} random blocks per query block as configured. {how}",
)


def page() -> None:
    shared = inputs.current()
    st.subheader(_("Sparse attention patterns on your text"))
    with st.expander(_("What these patterns are"), expanded=False):
        st.markdown(str(help_text.SPARSE_HELP))
    if common.show_problems(shared):
        return
    try:
        with st.spinner(_("Running the model…"), show_time=True):
            result = cache.run_model(*shared.run_key)
    except (InputError, ModelLoadError) as error:
        st.error(str(error))
        return
    common.model_caption(result)
    common.notices(result)
    if result.is_banded or result.n_tokens > EXPLORER_MAX_TOKENS:
        st.info(
            str(
                N_(
                    "The explorer compares N×N masks with the model's dense attention, so it runs on inputs of up to "
                    "{limit} tokens; this one has {n}. Paste a shorter passage to explore it."
                ).format(limit=EXPLORER_MAX_TOKENS, n=result.n_tokens)
            )
        )
        return
    params, share = _params(result)
    if params is None:
        return
    try:
        with st.spinner(_("Measuring every sparse pattern…"), show_time=True):
            reports = cache.explore_all(result, shared.run_key, params, share)
    except ValueError as error:
        st.error(str(error))
        return
    _summary(reports)
    if "lsh" not in reports:
        note = family_info(result.model.family).query_key_note
        st.caption(
            str(N_("No LSH pattern for this model: it needs plain queries and keys, and {note}.").format(note=note))
        )  # the family's note translates itself
    _one_pattern(result, reports, params, share, shared.figure)
    _own_pattern(result, reports, shared.figure)


def _params(result: AttentionResult) -> tuple[sparse.PatternParams | None, float]:
    """The pattern parameters, bound to the URL; None (after an error message) when one is invalid."""
    n = result.n_tokens
    columns = st.columns(4)
    own = [w for w in (result.pattern.layer_windows if result.pattern else ()) if w is not None]
    window = columns[0].number_input(
        _("Window W (W/2 each side)"),
        value=own[0] if own else min(8, 2 * (n // 2)),
        step=2,
        key="sp_window",
        bind=state.BIND,
        help=_("Starts at the model's own local window when it has one."),
    )
    dilation = columns[0].number_input(_("Dilation d"), 1, 16, 2, key="sp_dilation", bind=state.BIND)
    with columns[1]:
        globals_ = _global_picker(result)
    seed = columns[1].number_input(_("Random seed"), 0, 2**31 - 1, 0, key="sp_seed", bind=state.BIND)
    share = columns[1].slider(_("Share of attention to keep"), 0.5, 0.99, 0.9, 0.01, key="sp_share", bind=state.BIND)
    block = columns[2].number_input(_("BigBird block size b"), 1, max(1, n), min(4, n), key="sp_block", bind=state.BIND)
    random_blocks = columns[2].number_input(_("BigBird random blocks r"), 0, 64, 2, key="sp_random", bind=state.BIND)
    buckets = columns[3].number_input(_("LSH buckets (even)"), value=8, step=2, key="sp_buckets", bind=state.BIND)
    topk = columns[3].number_input(_("Top-k keys per query"), 1, max(1, n), min(8, n), key="sp_topk", bind=state.BIND)
    problems = []
    try:
        window = validate_window(window, minimum=PATTERN_MIN_WINDOW, maximum=2 * n)
    except ValueError as error:
        problems.append(str(error))
    try:
        sparse.check_buckets(buckets)
    except ValueError as error:
        problems.append(str(error))
    for problem in problems:
        st.error(problem)
    if problems:
        return None, float(share)
    params = sparse.PatternParams(
        window=window,
        dilation=int(dilation),
        global_positions=globals_,
        block=int(block),
        random_blocks=int(random_blocks),
        buckets=int(buckets),
        topk=int(topk),
        seed=int(seed),
    )
    return params, float(share)


def _global_picker(result: AttentionResult) -> tuple[int, ...]:
    labels = token_labels(result.tokens)
    current = st.session_state.get("sp_globals")
    if current is not None and any(label not in labels for label in current):
        st.session_state["sp_globals"] = [label for label in current if label in labels]
    default = [labels[p] for p in (result.global_positions or result.cls_positions[:1] or (0,))]
    chosen = st.multiselect(
        _("Global (hub) tokens"),
        labels,
        default=default,
        key="sp_globals",
        bind=state.BIND,
        help=_("Hub tokens attend to every token and every token attends to them."),
    )
    state.check("sp_globals", chosen, inputs.WHY_NOT_TOKENS)
    if not chosen:
        st.caption(_("No hub token chosen: the global pattern allows no pair at all."))
    return tuple(sorted(labels.index(label) for label in chosen))


def _summary(reports: dict[str, sparse.PatternReport]) -> None:
    st.markdown(
        _(
            "**Every pattern at a glance.** *Coverage* is the share of the model's real attention that the pattern "
            "keeps, averaged over layers, heads and queries. *Top-k, same density* keeps the model's own largest "
            "weights with the same number of keys in every row: no pattern with that many keys per query keeps more."
        )
    )
    table: dict[str, list] = {str(column): [] for column in SUMMARY_COLUMNS}
    for pattern, report in reports.items():
        reach = sparse.reach_summary(report.hops)["two_hops"] if report.hops is not None else None
        row = (
            str(PATTERN_LABELS[pattern]),
            f"{report.density:.0%}",
            report.computed,
            report.n * report.n,
            str(report.complexity),
            f"{report.coverage.mean():.1%}",
            f"{report.oracle.mean():.1%}",
            f"{reach:.0%}" if reach is not None else _("per head"),
        )
        for column, value in zip(table, row):
            table[column].append(value)
    st.table(table, hide_index=True)  # a static table wraps its cells, so nothing is cut off
    st.caption(_("LSH and top-k masks differ per layer and head, so their reach is not one number."))
    common.show(
        sparse_figures.coverage_curves(
            {str(PATTERN_LABELS[p]): r.layer_coverage for p, r in reports.items()},
            {str(PATTERN_LABELS[p]): r.oracle.mean(axis=1) for p, r in reports.items() if p != "topk"},
        ),
        "sp_curves",
        sized=False,
        stem="sparse_coverage_by_layer",
    )


def _one_pattern(result, reports, params: sparse.PatternParams, share: float, settings) -> None:
    state.adopt_aliases("sp_pattern", english_aliases(PATTERN_LABELS))
    pattern = st.selectbox(
        _("Look closer at one pattern"),
        list(reports),
        key="sp_pattern",
        bind=state.BIND,
        help="\n".join(f"- {meaning(name, PATTERN_LABELS)}" for name in reports),
    )
    state.check("sp_pattern", pattern)
    st.caption(meaning(pattern, PATTERN_LABELS))
    report = reports[pattern]
    if report.mask.ndim == 2:
        mask, where = report.mask, ""
    else:
        layer, head = common.layer_head_picker(result.model.layers, result.model.heads)
        mask, where = (
            report.mask[layer - 1, head - 1],
            N_(" (layer {layer}, head {head}: it differs per head)").format(layer=layer, head=head),
        )
    hubs = params.global_positions if pattern in HUB_PATTERNS else ()

    def mask_figure():
        return sparse_figures.mask_figure(
            mask, result.tokens, hubs, title=f"{PATTERN_LABELS[pattern]}{where}", settings=settings
        )

    common.show(mask_figure(), "sp_mask")
    stem = f"mask_{pattern}_{result.model.key}"
    common.figure_downloads(mask_figure, stem, settings, "sp_dl_mask")
    left, right = st.columns(2)
    with left:
        common.show(
            sparse_figures.coverage_heatmap(
                report.coverage, title=str(N_("Coverage of {pattern}").format(pattern=PATTERN_LABELS[pattern]))
            ),
            "sp_coverage",
            sized=False,
            stem=f"sparse_{pattern}_coverage",
        )
    with right:
        common.show(
            sparse_figures.min_window_figure(report.min_window, result.n_tokens, share),
            "sp_minwin",
            sized=False,
            stem=f"sparse_{pattern}_min_window",
        )
    if report.hops is not None:
        common.show(
            sparse_figures.reachability_figure(
                report.hops, result.tokens, title=_("Who reaches whom"), settings=settings
            ),
            "sp_reach",
            stem=f"sparse_{pattern}_reach",
        )
        summary = sparse.reach_summary(report.hops)
        story = (
            N_(
                " With hub tokens every pair connects in two steps: any token "
                "reaches a hub, and the hub reaches everyone."
            )
            if pattern in HUB_PATTERNS and params.global_positions
            else N_(" Without hub tokens, far-apart tokens need many layers to reach each other.")
        )
        st.caption(
            str(
                N_("{one:.0%} of token pairs are connected directly, {two:.0%} within two hops.{story}").format(
                    one=summary["one_hop"], two=summary["two_hops"], story=story
                )
            )
        )
    else:
        st.caption(_("This pattern differs per head, so reachability is not drawn for it."))
    columns = st.columns(2)
    with columns[0]:
        common.data_download(
            _("Coverage table (CSV)"),
            lambda: export.table_csv(_coverage_table(report)),
            f"coverage_{pattern}.csv",
            "sp_dl_csv",
        )
    with columns[1]:
        common.data_download(
            _("Mask and coverage (NPZ)"),
            lambda: export.arrays_npz(mask=report.mask, coverage=report.coverage, tokens=np.asarray(result.tokens)),
            f"mask_{pattern}.npz",
            "sp_dl_npz",
        )


def _coverage_table(report: sparse.PatternReport) -> dict[str, list]:
    n_layers, n_heads = report.coverage.shape
    return {
        "layer": [layer + 1 for layer in range(n_layers) for _ in range(n_heads)],
        "head": [head + 1 for _ in range(n_layers) for head in range(n_heads)],
        "coverage": [round(float(v), 6) for v in report.coverage.ravel()],
        "topk_same_density": [round(float(v), 6) for v in report.oracle.ravel()],
    }


def _own_pattern(result: AttentionResult, reports: dict[str, sparse.PatternReport], settings) -> None:
    """The model's own restricted pattern (ModernBERT's local layers, BigBird's blocks,
    Longformer's window) beside the simulated one, with their overlap."""
    pattern = result.pattern
    if pattern is None or pattern.form == "dense":
        return
    st.subheader(_("The model's own pattern"))
    windows = pattern.layer_windows
    st.table(
        {
            _("layer"): list(range(1, len(windows) + 1)),
            _("attention"): [
                _("global (every token)")
                if w is None
                else str(N_("local, window {window} ({half} each side)").format(window=w, half=w // 2))
                for w in windows
            ],
        },
        hide_index=True,
    )
    if pattern.block_sparse is not None:
        note = pattern.block_sparse
        how = (
            N_("The returned weights were rebuilt exactly.")
            if note.rebuilt
            else N_("It ran full attention on this input (too short for blocks).")
        )
        st.caption(str(BIGBIRD_NOTE.format(block=note.block, n=note.random_blocks, how=how)))
    real = own_pattern.real_mask(result)
    simulated_name = (
        "bigbird" if pattern.form == "block_sparse" else ("longformer" if pattern.form == "banded" else "local")
    )
    report = reports[simulated_name]
    agreement = own_pattern.overlap(real, report.mask)
    layer, head = common.layer_head_picker(result.model.layers, result.model.heads, prefix="own_")
    simulated = report.mask if report.mask.ndim == 2 else report.mask[layer - 1, head - 1]
    codes = own_pattern.overlap_view(real[layer - 1, head - 1], simulated)
    title = str(
        N_("Layer {layer}, head {head}: the model's own pattern vs simulated {pattern}").format(
            layer=layer, head=head, pattern=PATTERN_LABELS[simulated_name]
        )
    )
    common.show(
        sparse_figures.overlap_figure(codes, result.tokens, title, settings=settings),
        "own_overlap",
        stem=f"own_pattern_L{layer}H{head}_{simulated_name}",
    )
    st.caption(
        str(
            N_(
                "Here {covered:.0%} of the model's own pairs are inside the simulated pattern (Jaccard {jaccard:.2f}); "
                "set the window and block sizes above to match the model's configuration."
            ).format(
                covered=agreement.real_covered[layer - 1, head - 1], jaccard=agreement.jaccard[layer - 1, head - 1]
            )
        )
    )
