"""Exports looked at as pictures: the SVG drawn in Chromium with every label's box measured,
PNG sizes and borders decoded, PDF text located on the page, from the app's export
builders and from `cli.py plot`."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from png_edges import border_is_white
from tiers import IN_CI, ROOT

SENTENCE_20 = "The quick brown fox jumps over the lazy dog while a curious cat watches from the wall ."


def _attention(n: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    weights = rng.random((n, n)) + 0.01
    return weights / weights.sum(axis=1, keepdims=True)


def _tokens(n: int, long_word: str = "word") -> list[str]:
    return ["[CLS]"] + [f"{long_word}{i}" for i in range(n - 2)] + ["[SEP]"]


def _special(n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[[0, -1]] = True
    return mask


def label_boxes(browser, svg: bytes) -> tuple[dict, list[dict]]:
    """Draw the SVG in Chromium; return its canvas box and each tick label's text and box."""
    page = browser.new_page()
    page.set_content(f"<html><body style='margin:0'>{svg.decode('utf-8')}</body></html>")
    canvas = page.evaluate(
        "() => { const r = document.querySelector('svg').getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; }"
    )
    labels = page.evaluate(
        "() => [...document.querySelectorAll('g.xtick text, g.ytick text')].map(t => {"
        " const r = t.getBoundingClientRect();"
        " return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })"
    )
    page.close()
    return canvas, labels


def assert_all_inside(canvas: dict, labels: list[dict], expected: list[str]) -> None:
    texts = [label["text"] for label in labels]
    for token in expected:
        assert token in texts, f"label {token!r} is missing"
    for label in labels:
        assert label["right"] > label["left"], label  # drawn, with a width
        assert canvas["x"] - 0.5 <= label["left"] and label["right"] <= canvas["x"] + canvas["width"] + 0.5, label
        assert canvas["y"] - 0.5 <= label["top"] and label["bottom"] <= canvas["y"] + canvas["height"] + 0.5, label


