"""bertviz head view and model view as a self-contained, safe HTML document.

bertviz writes ``json.dumps(params)`` (tokens included) straight into a ``<script>``,
so a token such as ``</script><script>…`` would end the script early; it also writes
17-digit floats for N² weights per head and loads require.js, d3 and jQuery from a
CDN.  :func:`bertviz_html` caps the token count, rounds the weights, escapes ``<``,
``>`` and ``&`` inside the embedded JSON, and inlines local copies of the three
libraries (fetched by ``scripts/fetch_bertviz_assets.sh`` into ``viz/vendor/bertviz/``)
so the page renders with no network.  No Streamlit and no model here.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import numpy as np
import torch

from i18n import N_

MAX_TOKENS = 128
ASSETS_DIR = Path(str(files("viz") / "vendor" / "bertviz"))  # package data, git-ignored
ASSET_FILES = ("require.js", "d3.min.js", "jquery.min.js")
VIEWS = ("head", "model")

_PARAMS_MARKER = "const params = "
_REQUIRE_TAG = re.compile(r"<script\s+src=\"https://[^\"]*require(?:\.min)?\.js\"\s*>\s*</script>")
_REQUIRE_CONFIG = re.compile(r"require\.config\(\{\s*paths:\s*\{[^}]*\}\s*\}\);")
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


class BertvizTooLarge(ValueError):
    """More tokens than bertviz can show in reasonable time and page size."""

    def __init__(self, n_tokens: int, cap: int = MAX_TOKENS):
        self.n_tokens, self.cap = n_tokens, cap
        super().__init__(
            N_("bertviz view has {n} tokens, more than the cap of {cap}; shorten the text or use the heatmaps").format(
                n=n_tokens, cap=cap
            )
        )


def _safe_json(segment: str) -> str:
    """JSON text with ``<``, ``>``, ``&`` as ``\\u`` escapes: same value, can't close a script.

    Those three characters can only occur inside JSON strings, so replacing them
    everywhere in the segment is exact.  ``json.dumps`` already escapes U+2028/U+2029
    (``ensure_ascii``); done again here in case the segment was not ASCII.
    """
    segment = re.sub(r"[<>&]", lambda m: _JSON_ESCAPES[m.group()], segment)
    return segment.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _escape_params(markup: str) -> str:
    """Escape the params JSON that bertviz wrote after ``const params = ``.

    bertviz substitutes *every* ``PYTHON_PARAMS`` in its JS template, including the
    one in the ``// HACK: PYTHON_PARAMS is a template marker`` comment on the same
    line, so the JSON appears twice; a ``</script>`` inside a ``//`` comment still ends
    the script.  The copy in the comment is put back to the marker word (which also
    halves the page), and the real one is escaped.
    """
    start = markup.find(_PARAMS_MARKER)
    if start < 0:
        raise RuntimeError("bertviz output has no params block; unsupported bertviz version")
    start += len(_PARAMS_MARKER)
    params, end = json.JSONDecoder().raw_decode(markup, start)  # exact end of the JSON value
    raw = markup[start:end]
    rest = markup[end:].replace(raw, "PYTHON_PARAMS")
    head = markup[:start]
    if raw in head:
        raise RuntimeError("bertviz output has params before the params block; unsupported bertviz version")
    compact = json.dumps(params, separators=(",", ":"), ensure_ascii=True)  # no ", " padding
    return head + _safe_json(compact) + rest


def _script_text(source: str) -> str:
    """Make library source safe to sit inside an inline ``<script>`` element."""
    source = re.sub(r"</(script)", r"<\\/\1", source, flags=re.IGNORECASE)
    return source.replace("<!--", "<\\!--")


def _inline_assets(markup: str, assets_dir: Path) -> tuple[str, bool]:
    """Swap the CDN require.js tag and d3/jQuery paths for inlined local copies.

    d3 and jQuery run first, before require.js defines ``define``, so they set the
    globals ``d3`` and ``jQuery``; after require.js, named ``define`` calls hand those
    globals to bertviz's ``requirejs(['jquery', 'd3'], …)``.  Missing files: unchanged
    markup and ``False`` (the CDN is used).
    """
    paths = [assets_dir / name for name in ASSET_FILES]
    if not all(p.is_file() and p.stat().st_size > 0 for p in paths):
        return markup, False
    if not _REQUIRE_TAG.search(markup) or not _REQUIRE_CONFIG.search(markup):
        return markup, False
    require_js, d3_js, jquery_js = (_script_text(p.read_text(encoding="utf-8")) for p in paths)
    libraries = (
        f"<script>{d3_js}</script>\n"
        f"<script>{jquery_js}</script>\n"
        f"<script>{require_js}</script>\n"
        "<script>define('d3', [], function () { return window.d3; });\n"
        "define('jquery', [], function () { return window.jQuery; });</script>\n"
    )
    markup = _REQUIRE_TAG.sub(lambda _: libraries, markup, count=1)
    markup = _REQUIRE_CONFIG.sub("/* d3 and jquery are inlined above */", markup, count=1)
    return markup, True


# Shrinks the drawing to the frame's width once bertviz has drawn it (the model view is a
# fixed grid of one thumbnail per head, wider than a narrow frame).
_FIT_SCRIPT = (
    "<script>(function () {\n"
    "  function fit() {\n"
    "    document.body.style.zoom = 1;\n"
    "    var wide = document.documentElement.scrollWidth, room = window.innerWidth - 4;\n"
    "    if (wide > room) { document.body.style.zoom = room / wide; }\n"
    "  }\n"
    "  [300, 1000, 2500].forEach(function (ms) { setTimeout(fit, ms); });\n"
    "  window.addEventListener('resize', fit);\n"
    "})();</script>"
)


def _document(fragment: str) -> str:
    return (
        '<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"></head>\n'
        '<body style="background:#ffffff;color:#000000;margin:8px;">\n'
        f"{fragment}\n{_FIT_SCRIPT}\n</body>\n</html>\n"
    )


def bertviz_html(
    layer_attention: Sequence[np.ndarray],
    tokens: Sequence[str],
    view: str = "head",
    sentence_b_start: int | None = None,
    layers: Sequence[int] | None = None,
    decimals: int | None = 3,
    assets_dir: Path | str = ASSETS_DIR,
) -> tuple[str, bool]:
    """bertviz ``head_view`` or ``model_view`` as a full HTML document.

    ``layer_attention``: L arrays [H, N, N] (query, key); ``tokens``: N labels.
    ``layers``: layer indices to include (default all); ``decimals``: weights are
    rounded to this many decimals (``None`` keeps float32 values).  Returns
    ``(html, offline)``; ``offline`` is True when require.js, d3 and jQuery were
    inlined from ``assets_dir``, False when the page still loads them from a CDN.
    Raises :class:`BertvizTooLarge` above :data:`MAX_TOKENS` tokens.
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, not {view!r}")
    tokens = [str(t) for t in tokens]
    if len(tokens) > MAX_TOKENS:
        raise BertvizTooLarge(len(tokens))
    n_layers = len(layer_attention)
    if n_layers == 0:
        raise ValueError("no attention layers")
    if layers is None:
        include = list(range(n_layers))
    else:
        include = [int(i) for i in layers]
        if not include or any(not 0 <= i < n_layers for i in include):
            raise ValueError(f"layers must be a non-empty list of indices in 0..{n_layers - 1}, got {list(layers)}")
    if sentence_b_start is not None and not 0 < int(sentence_b_start) < len(tokens):
        raise ValueError(f"sentence_b_start must be in 1..{len(tokens) - 1}, got {sentence_b_start}")

    attention = []
    for index, weights in enumerate(layer_attention):
        if index not in include:  # bertviz only reads the included layers
            attention.append(torch.zeros((1, 1, 1, 1)))
            continue
        array = np.asarray(weights)
        if array.ndim != 3 or array.shape[1:] != (len(tokens), len(tokens)):
            raise ValueError(f"layer {index}: expected [H, {len(tokens)}, {len(tokens)}], got {array.shape}")
        if decimals is None:
            array = array.astype(np.float32)  # a writable copy for torch
        else:  # float64 so that tolist() writes 0.123, not 0.12300000339746475
            array = np.round(array.astype(np.float64), int(decimals))
        attention.append(torch.from_numpy(np.ascontiguousarray(array))[None])

    kwargs = dict(
        attention=attention,
        tokens=tokens,
        sentence_b_start=None if sentence_b_start is None else int(sentence_b_start),
        include_layers=include,
        html_action="return",
    )
    if view == "head":
        render = importlib.import_module("bertviz.head_view").head_view
    else:
        render = importlib.import_module("bertviz.model_view").model_view
        kwargs["display_mode"] = "light"
    markup = render(**kwargs).data

    markup = _escape_params(markup)
    markup, offline = _inline_assets(markup, Path(assets_dir))
    return _document(markup), offline
