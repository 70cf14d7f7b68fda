"""The i18n module: per-context language, lazy messages translated before formatting, plurals,
lists, pickling, the catalogue fallback, and the CLI's argparse messages and column widths."""

from __future__ import annotations

import pickle
import threading

import pytest

import i18n
from commands.lang import pad, preparse_language, translate_argparse, width
from i18n import N_, LazyText, format_list, lazy_ngettext, using


def test_language_names_and_environment():
    assert i18n.normalize_language("ja_JP.UTF-8") == "ja"
    assert i18n.normalize_language("ja-JP") == i18n.normalize_language("JA") == "ja"
    assert i18n.normalize_language("en_US") == "en"
    assert i18n.normalize_language("fr_FR") is None and i18n.normalize_language(None) is None
    assert i18n.language_from_env({"LANG": "ja_JP.UTF-8"}) == "ja"
    assert i18n.language_from_env({"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}) == "en"  # LC_ALL wins, C is English
    assert i18n.language_from_env({"LANGUAGE": "ja:en", "LANG": "C"}) == "ja"
    assert i18n.language_from_env({}) == "en"
    with pytest.raises(ValueError, match="Unknown language 'fr'"):
        i18n.set_language("fr")


def test_a_constant_translates_where_it_is_shown():
    message = N_("The text is empty. Type or paste a sentence to analyse.")
    assert message == "The text is empty. Type or paste a sentence to analyse."  # the English value
    with using("ja"):
        assert str(message) == "テキストが空です。分析する文を入力するか、貼り付けてください。"
        assert f"{message}" == str(message) and "» " + message == "» " + str(message)
        assert str(ValueError(message)) == str(message)
    assert str(message) == message


def test_placeholders_are_filled_after_translation():
    template = N_("Query position {position} is out of range: this input has {n} tokens (positions 0 to {last}).")
    message = template.format(position=9, n=4, last=3)
    assert isinstance(message, LazyText)
    assert message == "Query position 9 is out of range: this input has 4 tokens (positions 0 to 3)."
    assert message.render("ja") == "クエリの位置9は範囲外です。この入力は4トークン（位置0～3）です。"


def test_nested_messages_plurals_and_lists_render_in_one_language():
    span = N_("layers {first}–{last}").format(first=1, last=2)
    agreeing = lazy_ngettext(
        "{span} already sends {share:.0%} of attention to [CLS]: the sentence is starting to be gathered into "
        "one place. This is normal.",
        "{span} already send {share:.0%} of attention to [CLS]: the sentence is starting to be gathered into "
        "one place. This is normal.",
    )
    assert agreeing.format(span=span, n=1, share=0.5).startswith("layers 1–2 already sends 50%")
    assert agreeing.format(span=span, n=2, share=0.5).startswith("layers 1–2 already send 50%")
    assert agreeing.format(span=span, n=2, share=0.5).render("ja").startswith("第1～2層はすでにアテンションの50%を")
    listed = format_list(["6", "5", "1"])
    assert listed == "6, 5 and 1" and listed.render("ja") == "6、5、1"
    assert format_list(["4"]) == "4"


def test_the_language_belongs_to_the_thread_not_the_process():
    message = N_("error: {message}").format(message="x")
    seen: dict[str, str] = {}
    ready = threading.Barrier(2)

    def session(name: str, language: str) -> None:
        i18n.set_language(language)
        ready.wait()
        seen[name] = str(message)

    threads = [threading.Thread(target=session, args=(name, lang)) for name, lang in (("a", "ja"), ("b", "en"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a": "エラー: x", "b": "error: x"}
    assert i18n.get_language() == "en"  # this thread never chose


def test_a_language_source_answers_for_contexts_that_set_none():
    message = N_("warning")
    try:
        i18n.set_language_source(lambda: "ja")
        assert str(message) == "警告"
        with using("en"):
            assert str(message) == "warning"  # an explicit choice wins
        i18n.set_language_source(lambda: 1 / 0)
        assert str(message) == "warning"  # a failing source means English
    finally:
        i18n.set_language_source(None)


def test_lazy_messages_pickle_and_hash_as_their_english_text():
    message = N_("Layers {first}–{last}").format(first=3, last=4)
    copy = pickle.loads(pickle.dumps(message))
    assert isinstance(copy, LazyText) and copy == message and copy.render("ja") == "第3～4層"
    listed = pickle.loads(pickle.dumps(format_list([message, "7"])))
    assert listed.render("ja") == "第3～4層、7"
    assert {message, copy} == {"Layers 3–4"}


def test_a_broken_translation_falls_back_to_the_english_template(monkeypatch):
    monkeypatch.setattr(i18n, "_translate", lambda *args, **kwargs: "{missing} 壊れた訳")
    assert N_("layer {layer}").format(layer=2).render("ja") == "layer 2"


def test_catalogues_load_from_the_po_without_a_compiled_mo(tmp_path, monkeypatch):
    folder = tmp_path / "ja" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    source = i18n.LOCALE_DIR / "ja" / "LC_MESSAGES" / "messages.po"
    (folder / "messages.po").write_bytes(source.read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.catalog.cache_clear()
    try:
        assert i18n.catalog("ja").gettext("warning") == "警告"
    finally:
        i18n.catalog.cache_clear()


def test_argparse_messages_in_japanese():
    with using("ja"):
        assert translate_argparse("argument --format: invalid choice: 'xml' (choose from 'json', 'table')") == (
            "引数--format: 無効な選択肢です: 'xml'（選べる値: 'json', 'table'）"
        )
        assert translate_argparse("the following arguments are required: text") == "次の引数が必要です: text"
        assert translate_argparse("something argparse never says") == "something argparse never says"
    assert translate_argparse("unrecognized arguments: --x") == "unrecognized arguments: --x"


def test_cli_language_choice_and_display_width(monkeypatch):
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.delenv("LANGUAGE", raising=False)
    assert preparse_language(["analyze", "hi"]) == "ja"
    assert preparse_language(["analyze", "hi", "--lang", "en"]) == "en"
    assert preparse_language(["--lang=en", "models"]) == "en"
    assert width("層") == 2 and width("layer") == 5
    assert pad("層", 5) == "   層" and pad("役割", 6, "<") == "役割  "
