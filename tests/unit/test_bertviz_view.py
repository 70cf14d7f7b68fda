"""bertviz views as safe, small, offline HTML documents (no model, no network)."""

import json
import re

import numpy as np
import pytest
from tiers import IN_CI

from viz.bertviz_view import ASSET_FILES, ASSETS_DIR, MAX_TOKENS, BertvizTooLarge, bertviz_html

EVIL = "</script><script>alert(1)</script>"
TOKENS = ["[CLS]", "dog", EVIL, "a&b", "[SEP]"]


def _attention(n_layers=2, n_heads=2, n_tokens=len(TOKENS), seed=0):
    rng = np.random.default_rng(seed)
    weights = rng.random((n_layers, n_heads, n_tokens, n_tokens)).astype(np.float32)
    weights /= weights.sum(axis=-1, keepdims=True)
    layers = [layer.copy() for layer in weights]
    for layer in layers:
        layer.setflags(write=False)
    return tuple(layers)


def _params(html):
    """The params object bertviz embeds after `const params = `."""
    start = html.index("const params = ") + len("const params = ")
    params, _ = json.JSONDecoder().raw_decode(html, start)
    return params


def _assets_present():
    return all((ASSETS_DIR / name).is_file() for name in ASSET_FILES)


@pytest.mark.parametrize("view", ["head", "model"])
@pytest.mark.parametrize("sentence_b_start", [None, 3])
def test_token_cannot_close_the_script(view, sentence_b_start, tmp_path):
    # without inlined libraries (their source mentions "<script" in strings) to count tags
    html, _ = bertviz_html(_attention(), TOKENS, view=view, sentence_b_start=sentence_b_start, assets_dir=tmp_path)
    assert "</script><script>alert(1)" not in html
    assert "<script>alert" not in html
    assert "a&b" not in html
    escaped = "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"
    assert escaped in html and "a\\u0026b" in html
    assert EVIL in _params(html)["attention"][0]["left_text"]  # the JS still sees the real token
    # every <script ...> has exactly one </script>: nothing was closed early
    assert len(re.findall(r"<script\b", html)) == html.count("</script>")


def test_document_is_a_full_page():
    html, _ = bertviz_html(_attention(), TOKENS)
    assert html.lstrip().startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "background:#ffffff" in html


def test_rounding_shrinks_and_keeps_three_decimals(tmp_path):
    attention = _attention(n_tokens=40, n_heads=4)
    tokens = [f"t{i}" for i in range(40)]
    rounded, _ = bertviz_html(attention, tokens, decimals=3, assets_dir=tmp_path)
    baseline, _ = bertviz_html(attention, tokens, decimals=None, assets_dir=tmp_path)
    assert len(rounded) < 0.6 * len(baseline)
    values = np.array(_params(rounded)["attention"][0]["attn"])
    assert values.shape == (2, 4, 40, 40)
    np.testing.assert_allclose(values, np.stack(attention), atol=5e-4 + 1e-7)
    segment = rounded[rounded.index("const params = ") :]
    segment = segment[: segment.index("\n")]
    numbers = re.findall(r"(?<![\w.])\d+\.(\d+)", segment)
    assert numbers and max(len(digits) for digits in numbers) <= 3


def test_params_json_appears_once():
    """bertviz also pastes the JSON into a `// PYTHON_PARAMS` comment; that copy is dropped."""
    html, _ = bertviz_html(_attention(), TOKENS)
    assert html.count('"left_text"') == 1


def test_over_the_cap_raises():
    n = MAX_TOKENS + 1
    with pytest.raises(BertvizTooLarge, match=rf"{n}.*{MAX_TOKENS}") as caught:
        bertviz_html(_attention(n_layers=1, n_heads=1, n_tokens=n), [f"t{i}" for i in range(n)])
    assert isinstance(caught.value, ValueError)


def test_at_the_cap_is_fine():
    n = MAX_TOKENS
    html, _ = bertviz_html(_attention(n_layers=1, n_heads=1, n_tokens=n), [f"t{i}" for i in range(n)])
    assert len(_params(html)["attention"][0]["left_text"]) == n


@pytest.mark.parametrize("view", ["head", "model"])
def test_layers_restricts(view):
    html, _ = bertviz_html(_attention(n_layers=3), TOKENS, view=view, layers=[0])
    params = _params(html)
    assert params["include_layers"] == [0]
    assert len(params["attention"][0]["attn"]) == 1
    html, _ = bertviz_html(_attention(n_layers=3), TOKENS, view=view, layers=[2, 1])
    assert _params(html)["include_layers"] == [2, 1]


@pytest.mark.parametrize("layers", [[], [3], [-1]])
def test_bad_layers_rejected(layers):
    with pytest.raises(ValueError):
        bertviz_html(_attention(n_layers=3), TOKENS, layers=layers)


def test_bad_view_and_shape_rejected():
    with pytest.raises(ValueError):
        bertviz_html(_attention(), TOKENS, view="neuron")
    with pytest.raises(ValueError):
        bertviz_html(_attention(), TOKENS[:-1])


def test_inputs_untouched():
    attention = _attention()
    before = [layer.copy() for layer in attention]
    bertviz_html(attention, TOKENS)
    for layer, copy in zip(attention, before):
        np.testing.assert_array_equal(layer, copy)


@pytest.mark.parametrize("view", ["head", "model"])
def test_assets_inlined_offline(view):
    if not _assets_present():
        message = f"bertviz assets missing in {ASSETS_DIR}: run scripts/fetch_bertviz_assets.sh"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    html, offline = bertviz_html(_attention(), TOKENS, view=view)
    assert offline is True
    assert "cdnjs" not in html
    assert not re.search(r"<script[^>]*\bsrc=", html)
    shim = html.index("define('jquery'")  # after the three inlined libraries
    assert "define('d3'" in html
    assert "require.config" not in html[shim:]  # the CDN paths for d3 and jquery are gone
    assert not re.search(r"['\"]https?://", html[shim:])  # no quoted URL left in bertviz's own JS
    assert "<script>alert" not in html


def test_missing_assets_fall_back_to_cdn(tmp_path):
    html, offline = bertviz_html(_attention(), TOKENS, assets_dir=tmp_path)
    assert offline is False
    assert "cdnjs.cloudflare.com" in html
    assert "</script><script>alert(1)" not in html  # escaping does not depend on the assets
