"""Japanese figure text in PNG/SVG exports is drawn with real glyphs, not tofu boxes.

A character no installed font has is drawn as the same empty box (the .notdef glyph) whatever
it is, so two different titles made of missing characters render pixel for pixel alike.  That
gives a check that needs no reference image: the Private Use Area characters below (no font
has them) must render alike, which proves the method sees tofu, and every Japanese title and
character must render unlike the others and unlike that box.  Debian's Chromium has no CJK
font by default: `make browser` installs fonts-noto-cjk.  With CI=true a missing font fails.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from tiers import IN_CI

from viz import export
from viz.heatmaps import head_heatmap

TOKENS = ["[CLS]", "猫", "が", "マット", "の", "上", "に", "座っ", "た", "。", "[SEP]"]
TITLE = "第3層・ヘッド4のアテンション"
OTHER_TITLE = "第5層・ヘッド2のアテンション"
CHARACTERS = "猫座上がっ"
MISSING = ("\ue000\ue001\ue002", "\ue010\ue011\ue012")  # Private Use Area: in no font


def _japanese_font_installed() -> bool:
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(["fc-list", ":lang=ja", "family"], capture_output=True, text=True, timeout=60)
    return bool(listed.stdout.strip())


@pytest.fixture(scope="module", autouse=True)
def japanese_font():
    if not _japanese_font_installed():
        message = "no Japanese font for Chromium: install the Debian package fonts-noto-cjk (make browser)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def _heatmap(title: str):
    n = len(TOKENS)
    weights = np.full((n, n), 1.0 / n)
    special = np.array([token in ("[CLS]", "[SEP]") for token in TOKENS])
    return head_heatmap(weights, TOKENS, special, title=title)


def _pixels(fig) -> np.ndarray:
    """The PNG export as grey levels [height, width]."""
    return np.asarray(Image.open(io.BytesIO(export.figure_image(fig, "png", scale=1))).convert("L"))


def _title_only(text: str):
    import plotly.graph_objects as go

    return go.Figure(
        layout=dict(
            title=dict(text=text, font=dict(size=40)),
            width=300,
            height=120,
            margin=dict(t=90, b=5, l=5, r=5),
            paper_bgcolor="white",
            plot_bgcolor="white",
            xaxis=dict(visible=False),
            yaxis=dict(visible=False),
        )
    )


def test_the_method_sees_tofu():
    """Two titles of characters no font has: the same boxes, the same pixels."""
    first, second = (_pixels(_title_only(text)) for text in MISSING)
    assert (first < 128).any(), "the boxes were not drawn at all"
    assert np.array_equal(first, second)


def test_japanese_titles_and_labels_are_drawn_as_glyphs():
    """The app's head heatmap with a Japanese title: another title changes the pixels (tofu would
    not), and the SVG carries the title and the Japanese tick labels as text."""
    image, other = _pixels(_heatmap(TITLE)), _pixels(_heatmap(OTHER_TITLE))
    assert image.shape == other.shape
    differing = np.argwhere(image != other)
    assert differing.size, "two different Japanese titles rendered alike: the glyphs are tofu"
    assert differing[:, 0].max() < image.shape[0] // 4, "only the title should differ"
    svg = export.figure_image(_heatmap(TITLE), "svg").decode("utf-8")
    assert TITLE in svg
    for token in ("猫", "マット", "座っ"):
        assert f"·{token}<" in svg  # tick labels read "1·猫"


def test_every_character_has_its_own_glyph():
    """Single characters: pairwise different, and none looks like the missing-glyph box."""
    box = _pixels(_title_only(MISSING[0][0]))
    glyphs = [_pixels(_title_only(char)) for char in CHARACTERS]
    for index, glyph in enumerate(glyphs):
        assert (glyph < 128).sum() > 20, f"{CHARACTERS[index]} left no ink"
        assert not np.array_equal(glyph, box), f"{CHARACTERS[index]} is drawn as the missing-glyph box"
        for other_index in range(index):
            assert not np.array_equal(glyph, glyphs[other_index]), (CHARACTERS[index], CHARACTERS[other_index])