def _png(data: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("RGB")


def test_head_svg_has_every_token_label_inside_the_canvas(browser):
    from viz import export, heatmaps
    from viz.labels import token_labels

    tokens = _tokens(20, "extraordinarily")
    fig = heatmaps.head_heatmap(_attention(20), tokens, _special(20), title="Layer 3, head 4")
    canvas, labels = label_boxes(browser, export.figure_image(fig, "svg"))
    expected = token_labels(tokens)
    assert_all_inside(canvas, labels, expected)
    assert sum(label["text"] in expected for label in labels) == 2 * 20  # every token on both axes


@pytest.mark.parametrize("kind", ["compare", "grid", "pooled", "mask"])
def test_other_token_figures_keep_their_labels_inside(browser, kind):
    from models.extract import banded
    from viz import export, heatmaps
    from viz import sparse as sparse_figures
    from viz.labels import token_labels

    n = 20
    tokens = _tokens(n, "longishword")
    if kind == "compare":
        fig = heatmaps.compare_heads(_attention(n), _attention(n).T.copy(), tokens, "L1 H1", "L2 H2")
    elif kind == "grid":
        fig = heatmaps.layer_grid(np.stack([_attention(n)] * 12), tokens, title="Layer 1")
    elif kind == "mask":
        fig = sparse_figures.mask_figure(np.eye(n, dtype=bool), tokens, (0,), title="local window")
    else:
        big = _tokens(1200, "w")
        pooled, edges = banded.pooled(_attention(1200)[None], 0)
        fig = sparse_figures.pooled_heatmap(pooled, edges, edges, big, title="pooled")
        tokens = None
    canvas, labels = label_boxes(browser, export.figure_image(fig, "svg"))
    expected = token_labels(tokens, (0,) if kind == "mask" else ()) if tokens else []
    assert labels, "no tick labels drawn"
    assert_all_inside(canvas, labels, expected)


def test_png_size_grows_with_tokens_and_label_length():
    from viz import export, heatmaps

    sizes = {}
    for n, word in ((8, "w"), (20, "w"), (20, "extraordinarily")):
        fig = heatmaps.head_heatmap(_attention(n), _tokens(n, word), _special(n), title=f"{n} tokens")
        image = _png(export.figure_image(fig, "png", scale=1))
        assert image.size == (fig.layout.width, fig.layout.height)
        assert border_is_white(image), (n, word)
        sizes[(n, word)] = image.size
    assert sizes[(20, "w")][0] > sizes[(8, "w")][0] and sizes[(20, "w")][1] > sizes[(8, "w")][1]
    assert sizes[(20, "extraordinarily")][0] > sizes[(20, "w")][0]  # a wider left margin for longer labels
    scaled = _png(export.figure_image(heatmaps.head_heatmap(_attention(8), _tokens(8), _special(8)), "png", scale=2))
    assert scaled.size == (2 * sizes[(8, "w")][0], 2 * sizes[(8, "w")][1])


def test_above_128_tokens_labels_thin_out_evenly_and_the_figure_says_so():
    from viz import heatmaps

    n = 300
    fig = heatmaps.head_heatmap(_attention(n), _tokens(n), _special(n), title="long")
    ticks = list(fig.layout.xaxis.tickvals)
    assert len(ticks) <= 128
    steps = {int(b.split("·")[0]) - int(a.split("·")[0]) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1  # evenly spaced
    assert f"labels show every {steps.pop()}" in fig.layout.title.text


def test_cli_plot_png_svg_and_pdf_show_every_token(browser, tmp_path):
    from models.extract.attention import extract
    from models.load.loading import load_model

    tokens = extract(load_model("minilm"), SENTENCE_20).tokens
    assert len(tokens) == 20
    for fmt in ("svg", "png", "pdf"):
        out = tmp_path / f"head.{fmt}"
        done = subprocess.run(
            [
                sys.executable,
                "cli.py",
                "plot",
                SENTENCE_20,
                "--layer",
                "3",
                "--head",
                "4",
                "--format",
                fmt,
                "-o",
                str(out),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        data = out.read_bytes()
        if fmt == "svg":
            canvas, labels = label_boxes(browser, data)
            assert_all_inside(canvas, labels, [f"{i}·{token}" for i, token in enumerate(tokens)])
            assert "Layer 3, head 4" in data.decode()
        elif fmt == "png":
            image = _png(data)
            assert image.size[0] > 400 and border_is_white(image)
        else:
            assert data.startswith(b"%PDF")
            _check_pdf_text(out, tokens)


def _check_pdf_text(path: Path, tokens) -> None:
    """pdftotext (poppler) finds every label on the page, inside its box."""
    if shutil.which("pdftotext") is None:
        if IN_CI:
            pytest.fail("pdftotext is missing: install the Debian package poppler-utils", pytrace=False)
        return
    import re

    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    page = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', html)
    width, height = float(page.group(1)), float(page.group(2))
    words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)
    for x0, y0, x1, y1, _word in words:
        assert 0 <= float(x0) <= float(x1) <= width and 0 <= float(y0) <= float(y1) <= height
    found = " ".join(word for *_box, word in words)
    for token in tokens:
        assert token.replace("[", "").replace("]", "") in found.replace("[", "").replace("]", ""), token


def test_line_chart_export_draws_each_line_in_its_own_colour():
    """In the app's process streamlit is imported, and its default template's colours are
    placeholders: the exported lines came out black.  Each line must show its own hue."""
    import colorsys

    import streamlit  # noqa: F401  (as in the app)

    from viz import export
    from viz.window_sweep import score_lines

    scores = {"cls": np.array([0.1, 0.2, 0.3]), "sep": np.array([0.3, 0.2, 0.1]), "diagonal": np.array([0.5, 0.5, 0.6])}
    pixels = np.asarray(_png(export.figure_image(score_lines(["dense", "64", "32"], scores), "png", scale=1)))
    hues = set()
    for red, green, blue in pixels.reshape(-1, 3)[::3]:
        hue, saturation, value = colorsys.rgb_to_hsv(red / 255, green / 255, blue / 255)
        if saturation > 0.5 and value > 0.4:
            hues.add(round(hue * 12) % 12)  # twelve hue sectors
    assert len(hues) >= 3, f"only {len(hues)} hue(s) among the lines"
