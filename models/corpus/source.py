"""Where a corpus comes from: a path, stdin or an upload; checked before any model runs.

`open_path`, `open_stdin` and `open_upload` refuse an empty or binary input, detect the
format, and check the named column (or JSON field) against the header (or the first
object) at once, so a wrong column name fails before the model loads.  The returned
`CorpusSource` streams its records on demand.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from models.corpus.io import (
    CorpusFormat,
    CorpusInputError,
    CorpusRecord,
    ReadSpec,
    as_stream,
    check_format,
    count_lines,
    detect_format,
    read_header,
    read_records,
    sniff,
    table_columns,
)

STREAMLIT_CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"
STREAMLIT_DEFAULT_UPLOAD_MB = 200  # Streamlit's own default for server.maxUploadSize
STDIN_NAME = "-"

ERR_NOT_FOUND = "The corpus file '{path}' does not exist."
ERR_NOT_FILE = "'{path}' is not a file."
ERR_TOO_LARGE = (
    "The upload '{name}' is {size:.1f} MB; the limit is {limit} MB (server.maxUploadSize in "
    ".streamlit/config.toml). Use the first part of the file, or run `python cli.py corpus` on it."
)
ERR_STDIN_TWICE = "Standard input can be read only once."


class UploadTooLarge(CorpusInputError):
    """An upload over the configured size limit."""


class _Prefixed(io.RawIOBase):
    """A sequential stream with the bytes already read from it put back in front."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n], self._head = self._head[:n], self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass(frozen=True)
class CorpusSource:
    """A checked corpus input.  `open()` gives its bytes from the start; `path` is set for files.

    name    what messages call it (file name, "-" for stdin, the upload's name)
    spec    format and column names (models.corpus.io.ReadSpec)
    size    size in bytes when known (None for stdin)
    """

    name: str
    spec: ReadSpec
    open: Callable[[], BinaryIO]
    path: Path | None = None
    size: int | None = None
    seekable: bool = True
    head: bytes = b""  # the first bytes, kept for `columns()` on a stream read only once

    def records(self, stop_index: int | None = None) -> Iterator[CorpusRecord]:
        """Every record in order (or the first `stop_index`), streamed."""
        stream = self.open()
        try:
            yield from read_records(stream, self.name, self.spec, stop_index=stop_index)
        finally:
            if self.path is not None:
                stream.close()

    def estimate_records(self, stop_index: int | None = None) -> int | None:
        """About how many records there are (lines; minus the header for CSV/TSV), for progress
        and ETA.  None for stdin.  A CSV field spanning lines makes this an overestimate."""
        if not self.seekable:
            return stop_index
        stream = self.open()
        try:
            total = count_lines(stream) - (1 if self.spec.format in ("csv", "tsv") else 0)
        finally:
            if self.path is not None:
                stream.close()
        return total if stop_index is None else min(total, stop_index)

    def columns(self) -> tuple[str, ...]:
        """The header's columns (CSV/TSV) or the first object's fields (JSONL); () for text."""
        if self.spec.format == "text":
            return ()
        stream = self.open() if self.seekable else io.BytesIO(self.head)
        try:
            if self.spec.format == "jsonl":
                for record in read_records(stream, self.name, ReadSpec("text")):
                    if record.text and record.text.strip():
                        return tuple(json.loads(record.text))
                return ()
            return read_header(stream, self.name, self.spec)[0]
        finally:
            if self.path is not None:
                stream.close()

    @contextmanager
    def as_file(self) -> Iterator[Path]:
        """A path holding the corpus: the file itself, or a temporary copy of stdin or an upload
        (streamed in blocks, removed afterwards).  Ray workers read from it."""
        if self.path is not None:
            yield self.path
            return
        handle, name = tempfile.mkstemp(prefix="corpus-", suffix=Path(self.name).suffix or ".txt")
        try:
            with os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(self.open(), out)
            yield Path(name)
        finally:
            os.unlink(name)


def _check(stream: BinaryIO, name: str, fmt: str | None, column: str | None, pair_column: str | None) -> ReadSpec:
    """Refuse empty or binary input and settle the format (the caller rewinds)."""
    head = sniff(stream, name)
    first_line = head.split(b"\n", 1)[0]
    corpus_format: CorpusFormat = check_format(fmt) if fmt else detect_format(name, first_line, column)
    return ReadSpec(corpus_format, column, pair_column)


