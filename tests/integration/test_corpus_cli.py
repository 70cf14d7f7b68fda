"""`cli.py corpus`: per-head means equal averaging `cli.py analyze` over the lines; bad input."""

import json

import numpy as np
import pytest
from cli_process import run_cli

import cli

CLI_TOL = 1e-5
LINES = [
    "The dog chased the cat, because it was hungry.",
    "Why?",
    "A longer sentence, with commas, a question mark? And then a full stop.",
    "[CLS] Typed markers stay out . [SEP]",
    "Snow fell softly on the empty playground.",
    "First part [SEP] second part of a typed pair.",
]


def _analyze_json(capsys, text, view="weight"):
    assert cli.main(["analyze", text, "--view", view]) == 0
    return json.loads(capsys.readouterr().out)


def test_corpus_means_equal_the_average_of_analyze(tmp_path, capsys):
    corpus = tmp_path / "lines.txt"
    corpus.write_text("\n".join(LINES[:3]) + "\n\n" + "\n".join(LINES[3:]) + "\n")
    completed = run_cli("corpus", str(corpus), "--batch-size", "4")
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["sentences"] == len(LINES) and document["skipped"]["blank"] == 1
    singles = [_analyze_json(capsys, line) for line in LINES]
    for name in document["scores"]:
        expected = np.mean([single["scores"][name] for single in singles], axis=0)
        np.testing.assert_allclose(document["scores"][name]["mean"], expected, atol=CLI_TOL, err_msg=name)
    for part in document["partition"]:
        expected = np.mean([single["partition"][part] for single in singles], axis=0)
        np.testing.assert_allclose(document["partition"][part]["mean"], expected, atol=CLI_TOL, err_msg=part)
    roles = np.array([single["roles"] for single in singles])
    for role, share in document["roles"].items():
        np.testing.assert_allclose(share, (roles == role).mean(0), atol=1e-6, err_msg=role)
    norm = document["norm"]  # the norm view: the same against `analyze --view norm`
    singles = [_analyze_json(capsys, line, "norm") for line in LINES]
    assert {single["view"] for single in singles} == {"norm"}
    for name in norm["scores"]:
        expected = np.mean([single["scores"][name] for single in singles], axis=0)
        np.testing.assert_allclose(norm["scores"][name]["mean"], expected, atol=CLI_TOL, err_msg=f"norm {name}")
    for part in norm["partition"]:
        expected = np.mean([single["partition"][part] for single in singles], axis=0)
        np.testing.assert_allclose(norm["partition"][part]["mean"], expected, atol=CLI_TOL, err_msg=f"norm {part}")
    roles = np.array([single["roles"] for single in singles])
    for role, share in norm["roles"].items():
        np.testing.assert_allclose(share, (roles == role).mean(0), atol=1e-6, err_msg=f"norm {role}")


def test_stdin_table_limit_and_progress():
    text = "\n".join(LINES) + "\n"
    completed = run_cli("corpus", "-", "--format", "table", "--limit", "3", "--progress", "on", input=text)
    assert completed.returncode == 0, completed.stderr
    assert "3 sentences of 3 records" in completed.stdout and "layer" in completed.stdout
    assert "view weight (attention weights); views in the JSON: weight, norm" in completed.stdout
    assert "sentences/s" in completed.stderr and "records" in completed.stderr


def test_table_of_the_norm_view(tmp_path):
    corpus = tmp_path / "lines.txt"
    corpus.write_text("\n".join(LINES) + "\n")
    completed = run_cli("corpus", str(corpus), "--format", "table", "--view", "norm")
    assert completed.returncode == 0, completed.stderr
    assert "view norm (norm view: what the heads move (Kobayashi et al. 2020))" in completed.stdout
    assert "of what these heads move comes from [CLS], over 6 sentences" in completed.stdout


def test_csv_with_pair_column(tmp_path):
    corpus = tmp_path / "pairs.csv"
    corpus.write_text('id,sentence,next\n1,"The cat sat.",It purred.\n2,"Hello, there.",\n3,,Nothing first.\n')
    completed = run_cli("corpus", str(corpus), "--column", "sentence", "--pair-column", "next", "--top", "2")
    document = json.loads(completed.stdout)
    assert (document["sentences"], document["skipped"]["blank"]) == (2, 1)
    assert document["texts"]["0"] == {"text": "The cat sat.", "pair": "It purred."}
    assert len(document["top"]["cls"]["high"]["index"][0][0]) == 2


@pytest.mark.parametrize(
    "content,args,needle",
    [
        (b"", (), "is empty (0 bytes)"),
        (b"\x00\x01\x02binary", (), "looks like a binary file"),
        (b"good line\nbad \xff byte\n", (), "line 2, byte offset 14 (byte 0xff)"),
        (b"a,b\n1,2\n", ("--column", "text"), "The columns are: 'a', 'b'"),
        (b"\n\n  \n", (), "No sentence in"),
        (b"fine\n", ("--limit", "0"), "limit must be a whole number of at least 1"),
        (b"fine\n", ("--batch-size", "0"), "batch_size must be a whole number"),
        (b"fine\n", ("--engine", "spark"), "invalid choice"),
        (b"fine\n", ("--model", "no-such-model"), "Unknown model"),
        (b"fine\n", ("--model", "no-such-model", "--engine", "ray"), "Unknown model"),
    ],
)
def test_bad_input_is_one_line_and_status_2(tmp_path, content, args, needle):
    corpus = tmp_path / ("c.csv" if b"a,b" in content else "c.txt")
    corpus.write_bytes(content)
    completed = run_cli("corpus", str(corpus), *args)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], completed.stderr


def test_missing_file_is_one_line():
    completed = run_cli("corpus", "/no/such/corpus.txt")
    assert completed.returncode == 2 and "does not exist" in completed.stderr
