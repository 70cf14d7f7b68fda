"""Corpus readers: every format, every bad input, offsets that re-read the same record."""

import io

import pytest
from tiers import ROOT

from models.corpus import io as corpus_io
from models.corpus.io import CorpusInputError, ReadSpec, read_records
from models.corpus.source import (
    UploadTooLarge,
    check_upload_size,
    open_path,
    open_stdin,
    open_upload,
    upload_limit_mb,
)


def _records(data: bytes, name: str, **kwargs):
    return list(open_upload(data, name, **kwargs).records())


def test_text_lines_keep_blank_ones_and_strip_bom_and_crlf():
    data = b"\xef\xbb\xbfFirst line.\r\n\n   \nFourth, last"
    records = _records(data, "c.txt")
    assert [r.text for r in records] == ["First line.", "", "   ", "Fourth, last"]
    assert [r.index for r in records] == [0, 1, 2, 3]
    assert [r.line for r in records] == [1, 2, 3, 4]
    assert records[3].offset == data.index(b"Fourth")


def test_offsets_reread_the_same_records_from_the_middle():
    data = "".join(f"sentence {i}, with ümlaut\n" for i in range(20)).encode()
    whole = _records(data, "c.txt")
    middle = whole[7]
    again = list(read_records(io.BytesIO(data), "c.txt", ReadSpec(), middle.offset, middle.index, middle.line, 12))
    assert again == whole[7:12]


def test_csv_quoted_multiline_field_pair_column_and_short_rows():
    data = b'id,text,pair\n1,"Hello, world",Yes\n2,"two\nlines",\n3\n\n4,,x\n'
    records = _records(data, "c.csv", pair_column="pair")
    assert [(r.text, r.text_b) for r in records] == [
        ("Hello, world", "Yes"),
        ("two\nlines", None),
        (None, None),
        ("", None),
        ("", "x"),
    ]
    assert [r.line for r in records] == [2, 3, 5, 6, 7]
    csv_again = list(
        read_records(
            io.BytesIO(data),
            "c.csv",
            ReadSpec("csv", None, "pair"),
            records[1].offset,
            records[1].index,
            records[1].line,
        )
    )
    assert csv_again == records[1:]


def test_tsv_by_suffix_and_the_only_column_is_the_default():
    assert [r.text for r in _records(b"sentence\nA b.\nC d.\n", "x.tsv")] == ["A b.", "C d."]
    records = _records(b"text\tpair\nA b.\tC d.\n", "x.tsv", pair_column="pair")
    assert (records[0].text, records[0].text_b) == ("A b.", "C d.")


def test_jsonl_fields_missing_later_records_and_blank_lines():
    data = b'{"text": "a b", "p": "c d"}\n\n{"p": "x"}\n{"text": null}\n'
    records = _records(data, "c.jsonl", pair_column="p")
    assert [(r.text, r.text_b) for r in records] == [("a b", "c d"), ("", None), (None, "x"), (None, None)]


def test_stdin_formats_are_sniffed_when_a_column_is_named():
    assert open_stdin("text", stream=io.BytesIO(b'{"text": "a"}\n')).spec.format == "jsonl"
    assert open_stdin("text", stream=io.BytesIO(b"text\tpair\na\tb\n")).spec.format == "tsv"
    assert open_stdin("text", stream=io.BytesIO(b"text,pair\na,b\n")).spec.format == "csv"
    source = open_stdin(stream=io.BytesIO(b"one\ntwo\n"))
    assert source.spec.format == "text" and [r.text for r in source.records()] == ["one", "two"]
    with pytest.raises(CorpusInputError, match="only once"):
        list(source.records())


def test_estimate_and_columns():
    source = open_upload(b"a,text\n1,x\n2,y\n3,z", "c.csv")
    assert source.estimate_records() == 3 and source.estimate_records(2) == 2
    assert source.columns() == ("a", "text")
    assert open_upload(b'\n{"text": "a", "b": 1}\n', "c.jsonl").columns() == ("text", "b")


