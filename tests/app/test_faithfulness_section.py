"""App tier: the faithfulness table of the "What really moves" section (ui/mixing.py): on the
bare MiniLM (leave-one-out on the pooled sentence vector) and on a tiny classifier folder
(gradient×input and leave-one-out of the predicted class), ranked, with ρ recomputed in the
test from the model itself and scipy's Spearman; unticked through the link, it runs nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from app_runs import opened
from scipy.stats import spearmanr
from streamlit.testing.v1 import AppTest

from models.load.loading import embedded_model_path, load_model
from models.mixing.run import context_mixing

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "model"))
from tiny_encoders import save_bert_classifier

TIMEOUT = 240
SOUP = "The soup was warm, but the bread was stale and hard."
HEADING = "Which map to trust on this model"
LOO, GRADIENT = "ρ vs leave-one-out", "ρ vs gradient×input"
TABLE_TOL = 1e-4  # the table rounds ρ to 4 decimals


def _table(at: AppTest):
    frames = [frame.value for frame in at.dataframe if "measure" in frame.value.columns]
    assert len(frames) == 1, [list(frame.value.columns) for frame in at.dataframe]
    return frames[0]


def _content(tokens: list[str]) -> list[int]:
    return [k for k, token in enumerate(tokens) if token not in ("[CLS]", "[SEP]")]


def _rollout_row(folder: str, text: str, measure: str, reader: str) -> tuple[list[str], np.ndarray]:
    mixing = context_mixing(load_model(folder), text, None, (measure,))
    last = np.asarray(mixing.rollout[measure][-1], dtype=np.float64)
    return list(mixing.tokens), last[0] if reader == "cls" else last.mean(axis=0)


def test_bare_minilm_ranks_the_six_maps_against_pooled_leave_one_out():
    at = opened(TIMEOUT, text=SOUP)
    assert any(HEADING in markdown.value for markdown in at.markdown)
    table = _table(at)
    assert list(table.columns) == ["rank", "measure", LOO]  # no head: no gradient×input column
    assert list(table["rank"]) == [1, 2, 3, 4, 5, 6]
    rhos = list(table[LOO])
    assert rhos == sorted(rhos, reverse=True) and all(-1 <= rho <= 1 for rho in rhos)

    from transformers import AutoModel, AutoTokenizer

    folder = str(embedded_model_path())
    tokenizer, model = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).double().eval()
    ids = tokenizer(SOUP, return_tensors="pt")["input_ids"]
    tokens, row = _rollout_row(folder, SOUP, "alti", "mean")
    assert tokenizer.convert_ids_to_tokens(ids[0].tolist()) == tokens
    with torch.no_grad():
        full = model(input_ids=ids).last_hidden_state[0].mean(dim=0)
        drops = []
        for k in _content(tokens):
            pooled = model(input_ids=torch.cat([ids[:, :k], ids[:, k + 1 :]], dim=1)).last_hidden_state[0].mean(0)
            drops.append(1 - float(torch.nn.functional.cosine_similarity(full, pooled, dim=0)))
    expected = spearmanr(row[_content(tokens)], drops).statistic
    shown = float(table.loc[table["measure"] == "ALTI", LOO].iloc[0])
    assert shown == pytest.approx(expected, abs=TABLE_TOL)
    captions = " ".join(caption.value for caption in at.caption)
    assert "agrees best with the model" in captions and "Gradient×input needs a classification head" in captions


def test_unticked_through_the_link_it_shows_no_table():
    at = opened(TIMEOUT, text=SOUP, mix_faith="false")
    assert at.checkbox(key="mix_faith").value is False
    assert not [frame for frame in at.dataframe if "measure" in frame.value.columns]


def test_a_classifier_folder_ranks_by_its_gradients(tmp_path):
    from transformers import AutoTokenizer, BertForSequenceClassification

    folder = save_bert_classifier(tmp_path / "classifier")
    text = "the cat sat on the mat ."
    at = opened(TIMEOUT, dir=str(folder), text=text)
    table = _table(at)
    assert list(table.columns) == ["rank", "measure", GRADIENT, LOO]
    gradients = list(table[GRADIENT])
    assert gradients == sorted(gradients, reverse=True)

    tokenizer = AutoTokenizer.from_pretrained(folder)
    classifier = BertForSequenceClassification.from_pretrained(folder, attn_implementation="eager").eval()
    encoded = tokenizer(text, return_tensors="pt")
    ids, types = encoded["input_ids"], encoded["token_type_ids"]
    embeddings = classifier.get_input_embeddings()(ids).detach().requires_grad_(True)
    logits = classifier(inputs_embeds=embeddings, token_type_ids=types).logits[0]
    logits[int(logits.argmax())].backward()
    tokens, row = _rollout_row(str(folder), text, "globenc", "cls")
    content = _content(tokens)
    saliency = [float((embeddings.grad[0, k] * embeddings.detach()[0, k]).norm()) for k in content]
    expected = spearmanr(row[content], saliency).statistic
    shown = float(table.loc[table["measure"] == "GlobEnc", GRADIENT].iloc[0])
    assert shown == pytest.approx(expected, abs=TABLE_TOL)
    captions = " ".join(caption.value for caption in at.caption)
    assert "what the classifier reads" in captions


def test_a_long_input_says_why_it_is_not_ranked_and_runs_no_reruns():
    text = " ".join(["the quiet river runs past the old mill"] * 20)  # 160 words: > 128 content tokens
    at = opened(TIMEOUT, text=text)
    assert not [frame for frame in at.dataframe if "measure" in frame.value.columns]
    infos = " ".join(info.value for info in at.info)
    assert "content tokens: ranking the maps would rerun the model" in infos and "up to 128" in infos
