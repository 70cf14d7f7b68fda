"""Read a corpus as a stream of records: a text file, CSV/TSV or JSONL, from a path or bytes.

Nothing here reads the whole corpus into memory: bytes are read one line at a time,
decoded strictly as UTF-8 (a bad byte is an error naming its line and byte offset), and
turned into `CorpusRecord`s.  Blank lines and rows without the text field are *yielded*
(text "" or None) so that the engine counts them; only the engine decides what is skipped.

Formats (`CorpusFormat`):
  text   one sentence (or passage) per line; a typed [SEP] inside a line makes a pair,
         as in the single-sentence view
  csv    comma-separated with a header row; `column` names the text column (default
         "text", or the only column), `pair_column` an optional second sentence
  tsv    the same, tab-separated
  jsonl  one JSON object per line; `column` / `pair_column` name the fields
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, get_args

CorpusFormat = Literal["text", "csv", "tsv", "jsonl"]
CORPUS_FORMATS: tuple[CorpusFormat, ...] = get_args(CorpusFormat)
SUFFIX_FORMATS: dict[str, CorpusFormat] = {
    ".txt": "text",
    ".text": "text",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
DEFAULT_COLUMN = "text"
SNIFF_BYTES = 8192  # the start of the input checked for binary content
MAX_LINE_BYTES = 8 * 1024 * 1024  # one line (CSV: one field) may be at most this long
COUNT_BLOCK = 1 << 20
BINARY_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"PK\x03\x04": "zip",
    b"BZh": "bzip2",
    b"\xfd7zXZ": "xz",
    b"%PDF": "PDF",
    b"\x89PNG": "PNG",
    b"\xff\xd8\xff": "JPEG",
}
UTF8_BOM = b"\xef\xbb\xbf"

ERR_EMPTY_FILE = "The corpus '{name}' is empty (0 bytes). Give a file with one sentence per line."
ERR_BINARY = (
    "The corpus '{name}' looks like a binary file ({what}), not text. Give a UTF-8 text file "
    "(one sentence per line), a CSV/TSV or a JSONL file."
)
ERR_UTF16 = "The corpus '{name}' is UTF-16 encoded. Save it as UTF-8 and try again."
ERR_NOT_UTF8 = (
    "The corpus '{name}' is not valid UTF-8: line {line}, byte offset {offset} (byte 0x{byte:02x}). "
    "Save the file as UTF-8 and try again."
)
ERR_NUL = (
    "The corpus '{name}' contains a NUL byte on line {line}, byte offset {offset}: is it a binary file? "
    "Give a UTF-8 text file (one sentence per line), a CSV/TSV or a JSONL file."
)
ERR_LINE_TOO_LONG = (
    "Line {line} of '{name}' is longer than {limit} MiB: is this a corpus with one sentence (or record) per line?"
)
ERR_NO_COLUMN = "The {kind} '{column}' is not in '{name}'. The {kind}s are: {available}."
ERR_NO_HEADER = "'{name}' has no header row: a CSV/TSV corpus needs one that names its columns."
ERR_COLUMN_FOR_TEXT = (
    "--column and --pair-column apply to CSV, TSV and JSONL corpora; '{name}' is read as a "
    "text file with one sentence per line."
)
ERR_CSV = "Line {line} of '{name}' is not valid {kind}: {problem}."
ERR_JSON = (
    "Line {line} of '{name}' is not valid JSON at byte offset {offset}: {problem}. "
    "A JSONL corpus has one JSON object per line."
)
ERR_JSON_OBJECT = "Line {line} of '{name}' holds a JSON {kind}, not an object: a JSONL corpus has one object per line."
ERR_JSON_TYPE = "The field '{column}' on line {line} of '{name}' is a {kind}, not text."
ERR_FORMAT = "Unknown corpus format '{format}'; use one of: {formats}."
ERR_UNREADABLE = "Cannot read the corpus '{name}': {problem}."


class CorpusInputError(ValueError):
    """The corpus cannot be read; the message says what is wrong and where."""


@dataclass(frozen=True)
class CorpusRecord:
    """One record of the input.

    index   0-based record number (skipped records count: a text file's line number − 1)
    line    1-based line where the record starts
    offset  byte offset where the record starts (seek there to read it again)
    text    the sentence; "" for a blank line or field, None when the row lacks the column
    text_b  the optional second sentence of a pair (None when absent or blank)
    """

    index: int
    line: int
    offset: int
    text: str | None
    text_b: str | None = None


@dataclass(frozen=True)
class ReadSpec:
    """How to read a corpus: its format and, for CSV/TSV/JSONL, the column or field names."""

    format: CorpusFormat = "text"
    column: str | None = None
    pair_column: str | None = None


def detect_format(name: str, first_line: bytes = b"", column: str | None = None) -> CorpusFormat:
    """The format from the file name's suffix; for stdin or an unknown suffix with a column
    named, from the first line ('{' → jsonl, a tab → tsv, otherwise csv)."""
    found = SUFFIX_FORMATS.get(Path(name).suffix.lower())
    if found:
        return found
    if column is None:
        return "text"
    stripped = first_line.lstrip(UTF8_BOM).lstrip()
    if stripped.startswith(b"{"):
        return "jsonl"
    return "tsv" if b"\t" in first_line else "csv"


def check_format(value: str) -> CorpusFormat:
    if value not in CORPUS_FORMATS:
        raise CorpusInputError(ERR_FORMAT.format(format=value, formats=", ".join(CORPUS_FORMATS)))
    return value  # type: ignore[return-value]


def sniff(stream: BinaryIO, name: str) -> bytes:
    """Read the first SNIFF_BYTES (the caller re-reads them) and refuse empty or binary input."""
    head = stream.read(SNIFF_BYTES)
    if not head:
        raise CorpusInputError(ERR_EMPTY_FILE.format(name=name))
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorpusInputError(ERR_UTF16.format(name=name))
    for magic, what in BINARY_MAGIC.items():
        if head.startswith(magic):
            raise CorpusInputError(ERR_BINARY.format(name=name, what=f"{what} data"))
    if b"\x00" in head:
        raise CorpusInputError(ERR_BINARY.format(name=name, what="it contains NUL bytes"))
    return head


class LineReader:
    """Decoded lines of a binary stream, with the line number and byte offset of each.

    `next_line` / `next_offset` say where the next line starts, so a CSV reader that pulls
    lines on demand can tell where each of its records began.
    """

    def __init__(self, stream: BinaryIO, name: str, offset: int = 0, line: int = 1):
        self.stream, self.name = stream, name
        self.next_offset, self.next_line = offset, line
        self.item_line = line

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self.stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            raise StopIteration
        if len(raw) > MAX_LINE_BYTES:
            raise CorpusInputError(
                ERR_LINE_TOO_LONG.format(line=self.next_line, name=self.name, limit=MAX_LINE_BYTES >> 20)
            )
        if self.next_offset == 0 and raw.startswith(UTF8_BOM):
            raw = raw[len(UTF8_BOM) :]
            self.next_offset = len(UTF8_BOM)
        nul = raw.find(b"\x00")
        if nul >= 0:  # sniff() sees only the first SNIFF_BYTES; this covers every line
            raise CorpusInputError(ERR_NUL.format(name=self.name, line=self.next_line, offset=self.next_offset + nul))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CorpusInputError(
                ERR_NOT_UTF8.format(
                    name=self.name,
                    line=self.next_line,
                    offset=self.next_offset + error.start,
                    byte=raw[error.start],
                )
            ) from None
        self.next_offset += len(raw)
        self.next_line += 1
        return text

    def numbered(self, items: Iterator | None = None) -> Iterator[tuple[int, int, object]]:
        """Each line (newline kept), or each item of `items` (a reader that pulls its lines from
        this one, such as csv.reader), with the byte offset and the line number it starts at.
        While an item is read, `item_line` is the line it starts at (for error messages)."""
        items = self if items is None else items
        while True:
            offset, self.item_line = self.next_offset, self.next_line
            try:
                item = next(items)
            except StopIteration:
                return
            yield offset, self.item_line, item


def read_records(
    stream: BinaryIO,
    name: str,
    spec: ReadSpec,
    start: int = 0,
    first_index: int = 0,
    first_line: int = 1,
    stop_index: int | None = None,
) -> Iterator[CorpusRecord]:
    """Yield the records of a seekable or sequential binary stream, from byte `start` on.

    A range that starts inside the file (a Ray split) gives the record index and line at
    `start`; CSV/TSV ranges re-read the header from the beginning (the stream must then be
    seekable).  Reading stops before record `stop_index` (exclusive), or at the end.
    """
    if spec.format == "text" and (spec.column or spec.pair_column):
        raise CorpusInputError(ERR_COLUMN_FOR_TEXT.format(name=name))
    if spec.format == "text":
        records = _text_records(stream, name, start, first_index, first_line)
    elif spec.format == "jsonl":
        records = _jsonl_records(stream, name, spec, start, first_index, first_line)
    else:
        records = _table_records(stream, name, spec, start, first_index, first_line)
    if stop_index is not None and stop_index <= first_index:
        return
    for record in records:
        if stop_index is not None and record.index >= stop_index:
            return
        yield record
        if stop_index is not None and record.index + 1 >= stop_index:
            return  # without reading (and checking) a line past the limit


def _text_records(stream, name, start, first_index, line) -> Iterator[CorpusRecord]:
    if start:
        stream.seek(start)
    lines = LineReader(stream, name, start, line)
    for index, (offset, line_no, text) in enumerate(lines.numbered(), start=first_index):
        yield CorpusRecord(index, line_no, offset, text.rstrip("\r\n"))


def _jsonl_records(stream, name, spec: ReadSpec, start, first_index, line) -> Iterator[CorpusRecord]:
    column = spec.column or DEFAULT_COLUMN
    if start:
        stream.seek(start)
    lines = LineReader(stream, name, start, line)
    checked = start > 0  # the driver checked the first object before splitting
    for index, (offset, line_no, raw) in enumerate(lines.numbered(), start=first_index):
        if not raw.strip():
            yield CorpusRecord(index, line_no, offset, "")
            continue
        try:
            value = json.loads(raw.rstrip("\r\n"))  # an error's column is then on this line
        except json.JSONDecodeError as error:
            raise CorpusInputError(_json_error(error, raw, line_no, lines.next_offset, name)) from None
        if not isinstance(value, dict):
            raise CorpusInputError(ERR_JSON_OBJECT.format(line=line_no, name=name, kind=_json_kind(value)))
        if not checked:
            for wanted in (column, spec.pair_column):
                if wanted is not None and wanted not in value:
                    raise CorpusInputError(
                        ERR_NO_COLUMN.format(
                            kind="field",
                            column=wanted,
                            name=name,
                            available=", ".join(repr(k) for k in value) or "(none)",
                        )
                    )
            checked = True
        text = _json_text(value.get(column), column, line_no, name)
        pair = _json_text(value.get(spec.pair_column), spec.pair_column, line_no, name) if spec.pair_column else None
        yield CorpusRecord(index, line_no, offset, text, pair or None)


def _json_error(error: json.JSONDecodeError, raw: str, line_no: int, line_end: int, name: str) -> str:
    """The whole message: json's own text ("Invalid control character at") is only whole with
    its position, so give the column and the byte offset of the error in the file
    (`line_end`: the byte offset after the line)."""
    at = line_end - len(raw[error.pos :].encode("utf-8"))  # raw still ends with its newline
    return ERR_JSON.format(line=line_no, name=name, offset=at, problem=f"{error.msg}: column {error.colno}")


def _json_kind(value) -> str:
    return {list: "list", dict: "object", bool: "true/false value", int: "number", float: "number"}.get(
        type(value), "value"
    )


def _json_text(value, column, line_no, name) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise CorpusInputError(ERR_JSON_TYPE.format(column=column, line=line_no, name=name, kind=_json_kind(value)))


def read_header(stream: BinaryIO, name: str, spec: ReadSpec) -> tuple[tuple[str, ...], int, int]:
    """The header row of a CSV/TSV → (column names, byte offset and line after it)."""
    lines = LineReader(stream, name)
    reader = csv.reader(lines, delimiter="\t" if spec.format == "tsv" else ",")
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise CorpusInputError(
            ERR_CSV.format(line=lines.next_line - 1, name=name, kind=spec.format.upper(), problem=error)
        ) from None
    if not header or not any(cell.strip() for cell in header):
        raise CorpusInputError(ERR_NO_HEADER.format(name=name))
    return tuple(cell.strip() for cell in header), lines.next_offset, lines.next_line


def table_columns(header: tuple[str, ...], spec: ReadSpec, name: str) -> tuple[int, int | None]:
    """Positions of the text column (default "text", or the only column) and the pair column."""
    column = spec.column
    if column is None:
        column = header[0] if len(header) == 1 else DEFAULT_COLUMN
    positions = []
    for wanted in (column, spec.pair_column):
        if wanted is None:
            positions.append(None)
        elif wanted in header:
            positions.append(header.index(wanted))
        else:
            raise CorpusInputError(
                ERR_NO_COLUMN.format(
                    kind="column", column=wanted, name=name, available=", ".join(repr(h) for h in header)
                )
            )
    return positions[0], positions[1]


def _table_records(stream, name, spec: ReadSpec, start, index, line) -> Iterator[CorpusRecord]:
    if start:
        stream.seek(0)
    header, header_end, header_line = read_header(stream, name, spec)
    text_at, pair_at = table_columns(header, spec, name)
    if start:
        stream.seek(start)
    else:
        start, line = header_end, header_line
    lines = LineReader(stream, name, start, line)
    kind = spec.format.upper()
    reader = csv.reader(lines, delimiter="\t" if spec.format == "tsv" else ",")
    try:
        for offset, line_no, row in lines.numbered(reader):
            text = row[text_at] if text_at < len(row) else None
            if not row:
                text = ""  # a blank line
            pair = row[pair_at] if pair_at is not None and pair_at < len(row) else None
            yield CorpusRecord(index, line_no, offset, text, pair if pair and pair.strip() else None)
            index += 1
    except csv.Error as error:
        raise CorpusInputError(ERR_CSV.format(line=lines.item_line, name=name, kind=kind, problem=error)) from None


csv.field_size_limit(MAX_LINE_BYTES)


def count_lines(stream: BinaryIO) -> int:
    """Number of lines in a seekable stream (a final line without a newline counts),
    read in blocks; the stream is rewound to where it was."""
    where = stream.tell()
    count, last = 0, b"\n"
    while block := stream.read(COUNT_BLOCK):
        count += block.count(b"\n")
        last = block[-1:]
    stream.seek(where)
    return count + (last != b"\n")


def as_stream(data: bytes | bytearray | memoryview | BinaryIO) -> BinaryIO:
    """A binary stream over uploaded bytes or a file-like object (e.g. Streamlit's UploadedFile)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(data))
    if isinstance(data, io.TextIOBase):
        raise CorpusInputError(
            ERR_UNREADABLE.format(
                name=getattr(data, "name", "upload"), problem="it was opened as text; open it in binary mode"
            )
        )
    return data
