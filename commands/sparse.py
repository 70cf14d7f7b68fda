"""`cli.py sparse`: one sparse attention pattern measured against the model's real attention
(see models/sparse/patterns.py and the README).

  python cli.py sparse TEXT --pattern local|dilated|global|longformer|bigbird|lsh|topk
                            [--window W] [--dilation D] [--global POS ...] [--block B]
                            [--random R] [--buckets K] [--topk K] [--seed S] [--share F]
                            [--pair TEXT_B] [--model KEY_OR_PATH] [--format json|table]
"""

from __future__ import annotations

import argparse
import json

from commands.base import (
    CliError,
    add_device,
    add_format,
    add_globals,
    add_model,
    add_pair,
    add_text,
    add_window,
    check_text,
    load_and_extract,
)
from commands.lang import COLUMN_LAYER, pad
from i18n import N_, _

COLUMN_COVERAGE = N_("coverage")
COLUMN_TOPK = N_("top-k same density")
COLUMN_MIN_WINDOW = N_("min window")


def add_parser(commands) -> None:
    from models.extract.window import PATTERN_MIN_WINDOW
    from models.sparse.patterns import PATTERNS, PatternParams

    defaults = PatternParams()
    sparse = commands.add_parser("sparse", help=_("measure a sparse attention pattern against the real attention"))
    add_text(sparse)
    sparse.add_argument("--pattern", choices=PATTERNS, required=True)
    add_pair(sparse)
    add_model(sparse, N_("registry key or local model directory (dense runs)"))
    add_window(sparse, PATTERN_MIN_WINDOW, defaults.window, N_("local window W (W/2 each side)"))
    sparse.add_argument("--dilation", type=int, default=defaults.dilation)
    add_globals(sparse, N_("global token positions (default: [CLS])"))
    sparse.add_argument("--block", type=int, default=defaults.block, help=_("BigBird block size"))
    sparse.add_argument(
        "--random", type=int, default=defaults.random_blocks, help=_("BigBird random blocks per query block")
    )
    sparse.add_argument("--buckets", type=int, default=defaults.buckets, help=_("LSH buckets (even)"))
    sparse.add_argument("--topk", type=int, default=defaults.topk, help=_("keys kept per query for topk"))
    sparse.add_argument("--seed", type=int, default=defaults.seed)
    sparse.add_argument("--share", type=float, default=0.9, help=_("share of the mass for the minimum window"))
    add_format(sparse)
    add_device(sparse)


SPARSE_DECIMALS = 6


def run(args: argparse.Namespace) -> str:
    """The JSON document or the table; bad input raises CliError with one line."""
    from models.sparse.patterns import PatternParams, explore

    check_text(args.text)
    if not 0 < args.share <= 1:
        raise CliError(N_("--share must be above 0 and at most 1; got {share}").format(share=args.share))
    result = load_and_extract(args, model_window=False)  # --window and --global shape the pattern
    if result.is_banded:
        raise CliError(
            N_("sparse patterns are measured on N×N attention; this input has {n} tokens (at most 512)").format(
                n=result.n_tokens
            )
        )
    globals_ = tuple(args.global_positions) if args.global_positions else result.cls_positions[:1]
    params = PatternParams(
        window=args.window,
        dilation=args.dilation,
        global_positions=globals_,
        block=args.block,
        random_blocks=args.random,
        buckets=args.buckets,
        topk=args.topk,
        seed=args.seed,
    )
    try:
        report = explore(result.layer_attention, args.pattern, params, args.share, result.queries, result.keys)
    except ValueError as problem:
        raise CliError(str(problem)) from None
    document = {
        "pattern": args.pattern,
        "model": result.model.key,
        "tokens": list(result.tokens),
        "params": {
            "window": params.window,
            "dilation": params.dilation,
            "global": list(params.global_positions),
            "block": params.block,
            "random": params.random_blocks,
            "buckets": params.buckets,
            "topk": params.topk,
            "seed": params.seed,
        },
        "density": round(float(report.density), SPARSE_DECIMALS),
        "computed": int(report.computed),
        "total": report.n * report.n,
        "complexity": str(report.complexity),
        "coverage": [[round(float(v), SPARSE_DECIMALS) for v in row] for row in report.coverage],
        "layer_coverage": [round(float(v), SPARSE_DECIMALS) for v in report.layer_coverage],
        "topk_same_density": [[round(float(v), SPARSE_DECIMALS) for v in row] for row in report.oracle],
        "share": args.share,
        "min_window": [int(w) for w in report.min_window],
    }
    if args.format == "json":
        return json.dumps(document, ensure_ascii=False)
    lines = [
        _("pattern {pattern} on {model}, {n} tokens").format(pattern=args.pattern, model=result.model.key, n=report.n),
        _("density {density:.3f} ({computed} of {total} scores), {complexity}").format(
            density=report.density, computed=report.computed, total=report.n * report.n, complexity=report.complexity
        ),
        "",
        f"{pad(COLUMN_LAYER, 5)} {pad(COLUMN_COVERAGE, 9)} {pad(COLUMN_TOPK, 19)} {pad(COLUMN_MIN_WINDOW, 11)}",
    ]
    for layer, coverage in enumerate(report.layer_coverage):
        lines.append(
            f"{layer + 1:>5} {coverage:>9.3f} {report.oracle[layer].mean():>19.3f} {int(report.min_window[layer]):>11}"
        )
    lines.append(_("(min window keeps {share:.0%} of each layer's attention)").format(share=args.share))
    return "\n".join(lines)