@pytest.mark.parametrize(
    "data,name,kwargs,needle",
    [
        (b"", "e.txt", {}, "is empty (0 bytes)"),
        (b"some text\x00more", "b.txt", {}, "binary file (it contains NUL bytes)"),
        (b"\x1f\x8b\x08\x00rest", "c.txt.gz", {}, "binary file (gzip data)"),
        (b"PK\x03\x04zip", "c.zip", {}, "binary file (zip data)"),
        (b"\xff\xfeh\x00i\x00", "u.txt", {}, "UTF-16"),
        (b"a,b\n1,2\n", "c.csv", {"column": "text"}, "The column 'text' is not in 'c.csv'. The columns are: 'a', 'b'."),
        (b"text,b\n1,2\n", "c.csv", {"pair_column": "second"}, "The column 'second' is not in"),
        (
            b'{"sentence": "a", "id": 1}\n',
            "j.jsonl",
            {},
            "The field 'text' is not in 'j.jsonl'. The fields are: 'sentence', 'id'.",
        ),
        (b"[1, 2]\n", "j.json", {}, "holds a JSON list, not an object"),
        (b'{"text": "a"}\n{"text": \n', "j.jsonl", {}, "Line 2 of 'j.jsonl' is not valid JSON"),
        (b'{"text": 3}\n', "j.jsonl", {}, "is a number, not text"),
        (b"hi\n", "t.txt", {"column": "x"}, "apply to CSV, TSV and JSONL"),
        (b"\n", "c.csv", {}, "has no header row"),
        (b"ok\n", "c.txt", {"fmt": "xml"}, "Unknown corpus format 'xml'"),
    ],
)
def test_bad_input_is_named(data, name, kwargs, needle):
    with pytest.raises(CorpusInputError) as error:
        _records(data, name, **kwargs)
    assert needle in str(error.value)


def test_non_utf8_names_line_and_byte_offset():
    data = b"first line\nsecond, fine\nthird has a bad byte: " + b"\xe9t\xc3\xa9\n"
    with pytest.raises(CorpusInputError) as error:
        _records(data, "u.txt")
    offset = data.index(b"\xe9")
    assert f"line 3, byte offset {offset} (byte 0xe9)" in str(error.value)


def test_bad_byte_after_a_bom_counts_the_bom():
    data = b"\xef\xbb\xbfab\xff\n"
    with pytest.raises(CorpusInputError, match=r"line 1, byte offset 5 \(byte 0xff\)"):
        _records(data, "u.txt")


def test_a_line_over_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(corpus_io, "MAX_LINE_BYTES", 16)
    with pytest.raises(CorpusInputError, match=r"Line 2 of 'long\.txt' is longer than"):
        _records(b"short\n" + b"x" * 40 + b"\n", "long.txt")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CorpusInputError, match="does not exist"):
        open_path(tmp_path / "none.txt")
    with pytest.raises(CorpusInputError, match="is not a file"):
        open_path(tmp_path)


def test_upload_size_limit_is_named_and_read_from_the_config(tmp_path):
    with pytest.raises(UploadTooLarge, match="the limit is 2 MB"):
        open_upload(b"x" * (2 * 2**20 + 1), "big.txt", limit_mb=2)
    check_upload_size(2 * 2**20, "ok.txt", 2)  # exactly the limit is accepted
    config = tmp_path / "config.toml"
    config.write_text("[server]\nmaxUploadSize = 7\n")
    assert upload_limit_mb(config) == 7
    assert upload_limit_mb(tmp_path / "missing.toml") == 200
    assert upload_limit_mb() == 50  # the app's own .streamlit/config.toml
    assert (ROOT / ".streamlit" / "config.toml").is_file()


def test_file_like_upload_is_rewound_each_time():
    upload = io.BytesIO(b"one\ntwo\n")
    source = open_upload(upload, "u.txt")
    assert [r.text for r in source.records()] == ["one", "two"]
    assert [r.text for r in source.records()] == ["one", "two"]
    with pytest.raises(CorpusInputError, match="binary mode"):
        open_upload(io.StringIO("text"), "u.txt")
