"""Japanese input through the real BertJapaneseTokenizer (MeCab via fugashi + unidic-lite) and a
tiny random BERT saved with it: tokens, spans, special positions, MeCab words, the [UNK] share."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_encoders import tiny_config
from transformers import AutoTokenizer, BertConfig, BertJapaneseTokenizer, BertModel

from models.compare.alignment import rebuilt_layout, word_pieces
from models.extract.attention import extract
from models.load.loading import ModelLoadError, load_model
from models.load.registry import REGISTRY
from models.score.words import result_words

pytest.importorskip("fugashi")
pytest.importorskip("unidic_lite")

SENTENCE = "猫がマットの上に座った。"
VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "猫",
    "が",
    "マット",
    "の",
    "上",
    "に",
    "座",
    "##っ",
    "た",
    "。",
    "犬",
    "走",
    "##る",
]
ROW_TOL = 1e-5


def _save(folder, vocab: list[str]) -> None:
    """A 2-layer random BERT with a MeCab + WordPiece tokenizer over `vocab`, saved in `folder`."""
    source = folder / "vocab-source.txt"
    source.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertJapaneseTokenizer(
        str(source),
        word_tokenizer_type="mecab",
        subword_tokenizer_type="wordpiece",
        mecab_kwargs={"mecab_dic": "unidic_lite"},
    )
    config = tiny_config(BertConfig, seed=0, max_positions=256, vocab_size=len(vocab), num_hidden_layers=2)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    source.unlink()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A local model folder: a 2-layer random BERT and a MeCab + WordPiece tokenizer."""
    folder = tmp_path_factory.mktemp("tiny-japanese")
    _save(folder, VOCAB)
    return folder


@pytest.fixture(scope="module")
def loaded(folder):
    return load_model(str(folder))


def test_the_folder_loads_the_python_mecab_tokenizer(loaded):
    tokenizer = loaded.tokenizer
    assert type(tokenizer).__name__ == "BertJapaneseTokenizer" and not tokenizer.is_fast
    assert type(tokenizer.word_tokenizer).__name__ == "MecabTokenizer"
    assert tokenizer.tokenize(SENTENCE) == ["猫", "が", "マット", "の", "上", "に", "座", "##っ", "た", "。"]


def test_the_python_tokenizer_reports_no_offsets_so_extraction_rebuilds_them(loaded):
    """transformers 5.23 drops return_offsets_mapping for this tokenizer (or may refuse it)."""
    try:
        encoding = loaded.tokenizer(SENTENCE, return_offsets_mapping=True)
    except NotImplementedError:
        return
    assert "offset_mapping" not in encoding
    with pytest.raises(ValueError):
        encoding.word_ids(0)


def test_tokens_spans_and_special_positions(loaded):
    result = extract(loaded, SENTENCE)
    assert result.tokens == ("[CLS]", "猫", "が", "マット", "の", "上", "に", "座", "##っ", "た", "。", "[SEP]")
    assert result.cls_positions == (0,) and result.sep_positions == (11,)
    assert result.special_mask.tolist() == [True] + [False] * 10 + [True]
    assert result.spans[0] == result.spans[-1] == (0, 0)
    words = ["猫", "が", "マット", "の", "上", "に", "座", "っ", "た", "。"]
    assert [SENTENCE[start:end] for start, end in result.spans[1:-1]] == words
    assert result.segment_ids == (0,) * 12
    assert result.unk_share == 0.0 and result.notices == ()
    attention = result.attention
    assert attention.shape == (2, 4, 12, 12)
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=ROW_TOL)


def test_mecab_words_group_the_pieces(loaded):
    result = extract(loaded, SENTENCE)
    assert result.word_ids == (None, 0, 1, 2, 3, 4, 5, 6, 6, 7, 8, None)
    words = result_words(result)
    assert words.labels == ("[CLS]", "猫", "が", "マット", "の", "上", "に", "座っ", "た", "。", "[SEP]")
    assert words.groups[7] == (7, 8)


def test_pair_segments_token_types_and_spans_into_the_second_text(loaded):
    second = "犬が走る。"
    result = extract(loaded, SENTENCE, second)
    assert result.tokens[12:] == ("犬", "が", "走", "##る", "。", "[SEP]")
    assert result.sep_positions == (11, 17)
    assert result.segment_ids == (0,) * 12 + (1,) * 6
    assert [second[start:end] for start, end in result.spans[12:17]] == ["犬", "が", "走", "る", "。"]
    assert result.word_ids[12:17] == (0, 1, 2, 2, 3)
    types = loaded.tokenizer(SENTENCE, second, return_token_type_ids=True)["token_type_ids"]
    assert types == [0] * 12 + [1] * 6  # the model gets the pair's segments


