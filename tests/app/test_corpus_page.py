"""App tier: the Corpus page on an upload and on the shipped sample, with bad uploads."""

from __future__ import annotations

import json

import numpy as np
from app_runs import APP, open_page
from streamlit.testing.v1 import AppTest

from models.examples import sample_corpus

SAMPLE = sample_corpus()


def _corpus_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=600)
    at.run()
    return open_page(at, "corpus")


def _upload(at: AppTest, name: str, data: bytes, mime: str = "text/plain") -> AppTest:
    at.radio(key="corpus_source").set_value("upload").run()
    at.file_uploader(key="corpus_upload").set_value((name, data, mime)).run()
    return at


def test_an_uploaded_corpus_gives_the_layer_story_and_opens_a_top_sentence():
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()[:40]
    at = _upload(_corpus_page(), "mine.txt", ("\n".join(lines[:20]) + "\n\n\n" + "\n".join(lines[20:])).encode())
    at.button(key="corpus_run").click().run()
    assert not at.exception and not at.error
    assert any("over 40 sentences of mine.txt" in c.value and "skipped: 2 blank" in c.value for c in at.caption)
    assert any("±" in info.value and "40 sentences" in info.value for info in at.info)  # diagnosis with its spread
    heatmap = next(
        json.loads(c.proto.spec)
        for c in at.get("plotly_chart")
        if "corpus mean" in json.dumps(json.loads(c.proto.spec)["layout"].get("title", ""))
    )
    assert heatmap["data"][0]["customdata"] is not None  # the std rides along for the hover
    table = at.dataframe[0].value
    assert len(table) == 72 and {"layer", "head", "main_role", "cls", "cls_std"} <= set(table.columns)
    at.slider(key="corpus_threshold").set_value(0.5).run()
    filtered = at.dataframe[0].value
    assert 0 < len(filtered) < 72 and (filtered["cls"] >= 0.5).all()
    at.selectbox(key="corpus_layer").set_value(4).run()
    at.button(key="corpus_open_highest_0").click().run()
    assert not at.exception
    assert at.text_area(key="text").value in lines and at.selectbox(key="layer").value == 4
    assert any(subheader.value == "One head in detail" for subheader in at.subheader)


def test_the_sample_corpus_runs_with_a_limit():
    at = _corpus_page()
    at.number_input(key="corpus_limit").set_value(50).run()
    at.button(key="corpus_run").click().run()
    assert not at.exception and not at.error
    assert any("over 50 sentences of sample_corpus.txt" in c.value for c in at.caption)
    roles = next(
        json.loads(c.proto.spec)
        for c in at.get("plotly_chart")
        if "Head roles by layer" in json.dumps(json.loads(c.proto.spec)["layout"].get("title", ""))
    )
    assert len(roles["data"]) == 6 and all("error_y" in trace for trace in roles["data"])
    assert "subtitle" not in roles["layout"]["title"]  # the figure options' subtitle names the text box's text
    shares = np.stack([_array(trace["y"]) for trace in roles["data"]])  # [roles, layers]
    assert shares.shape == (6, 6)
    np.testing.assert_allclose(shares.sum(axis=0), 1.0, atol=1e-9)  # every head has one role per sentence


def _array(values) -> np.ndarray:
    """A plotly array from a chart spec (numpy arrays arrive base64-encoded)."""
    import base64

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(np.float64)
    return np.asarray(values, dtype=np.float64)


def test_bad_uploads_say_what_is_wrong_and_the_page_stays_usable():
    at = _corpus_page()
    for name, data, needle in (
        ("empty.txt", b"", "empty"),
        ("bytes.txt", b"\x00\x01\x02\xff" * 64, "binary"),
        ("latin.txt", "caf\xe9 au lait\n".encode("latin-1"), "UTF-8"),
        ("table.csv", b"sentence,label\nHello there.,1\n", "sentence"),
    ):
        _upload(at, name, data, "text/csv" if name.endswith("csv") else "text/plain")
        at.button(key="corpus_run").click().run()
        assert not at.exception, name
        assert any(needle in error.value for error in at.error), (name, [e.value for e in at.error])
    at.radio(key="corpus_source").set_value("sentences").run()
    at.number_input(key="corpus_limit").set_value(10).run()
    at.button(key="corpus_run").click().run()
    assert not at.exception and not at.error


def test_the_sample_pairs_run_as_pairs():
    at = _corpus_page()
    at.radio(key="corpus_source").set_value("pairs").run()
    at.number_input(key="corpus_limit").set_value(12).run()
    at.button(key="corpus_run").click().run()
    assert not at.exception and not at.error
    assert any("over 12 sentences of sample_pairs.tsv" in c.value for c in at.caption)
    assert any("‖" in text.value for text in at.text)  # a top "sentence" is shown with its pair


