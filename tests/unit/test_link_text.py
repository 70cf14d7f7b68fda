"""The text's link value: a short text is written as it is, a long one compressed (and read
back unchanged), one too long even compressed is left out of the link."""

from __future__ import annotations

import base64
import random
import zlib
from urllib import parse

import pytest

from ui.state import LINK_TEXT_LIMIT, PACK_OVER, PACKED, LinkTextError, link_text, text_of_link

JAPANESE = ("猫がマットの上に座った。" * 2000)[:20_000]


def test_a_short_ascii_text_is_written_unchanged():
    text = "The cat sat on the mat because it was tired."
    assert link_text(text) == text
    assert text_of_link(text) == text


def test_a_long_japanese_text_is_packed_and_round_trips():
    assert len(JAPANESE) == 20_000
    assert len(parse.quote_plus(JAPANESE)) > 150_000  # as it is: the link the server refused
    value = link_text(JAPANESE)
    assert value is not None and value.startswith(PACKED)
    assert len(parse.quote_plus(value)) < 10_000  # well under the 60 kB limit
    assert text_of_link(value) == JAPANESE


def test_a_varied_text_near_the_limit_still_round_trips():
    text = "".join(chr(0x4E00 + (i * 7919) % 20_000) for i in range(20_000))  # barely compressible
    value = link_text(text)
    assert value is None or (len(value) <= LINK_TEXT_LIMIT and text_of_link(value) == text)


def test_a_value_just_past_pack_over_is_packed():
    short = "a" * PACK_OVER
    assert link_text(short) == short
    assert link_text(short + "a").startswith(PACKED)


def test_a_text_that_begins_like_a_packed_value_reads_back_unchanged():
    text = "z:not packed"
    value = link_text(text)
    assert value != text and text_of_link(value) == text


def test_a_text_too_long_even_compressed_is_left_out():
    noise = base64.b64encode(random.Random(0).randbytes(80_000)).decode()  # 106,668 characters that do not deflate
    assert link_text(noise) is None


@pytest.mark.parametrize(
    "value",
    [
        "z:!!!not base64",
        "z:" + base64.urlsafe_b64encode(b"not zlib").decode(),
        "z:" + base64.urlsafe_b64encode(zlib.compress(b"\xff\xfe")).decode(),
        "z:" + base64.urlsafe_b64encode(zlib.compress(b"x" * 2_000_000)).decode(),  # a zip bomb
    ],
)
def test_a_broken_packed_value_is_refused(value):
    with pytest.raises(LinkTextError):
        text_of_link(value)
