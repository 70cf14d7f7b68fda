"""Bytes for downloads: images (kaleido), standalone HTML, scores CSV/JSON, raw attention.

Image export needs a Chrome/Chromium that kaleido can drive.  The kaleido server is
started lazily on the first image and reused; when no browser is available every image
function raises `ExportUnavailable` with a plain message instead of kaleido's advice to
download Chrome (that download cannot work offline).
"""

from __future__ import annotations

import csv
import io
import json
import threading
import warnings
import zipfile
from collections.abc import Sequence
from typing import Literal

import numpy as np
import plotly.graph_objects as go

from i18n import N_, message_of

ImageFormat = Literal["png", "svg", "pdf"]
IMAGE_FORMATS: tuple[ImageFormat, ...] = ("png", "svg", "pdf")
MIME_TYPES: dict[str, str] = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "html": "text/html",
}

ERR_NO_BROWSER = N_(
    "Image export (PNG/SVG/PDF) needs Chrome or Chromium, which kaleido could not start here "
    "({problem}). Install the Debian package 'chromium' (or set BROWSER_PATH to a Chrome "
    "binary) and restart; the HTML, CSV, JSON and NPZ downloads work without it."
)


class ExportUnavailable(RuntimeError):
    """Image export cannot run here (no browser for kaleido)."""


class _KaleidoServer:
    """Start kaleido's sync server once, remember a failure, and serialise image calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = False
        self._problem: str | None = None

    def _start(self) -> None:
        if self._started:
            return
        if self._problem is not None:
            raise ExportUnavailable(ERR_NO_BROWSER.format(problem=self._problem))
        try:
            import kaleido

            # Without a browser the sync server's thread dies and later calls wait forever,
            # so first make one image the slow, self-contained way: it raises when Chrome is missing.
            go.Figure().to_image(format="png", width=10, height=10)
            kaleido.start_sync_server(silence_warnings=True)
        except Exception as error:  # no browser, broken browser, kaleido missing
            self._problem = _short(error)
            raise ExportUnavailable(ERR_NO_BROWSER.format(problem=self._problem)) from error
        self._started = True

    def image(self, fig: go.Figure, fmt: ImageFormat, width: int | None, height: int | None, scale: float) -> bytes:
        with self._lock:
            self._start()
            try:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="The kopts argument is ignored")
                    return fig.to_image(format=fmt, width=width, height=height, scale=scale)
            except Exception as error:
                self._problem = _short(error)
                raise ExportUnavailable(ERR_NO_BROWSER.format(problem=self._problem)) from error

    def available(self) -> tuple[bool, str]:
        """(True, "") when images can be made; (False, reason) otherwise, the reason a LazyText
        (it may be cached and shown in either language).  Starts the server (about 2 s once)."""
        with self._lock:
            try:
                self._start()
            except ExportUnavailable as error:
                return False, message_of(error)
        return True, ""


def _short(error: BaseException) -> str:
    """First non-empty line of the error, for the user-facing message."""
    text = [line for line in str(error).strip().splitlines() if line.strip()]
    first = text[0] if text else type(error).__name__
    return first[:200]


_SERVER = _KaleidoServer()


def image_export_available() -> tuple[bool, str]:
    """Whether PNG/SVG export works here, and if not, why (a sentence for the user)."""
    return _SERVER.available()


def figure_image(fig: go.Figure, fmt: ImageFormat = "png", scale: float = 2.0) -> bytes:
    """PNG, SVG or PDF bytes of `fig` at its own layout size; raises ExportUnavailable when
    there is no browser.  `scale` multiplies a PNG's pixels (vector formats ignore it)."""
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"Image format must be one of {IMAGE_FORMATS}; got {fmt!r}.")
    return _SERVER.image(fig, fmt, None, None, scale if fmt == "png" else 1.0)


def figure_html(fig: go.Figure) -> bytes:
    """A standalone HTML page with plotly.js inlined: opens offline (about 5 MB)."""
    return fig.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")


def table_csv(table: dict[str, list]) -> bytes:
    """CSV bytes of a column table (name → equal-length list), header first."""
    names = list(table)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(zip(*(table[name] for name in names)))
    return buffer.getvalue().encode("utf-8")


def rows_csv(rows: Sequence[dict]) -> bytes:
    """CSV bytes of a list of equal-keyed dicts (one per row), header first."""
    names = list(rows[0]) if rows else []
    return table_csv({name: [row[name] for row in rows] for name in names})


def json_bytes(payload: dict) -> bytes:
    """UTF-8 JSON of a JSON-ready dict (e.g. models.score.analysis.to_json_dict)."""
    return json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")


def attention_npz(attention: np.ndarray, tokens: Sequence[str], special_mask: np.ndarray, **names: str) -> bytes:
    """Compressed .npz holding attention [L, H, N, N] float32, tokens [N] and special_mask [N],
    plus one string entry per `names` (e.g. view="norm": what `attention` holds)."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        attention=np.asarray(attention, dtype=np.float32),
        tokens=np.asarray(list(tokens), dtype=str),
        special_mask=np.asarray(special_mask, dtype=bool),
        **{key: np.asarray(value, dtype=str) for key, value in names.items()},
    )
    return buffer.getvalue()


def arrays_npz(**arrays: np.ndarray) -> bytes:
    """Compressed .npz of the given named arrays (e.g. a sparse mask and its coverage)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{name: np.asarray(value) for name, value in arrays.items()})
    return buffer.getvalue()


def banded_npz(layer_attention: Sequence, tokens: Sequence[str], special_mask: np.ndarray, **names: str) -> bytes:
    """Compressed .npz of a long Longformer input in its banded form (no N×N matrix).

    band_<l> [H, N, x + w + 1] and global_rows_<l> [H, N, x] per layer l (0-based), plus
    global_positions, tokens, special_mask and one string entry per `names` (e.g. view);
    see models/extract/banded.py for the layout.
    """
    arrays = {}
    for index, layer in enumerate(layer_attention):
        arrays[f"band_{index}"] = layer.band
        if layer.global_rows is not None:
            arrays[f"global_rows_{index}"] = layer.global_rows
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        **arrays,
        global_positions=np.asarray(layer_attention[0].global_positions, dtype=np.int64),
        tokens=np.asarray(list(tokens), dtype=str),
        special_mask=np.asarray(special_mask, dtype=bool),
        **{key: np.asarray(value, dtype=str) for key, value in names.items()},
    )
    return buffer.getvalue()


def figures_zip(figures: dict[str, go.Figure], fmt: ImageFormat = "png", scale: float = 2.0) -> bytes:
    """ZIP of one image per figure, named by the dict key (e.g. "layer1_head3.png")."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, fig in figures.items():
            archive.writestr(f"{name}.{fmt}", figure_image(fig, fmt, scale))
    return buffer.getvalue()