def test_a_result_stays_while_other_pages_are_visited():
    at = _corpus_page()
    at.number_input(key="corpus_limit").set_value(30).run()
    at.button(key="corpus_run").click().run()
    assert any("over 30 sentences of sample_corpus.txt" in c.value for c in at.caption)
    open_page(at, "sparse")
    assert not any("sample_corpus.txt" in c.value for c in at.caption)  # another page
    open_page(at, "corpus")
    assert not at.exception
    assert any("over 30 sentences of sample_corpus.txt" in c.value for c in at.caption)  # not run again: kept
    assert not any("Press *Analyse the corpus*" in c.value for c in at.caption)


def test_an_uploads_result_stays_named_after_the_upload_is_forgotten():
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()[:24]
    data = ("\n".join(lines) + "\n").encode()
    at = _upload(_corpus_page(), "mine.txt", data)
    at.button(key="corpus_run").click().run()
    assert any("over 24 sentences of mine.txt" in c.value for c in at.caption)
    open_page(at, "sparse")
    open_page(at, "corpus")
    assert not at.exception and not at.error
    assert at.radio(key="corpus_source").value == "upload"
    kept = [info.value for info in at.info if "mine.txt" in info.value]
    assert kept and f"({len(data) / 1024:.1f} kB)" in kept[0] and "kept while you visited other pages" in kept[0]
    assert any("over 24 sentences of mine.txt" in c.value for c in at.caption)
    assert at.dataframe and len(at.dataframe[0].value) == 72  # the whole result, its table included


def test_a_run_stopped_midway_leaves_its_partial_result_marked(monkeypatch):
    """A visitor who leaves the page while a run goes on stops the script (Streamlit raises
    StopException inside it); the partial result sent before that stays, marked partial."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    from models.corpus import engine
    from ui.pages import corpus as page

    def stopped_after_the_first_partial(loaded, source, options, progress=None, on_partial=None):
        def then_stop(result):
            on_partial(result)
            raise StopException()

        small = engine.CorpusOptions(batch_size=4, sort_batches=2, partial_every=2, limit=options.limit)
        return engine.run_corpus(loaded, source, small, progress=progress, on_partial=then_stop)

    monkeypatch.setattr(page, "run_corpus", stopped_after_the_first_partial)
    at = _corpus_page()
    at.number_input(key="corpus_limit").set_value(40).run()
    at.button(key="corpus_run").click().run()
    assert not at.exception
    at.run()  # the visitor's next interaction
    warnings = [w.value for w in at.warning if "partial result" in w.value]
    assert warnings and "stopped after 16 records" in warnings[0], [w.value for w in at.warning]
    assert any("over 16 sentences of sample_corpus.txt" in c.value for c in at.caption)


def test_a_too_long_text_in_the_box_does_not_block_the_corpus_page():
    at = AppTest.from_file(APP, default_timeout=600).run()
    at.text_area(key="text").set_value("word " * 9000).run()  # 45,000 characters: over the box's limit
    open_page(at, "corpus")
    assert not at.error  # the corpus page does not read the box
    at.number_input(key="corpus_limit").set_value(10).run()
    at.button(key="corpus_run").click().run()
    assert not at.exception and not at.error
    assert any("over 10 sentences of sample_corpus.txt" in c.value for c in at.caption)
    open_page(at, "sparse")  # a page that reads the box still says why it cannot
    assert any("40,000" in error.value for error in at.error), [e.value for e in at.error]


def test_the_corpus_page_draws_no_sentence_boxes_and_keeps_the_sentence():
    """The corpus run reads no text box, so the page draws neither box (the model picker stays);
    the text and the pair keep their values, and the text its place in the link, for the page
    visited next."""
    at = AppTest.from_file(APP, default_timeout=600).run()
    at.text_area(key="text").input("A sentence to keep.").run()
    at.text_input(key="pair").input("And its pair.").run()
    open_page(at, "corpus")
    assert not at.exception and not at.error
    assert not at.text_area and not [box for box in at.text_input if box.key == "pair"]
    assert not [picker for picker in at.selectbox if picker.key == "example"]
    assert at.selectbox(key="model").value == "minilm"
    assert _linked_text(at) == "A sentence to keep."
    at.number_input(key="corpus_limit").set_value(10).run()  # a rerun of the corpus page
    assert _linked_text(at) == "A sentence to keep."
    open_page(at, "sparse")
    assert not at.exception
    assert at.text_area(key="text").value == "A sentence to keep."
    assert at.text_input(key="pair").value == "And its pair."
    assert _linked_text(at) == "A sentence to keep."


def _linked_text(at: AppTest) -> str | None:
    value = at.query_params.get("text")
    return value[-1] if isinstance(value, list) else value