def _validate(source: CorpusSource, stop_index: int | None = None) -> CorpusSource:
    """Check the input before any model loads.

    A file or an upload is read through once with the engines' own reader (up to record
    `stop_index`): every byte (NUL, UTF-8), line, CSV row and JSON object, and the columns or
    fields, so a bad line near the end fails now and not after minutes of scoring, on both
    engines.  Standard input is read only once and not kept: only what sniffing read (its
    header, or its first whole lines) is checked here; the rest is checked line by line as it
    streams, i.e. while it is scored.
    """
    if source.seekable:
        for _record in source.records(stop_index):
            pass
        return source
    if source.spec.format in ("csv", "tsv"):  # a quoted field may run past the sniffed bytes
        header = read_header(io.BytesIO(source.head), source.name, source.spec)[0]
        table_columns(header, source.spec, source.name)
    else:
        whole_lines = source.head[: source.head.rfind(b"\n") + 1]
        for _record in read_records(io.BytesIO(whole_lines), source.name, source.spec, stop_index=stop_index):
            pass
    return source


def open_path(
    path: str | Path,
    column: str | None = None,
    pair_column: str | None = None,
    fmt: str | None = None,
    limit: int | None = None,
) -> CorpusSource:
    """A corpus file on disk, checked (empty, binary, format, columns, then every record up
    to record `limit`: see `_validate`)."""
    path = Path(path)
    if not path.exists():
        raise CorpusInputError(ERR_NOT_FOUND.format(path=path))
    if not path.is_file():
        raise CorpusInputError(ERR_NOT_FILE.format(path=path))
    with open(path, "rb") as stream:
        spec = _check(stream, path.name, fmt, column, pair_column)
    source = CorpusSource(path.name, spec, lambda: open(path, "rb"), path=path, size=path.stat().st_size)  # noqa: SIM115 (the caller closes it)
    return _validate(source, limit)


def open_upload(
    data,
    name: str,
    column: str | None = None,
    pair_column: str | None = None,
    fmt: str | None = None,
    limit_mb: float | None = None,
    limit: int | None = None,
) -> CorpusSource:
    """An uploaded corpus: bytes or a binary file-like object such as Streamlit's UploadedFile.

    `limit_mb` (default: server.maxUploadSize from .streamlit/config.toml) refuses a larger
    upload with UploadTooLarge.  Every record up to record `limit` is checked (`_validate`).
    """
    stream = as_stream(data)
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    check_upload_size(size, name, upload_limit_mb() if limit_mb is None else limit_mb)
    spec = _check(stream, name, fmt, column, pair_column)

    def rewound() -> BinaryIO:
        stream.seek(0)
        return stream

    return _validate(CorpusSource(name, spec, rewound, size=size), limit)


def open_stdin(
    column: str | None = None,
    pair_column: str | None = None,
    fmt: str | None = None,
    stream: BinaryIO | None = None,
    limit: int | None = None,
) -> CorpusSource:
    """Standard input (read once, sequentially); its format comes from the first line, and its
    first bytes are checked (`_validate`)."""
    stream = stream if stream is not None else sys.stdin.buffer
    kept: list[bytes] = []
    spec = _check(_Once(stream, kept), STDIN_NAME, fmt, column, pair_column)
    joined = io.BufferedReader(_Prefixed(b"".join(kept), stream))
    opened = []

    def once() -> BinaryIO:
        if opened:
            raise CorpusInputError(ERR_STDIN_TWICE)
        opened.append(True)
        return joined

    source = CorpusSource(STDIN_NAME, spec, once, size=None, seekable=False, head=b"".join(kept))
    return _validate(source, limit)


class _Once:
    """Wraps a sequential stream for `sniff`, keeping what it read in `kept`."""

    def __init__(self, stream: BinaryIO, kept: list[bytes]):
        self._stream, self._kept = stream, kept

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._kept.append(data)
        return data


def upload_limit_mb(config: Path = STREAMLIT_CONFIG) -> float:
    """server.maxUploadSize from the app's .streamlit/config.toml (Streamlit's default if unset)."""
    try:
        with open(config, "rb") as handle:
            settings = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return STREAMLIT_DEFAULT_UPLOAD_MB
    return settings.get("server", {}).get("maxUploadSize", STREAMLIT_DEFAULT_UPLOAD_MB)


def check_upload_size(size_bytes: int, name: str, limit_mb: float) -> None:
    """Raise UploadTooLarge when an upload exceeds `limit_mb` megabytes (Streamlit's MB: 2**20 bytes)."""
    if size_bytes > limit_mb * 2**20:
        raise UploadTooLarge(ERR_TOO_LARGE.format(name=name, size=size_bytes / 2**20, limit=limit_mb))
