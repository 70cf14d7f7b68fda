"""The whole corpus is checked when it is opened (before any model loads), and the messages are whole."""

import io
import json

import pytest

from models.corpus.io import CorpusInputError
from models.corpus.source import open_path, open_stdin, open_upload

LINE = b"A plain sentence of text, one per line.\n"


def _text_with_nul_at(position: int) -> bytes:
    data = LINE * (position // len(LINE) + 20)
    return data[:position] + b"\x00" + data[position + 1 :]


def test_a_nul_byte_past_the_sniffed_start_is_refused_on_opening(tmp_path):
    data = _text_with_nul_at(10_000)
    corpus = tmp_path / "nul.txt"
    corpus.write_bytes(data)
    line = data[:10_000].count(b"\n") + 1
    with pytest.raises(CorpusInputError) as error:
        open_path(corpus)  # opening alone: no records() call, no model
    message = str(error.value)
    assert f"contains a NUL byte on line {line}, byte offset 10000" in message
    assert message.endswith("a CSV/TSV or a JSONL file.")
    with pytest.raises(CorpusInputError, match="byte offset 10000"):
        open_upload(data, "nul.txt")


def test_a_malformed_jsonl_line_near_the_end_is_refused_on_opening_with_the_whole_message(tmp_path):
    lines = [json.dumps({"text": f"sentence number {i}"}).encode() + b"\n" for i in range(3000)]
    lines[2995] = b'{"text": "a tab\there"}\n'  # a raw control character inside a JSON string
    data = b"".join(lines)
    corpus = tmp_path / "c.jsonl"
    corpus.write_bytes(data)
    with pytest.raises(CorpusInputError) as error:
        open_path(corpus)
    offset = data.index(b"\there")
    assert str(error.value) == (
        f"Line 2996 of 'c.jsonl' is not valid JSON at byte offset {offset}: Invalid control character at: "
        "column 16. A JSONL corpus has one JSON object per line."
    )


def test_bad_utf8_near_the_end_is_refused_on_opening():
    data = LINE * 500 + b"caf\xe9\n" + LINE
    with pytest.raises(CorpusInputError, match=rf"line 501, byte offset {len(LINE) * 500 + 3} \(byte 0xe9\)"):
        open_upload(data, "c.txt")


def test_a_truncated_json_line_names_its_column_and_offset():
    data = b'{"text": "a"}\n{"text": \n'
    with pytest.raises(CorpusInputError) as error:
        open_upload(data, "j.jsonl")
    assert str(error.value).startswith(
        "Line 2 of 'j.jsonl' is not valid JSON at byte offset 23: Expecting value: column 10."
    )


def test_the_limit_bounds_the_check():
    data = LINE * 300 + b"\x00\n"  # past the sniffed first 8 KiB
    assert len(list(open_upload(data, "c.txt", limit=300).records(300))) == 300
    with pytest.raises(CorpusInputError, match="NUL byte on line 301"):
        open_upload(data, "c.txt")


def test_stdin_checks_its_first_lines_on_opening_and_the_rest_as_it_streams():
    with pytest.raises(CorpusInputError, match="The field 'text' is not in '-'"):
        open_stdin("text", stream=io.BytesIO(b'{"sentence": "a"}\n'))
    source = open_stdin(stream=io.BytesIO(LINE * 300 + b"x\x00y\n"))
    with pytest.raises(CorpusInputError, match="NUL byte on line 301"):
        list(source.records())
