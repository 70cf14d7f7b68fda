"""The CLI in Japanese (--lang ja, or LANG=ja_JP.UTF-8): one Japanese stderr line and status 2
for every bad input, Japanese tables, English JSON keys, and the [UNK] notice on minilm."""

from __future__ import annotations

import json
import os
import re

import pytest
from cli_process import run_cli

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
SENTENCE = "猫がマットの上に座った。"


def _cli(*args, lang_env: str = "C.UTF-8"):
    env = {key: value for key, value in os.environ.items() if key not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    env["LANG"] = lang_env
    return run_cli(*args, env=env)


@pytest.mark.parametrize(
    "args,needle",
    [
        (("analyze", ""), "テキストが空です"),
        (("analyze", "hi", "--model", "no-such-model"), "不明なモデル'no-such-model'です"),
        (("analyze", "hi", "--model", "minilm-longformer", "--window", "7"), "窓幅は4～1024の偶数"),
        (("analyze", "hi", "--model", "minilm-longformer", "--global", "99"), "位置99は範囲外です"),
        (("analyze", "hi", "--global", "0"), "Longformerのモデルでのみ使えます"),
        (("analyze", "hi", "--model", "bert-base-japanese-v3"), "Hugging Face Hubに接続できず"),
        (("analyze", "hi", "--format", "xml"), "無効な選択肢です: 'xml'"),
        (("analyze",), "次の引数が必要です: text"),
        (("frobnicate",), "無効な選択肢です"),
        (("rollout", "hi", "--query", "40"), "クエリの位置40は範囲外です"),
        (("sparse", "hi", "--pattern", "lsh", "--buckets", "5"), "バケット数は2以上の偶数"),
        (("sparse", "hi", "--pattern", "local", "--share", "1.5"), "--shareは0より大きく1以下"),
        (("compare", "hi", "--model-a", "minilm", "--model-b", "minilm", "--top", "0"), "--topは1以上"),
        (("plot", "hi", "--format", "png", "-o", "/no/such/dir/x.png"), "フォルダー/no/such/dirがありません"),
    ],
)
def test_bad_input_in_japanese(args, needle):
    completed = _cli("--lang", "ja", *args)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("エラー: ") and needle in lines[0], lines


def test_lang_after_the_command_and_from_the_environment():
    after = _cli("analyze", "", "--lang", "ja")
    from_env = _cli("analyze", "", lang_env="ja_JP.UTF-8")
    overridden = _cli("analyze", "", "--lang", "en", lang_env="ja_JP.UTF-8")
    assert after.returncode == from_env.returncode == overridden.returncode == 2
    assert after.stderr == from_env.stderr and "テキストが空です" in after.stderr
    assert overridden.stderr.startswith("error: the text is empty")


def test_japanese_table_keeps_score_and_role_identifiers():
    completed = _cli("--lang", "ja", "analyze", "The dog chased the cat.", "--format", "table")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("モデルminilm（bert、6層 × 12ヘッド）")
    header = next(line for line in lines if "entropy" in line)
    assert header.split() == ["層", "cls", "sep", "diag", "entropy", "cls_out", "役割"]
    assert any(line.startswith("情報: ") for line in lines)
    assert re.search(r"\b(local|cls|sep|punct|broad|mixed) \d+%", completed.stdout)


def test_json_keys_stay_english_and_carry_the_unk_share():
    english = json.loads(_cli("analyze", SENTENCE).stdout)
    japanese = json.loads(_cli("--lang", "ja", "analyze", SENTENCE).stdout)
    assert english.keys() == japanese.keys() and "unk_share" in japanese
    assert japanese["roles"] == english["roles"] and japanese["scores"] == english["scores"]
    assert japanese["unk_share"] == english["unk_share"] == pytest.approx(2 / 12, abs=1e-6)
    assert [d["level"] for d in japanese["diagnosis"]] == [d["level"] for d in english["diagnosis"]]
    assert all(JAPANESE.search(d["message"]) for d in japanese["diagnosis"])
    notice = japanese["notices"][0]
    assert "17%が[UNK]" in notice and "「が」→「か」" in notice and "bert-base-japanese-v3" in notice
    assert "17% are [UNK]" in english["notices"][0]