def test_width_variants_and_unknown_words_keep_their_spans(loaded):
    text = "ﾈｺがﾏｯﾄの上に座った。"  # half-width katakana: MeCab sees NFKC ネコ, マット
    result = extract(loaded, text)
    pieces = {result.tokens[k]: text[start:end] for k, (start, end) in enumerate(result.spans) if k}
    assert pieces["マット"] == "ﾏｯﾄ"
    assert "[UNK]" in result.tokens  # ネコ is not in the tiny vocabulary
    unknown = result.tokens.index("[UNK]")
    assert text[slice(*result.spans[unknown])] == "ﾈｺ"


def test_unk_share_names_the_share_and_suggests_a_japanese_model(loaded):
    result = extract(loaded, "吾輩は猫である。名前はまだ無い。")
    assert result.unk_share >= 0.2
    assert len(result.notices) == 1
    assert (result.notices[0].kind, result.notices[0].level) == ("vocabulary", "warning")  # typed, not by its text
    notice = str(result.notices[0])
    assert f"{result.unk_share:.0%}" in notice and "[UNK]" in notice and "bert-base-japanese-v3" in notice


def test_rebuilt_layout_falls_back_when_the_pieces_disagree(loaded):
    """Ids that the rebuilt pieces do not reproduce: each token its own word, empty spans."""
    tokenizer = loaded.tokenizer
    ids = tokenizer(SENTENCE)["input_ids"]
    wrong = [ids[0], ids[2], ids[1], *ids[3:]]
    layout = rebuilt_layout(tokenizer, wrong, [True] + [False] * 10 + [True], (SENTENCE, None))
    assert layout.word_ids[1:-1] == tuple(range(10))
    assert set(layout.offsets) == {(0, 0)}
    assert [piece.word for piece in word_pieces(tokenizer, SENTENCE)] == [0, 1, 2, 3, 4, 5, 6, 6, 7, 8]


def test_fast_tokenizers_keep_their_own_layout():
    """minilm's fast tokenizer: one CJK character per word, spans from its own offsets."""
    from models.load.loading import embedded_model_path

    tokenizer = AutoTokenizer.from_pretrained(str(embedded_model_path()))
    encoding = tokenizer("上に座", return_offsets_mapping=True)
    assert tokenizer.is_fast and encoding.word_ids(0) == [None, 0, 1, 2, None]


def test_registry_entry_fails_offline_with_the_plain_message():
    spec = REGISTRY["bert-base-japanese-v3"]
    assert spec.hub_id == "cl-tohoku/bert-base-japanese-v3" and spec.family == "bert"
    with pytest.raises(ModelLoadError) as caught:
        load_model("bert-base-japanese-v3")
    message = str(caught.value)
    assert "cl-tohoku/bert-base-japanese-v3" in message and "not reachable" in message
    assert len(message.splitlines()) == 1


JAPANESE_EXAMPLES = ("ja-cat", "ja-bookshop", "ja-request", "ja-question", "ja-entailment", "ja-passage")


@pytest.fixture(scope="module")
def examples_model(tmp_path_factory, loaded):
    """A vocabulary made from the examples' own MeCab words, each longer word split into its
    first character and a "##" rest, so every example tokenises without [UNK] into real pieces."""
    from models.examples import example

    words = set()
    for key in JAPANESE_EXAMPLES:
        chosen = example(key)
        for text in (chosen.text, chosen.text_b):
            if text:
                words.update(loaded.tokenizer.word_tokenizer.tokenize(text))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for word in sorted(words):
        vocab += [word[0], "##" + word[1:]] if len(word) > 1 else [word]
    folder = tmp_path_factory.mktemp("examples-japanese")
    _save(folder, list(dict.fromkeys(vocab)))
    return load_model(str(folder))


@pytest.mark.parametrize("key", JAPANESE_EXAMPLES)
def test_japanese_examples_align_piece_by_piece(examples_model, key):
    """The app's Japanese examples: every piece's span holds exactly that piece, in reading
    order, and the pieces of each MeCab word form one word of the word-level view."""
    from models.examples import example

    chosen = example(key)
    result = extract(examples_model, chosen.text, chosen.text_b)
    assert "[UNK]" not in result.tokens and result.unk_share == 0.0
    texts = (chosen.text, chosen.text_b)
    previous_end = {0: 0, 1: 0}
    for k, token in enumerate(result.tokens):
        if result.special_mask[k]:
            continue
        segment = result.segment_ids[k]
        start, end = result.spans[k]
        assert start >= previous_end[segment], (token, result.spans[k])
        assert texts[segment][start:end] == token.removeprefix("##"), (token, result.spans[k])
        previous_end[segment] = end
    words = result_words(result)
    surfaces = [w for text in texts if text for w in examples_model.tokenizer.word_tokenizer.tokenize(text)]
    assert [label for label in words.labels if label not in ("[CLS]", "[SEP]")] == surfaces
