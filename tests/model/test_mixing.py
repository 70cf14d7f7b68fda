"""Context-mixing measures on a tiny random BERT in float64, against computations written here
with explicit loops over heads and tokens, from the model's own weights and outputs."""

import copy
import math

import numpy as np
import pytest
import torch
from tiny_families import SENTENCES
from tiny_float64 import tiny_loaded

from models.extract.attention import InputError
from models.extract.forward import run_forward
from models.load.loading import LoadedModel
from models.mixing import measures as M
from models.mixing.diagnosis import diagnose_mixing
from models.mixing.run import check_family, context_mixing, layer_states
from models.mixing.value_zeroing import noise_floor, one_minus_cos, value_zeroing, zeroed_outputs

TOL = 1e-8  # float64 model: engine and loops agree to rounding
EXACT = 1e-10  # the same tensors by two routes
PAIR = ("a small test .", "the cat sat on the mat .")


@pytest.fixture(scope="module")
def tiny():
    return tiny_loaded()


def _encoded(loaded, text, text_b=None):
    return loaded.tokenizer(text, text_b, return_tensors="pt")


def _reference_forward(model, encoded):
    """hidden states, attentions and each layer's real LayerNorm-1 output (a hook on the
    attention block's output), without going through the engine."""
    kept = []
    handles = [
        layer.attention.register_forward_hook(lambda _m, _i, out: kept.append(out[0][0].clone()))
        for layer in model.encoder.layer
    ]
    try:
        with torch.no_grad():
            out = model(**encoded, output_attentions=True, output_hidden_states=True)
    finally:
        for handle in handles:
            handle.remove()
    return out, kept


def _gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _reference_layer(layer, hidden, attention, global_rows=()):
    """Every measure's row-normalised [N, N] of one layer, by loops over heads and tokens.

    global_rows: Longformer's global queries, whose rows read `value_global`."""
    with torch.no_grad():
        return _reference_layer_loops(layer, hidden, attention, global_rows)


def _moved(projection, w_o, hidden, heads):
    """f_h(x_j) through one value projection: [H][N] vectors."""
    d = projection.weight.shape[0] // heads
    w_v, b_v = projection.weight, projection.bias
    return [
        [
            w_o[:, h * d : (h + 1) * d] @ (w_v[h * d : (h + 1) * d] @ hidden[j] + b_v[h * d : (h + 1) * d])
            for j in range(hidden.shape[0])
        ]
        for h in range(heads)
    ]


def _reference_layer_loops(layer, hidden, attention, global_rows=()):
    self_attn, attn_out = layer.attention.self, layer.attention.output
    heads, n = attention.shape[0], hidden.shape[0]
    w_o, b_o = attn_out.dense.weight, attn_out.dense.bias
    ln1, ln2 = attn_out.LayerNorm, layer.output.LayerNorm
    local = _moved(self_attn.value, w_o, hidden, heads)
    moved_global = _moved(self_attn.value_global, w_o, hidden, heads) if global_rows else None

    def moved_for(i):
        return moved_global if i in global_rows else local

    mixed = [[sum(attention[h, i, j] * moved_for(i)[h][j] for h in range(heads)) for j in range(n)] for i in range(n)]
    z = [[mixed[i][j] + (hidden[i] if i == j else 0.0) for j in range(n)] for i in range(n)]
    y = [sum(z[i]) + b_o for i in range(n)]

    def norm_fn(vector, scale, ln):
        return ln.weight * (vector - vector.mean()) / scale

    s1 = [torch.sqrt(y[i].var(unbiased=False) + ln1.eps) for i in range(n)]
    y_hat = [norm_fn(y[i], s1[i], ln1) + ln1.bias for i in range(n)]
    ffn = layer.intermediate.dense, layer.output.dense
    u = [y_hat[i] + ffn[1].weight @ _gelu(ffn[0].weight @ y_hat[i] + ffn[0].bias) + ffn[1].bias for i in range(n)]
    s2 = [torch.sqrt(u[i].var(unbiased=False) + ln2.eps) for i in range(n)]
    raw = {name: np.zeros((n, n)) for name in (*M.CHUNKED, "attention")}
    for i in range(n):
        for j in range(n):
            g = norm_fn(z[i][j], s1[i], ln1)
            raw["attention"][i, j] = float(sum(attention[h, i, j] for h in range(heads)) / heads)
            raw["attention_norm"][i, j] = float(torch.linalg.vector_norm(mixed[i][j]))
            raw["attention_norm_res"][i, j] = float(torch.linalg.vector_norm(z[i][j]))
            raw["attention_norm_res_ln"][i, j] = float(torch.linalg.vector_norm(g))
            raw["globenc"][i, j] = float(torch.linalg.vector_norm(norm_fn(g, s2[i], ln2)))
            gap = float(y_hat[i].abs().sum() - (y_hat[i] - g).abs().sum())
            raw["alti"][i, j] = max(0.0, gap)
    return {name: _normalised_rows(matrix) for name, matrix in raw.items()}, y_hat, u


def _normalised_rows(matrix):
    out = np.zeros_like(matrix)
    for i in range(matrix.shape[0]):
        out[i] = matrix[i] / sum(matrix[i])
    return out


def _reference_value_zeroing(model, encoded, layer_index, n, seq_first=False):
    """VZ of one layer: for each key j, hooks zero the value projections' output at j (both of
    Longformer's, whose projections are sequence-first), the model reruns, and 1 − cos
    (float64, naive is exact enough here) compares the layer outputs."""
    with torch.no_grad():
        base = model(**encoded, output_hidden_states=True).hidden_states[layer_index + 1][0]
    self_attn = model.encoder.layer[layer_index].attention.self
    values = [self_attn.value] + ([self_attn.value_global] if hasattr(self_attn, "value_global") else [])
    out = np.zeros((n, n))
    for j in range(n):

        def zero_key(_module, _inputs, output, j=j):
            output = output.clone()
            if seq_first:
                output[j] = 0
            else:
                output[:, j] = 0
            return output

        handles = [value.register_forward_hook(zero_key) for value in values]
        try:
            with torch.no_grad():
                changed = model(**encoded, output_hidden_states=True).hidden_states[layer_index + 1][0]
        finally:
            for handle in handles:
                handle.remove()
        for i in range(n):
            lengths = torch.linalg.vector_norm(base[i]) * torch.linalg.vector_norm(changed[i])
            cos = torch.dot(base[i], changed[i]) / lengths
            out[i, j] = float(1 - cos)
    return _normalised_rows(out)


def _reference_rollout(layers, residual):
    n = layers.shape[-1]
    current = np.eye(n)
    out = []
    for layer in layers:
        step = np.array(layer, dtype=np.float64)
        if not residual:
            step = 0.5 * step + 0.5 * np.eye(n)
            step = step / step.sum(axis=1, keepdims=True)
        current = np.array([[sum(step[i, k] * current[k, j] for k in range(n)) for j in range(n)] for i in range(n)])
        out.append(current)
    return np.stack(out)


@pytest.mark.parametrize("pair", [False, True], ids=["single", "pair"])
def test_every_measure_matches_loops(tiny, pair):
    text, text_b = PAIR if pair else (SENTENCES[2], None)
    result = context_mixing(tiny, text, text_b)
    encoded = _encoded(tiny, text, text_b)
    out, real_ln1 = _reference_forward(tiny.model, encoded)
    n = encoded["input_ids"].shape[1]
    assert len(result.tokens) == n and result.measures == M.MEASURES
    cls = [i for i, token in enumerate(result.tokens) if token == "[CLS]"]
    seps = [i for i, token in enumerate(result.tokens) if token == "[SEP]"]
    assert result.cls_positions == tuple(cls) and result.sep_positions == tuple(seps) and len(seps) == 1 + pair
    for index, layer in enumerate(tiny.model.encoder.layer):
        expected, y_hat, u = _reference_layer(layer, out.hidden_states[index][0], out.attentions[index][0])
        for i in range(n):  # the loops rebuild what the model computed
            assert torch.allclose(y_hat[i], real_ln1[index][i], atol=EXACT)
            ln2 = layer.output.LayerNorm
            assert torch.allclose(ln2(u[i]), out.hidden_states[index + 1][0][i], atol=EXACT)
        expected["value_zeroing"] = _reference_value_zeroing(tiny.model, encoded, index, n)
        for name in M.MEASURES:
            np.testing.assert_allclose(result.layers[name][index], expected[name], atol=TOL, rtol=0, err_msg=name)
    for name in M.MEASURES:
        layers = result.layers[name]
        residual = name not in M.WITHOUT_RESIDUAL
        np.testing.assert_allclose(result.rollout[name], _reference_rollout(layers, residual), atol=TOL, rtol=0)
        for index in range(layers.shape[0]):
            ratio = sum(1 - layers[index, i, i] for i in range(n)) / n
            to_cls = sum(layers[index, i, cls[0]] for i in range(n)) / n
            to_sep = sum(sum(layers[index, i, j] for j in seps) for i in range(n)) / n
            assert result.mixing_ratio[name][index] == pytest.approx(ratio, abs=TOL)
            assert result.to_cls[name][index] == pytest.approx(to_cls, abs=TOL)
            assert result.to_sep[name][index] == pytest.approx(to_sep, abs=TOL)
    for name in M.MEASURES:  # read-only results
        with pytest.raises(ValueError):
            result.layers[name][0, 0, 0] = 1.0


def _states(loaded, text):
    encoded = _encoded(loaded, text)
    forward = run_forward(loaded, dict(encoded), ("value", "value_input"), encoded["input_ids"].shape[1])
    return encoded, *layer_states(loaded, forward)


def test_alti_parts_resum_to_layernorm_output(tiny):
    encoded, states, _finishes = _states(tiny, SENTENCES[0])
    _out, real_ln1 = _reference_forward(tiny.model, encoded)
    n = encoded["input_ids"].shape[1]
    for state, real in zip(states, real_ln1):
        parts, bias = M.ln1_parts(state, range(n))  # [N, N, D], [N, D]
        assert parts.shape == (n, n, state.inputs.shape[1])
        assert torch.allclose(parts.sum(dim=1) + bias, real, atol=EXACT)
        assert float((parts.sum(dim=1) - real).abs().max()) > 1e-2  # the bias term matters


def test_value_zeroing_rerun_equals_zeroed_value_hook(tiny):
    encoded, states, finishes = _states(tiny, SENTENCES[1])
    n = encoded["input_ids"].shape[1]
    for index, (state, finish) in enumerate(zip(states, finishes)):
        batch = zeroed_outputs(state, finish, range(n))  # [N keys, N, D]
        with torch.inference_mode():
            baseline = finish(state.pre_ln1)
        value = tiny.model.encoder.layer[index].attention.self.value
        for j in (0, n // 2, n - 1):
            zero_key = lambda _m, _i, output, j=j: output.index_fill(1, torch.tensor([j]), 0.0)  # noqa: E731
            handle = value.register_forward_hook(zero_key)
            try:
                with torch.no_grad():
                    hooked = tiny.model(**encoded, output_hidden_states=True).hidden_states[index + 1][0]
            finally:
                handle.remove()
            assert torch.allclose(batch[j], hooked, atol=EXACT)
            assert float((hooked - baseline).abs().max()) > 1e-6  # zeroing changed it


def test_chunked_rows_and_keys_agree_with_one_chunk(tiny):
    _encoded_inputs, states, finishes = _states(tiny, SENTENCES[0])
    state, finish = states[1], finishes[1]
    whole = M.chunked_measures(state, M.CHUNKED)
    n, width = state.inputs.shape
    budget = 2 * n * width * 8  # two query rows per chunk
    assert len(M.row_chunks(n, width, 8, budget)) > 3
    pieces = M.chunked_measures(state, M.CHUNKED, budget=budget)
    for name in M.CHUNKED:
        assert torch.allclose(whole[name], pieces[name], atol=EXACT), name
    ffn = tiny.model.config.intermediate_size
    one = value_zeroing(state, finish, ffn)
    many = value_zeroing(state, finish, ffn, budget=3 * n * ffn * 8)
    np.testing.assert_allclose(one.matrix, many.matrix, atol=EXACT, rtol=0)


def test_stable_one_minus_cos_in_float32():
    generator = torch.Generator().manual_seed(5)
    a64 = torch.randn(64, 384, generator=generator, dtype=torch.float64)
    b64 = a64 + 3e-5 * torch.randn(64, 384, generator=generator, dtype=torch.float64)
    exact = 1 - torch.nn.functional.cosine_similarity(a64, b64, dim=-1)  # float64: ~4e-10, exact enough
    a32, b32 = a64.float(), b64.float()
    naive = 1 - torch.nn.functional.cosine_similarity(a32, b32, dim=-1)
    stable = one_minus_cos(a32, b32)
    truth = 1 - torch.nn.functional.cosine_similarity(a32.double(), b32.double(), dim=-1)
    assert float(exact.max()) < 1e-8  # far below float32's resolution of cos near 1 (6e-8)
    naive_error = float(((naive.double() - truth).abs() / truth).max())
    stable_error = float(((stable.double() - truth).abs() / truth).max())
    assert naive_error > 0.5  # rounding noise: cos rounds to 1 or to its neighbour
    assert stable_error < 1e-3


def test_rows_that_do_not_change_are_not_normalised(tiny):
    silent = copy.deepcopy(tiny.model)
    with torch.no_grad():
        for layer in silent.encoder.layer[:1]:  # layer 1 moves nothing: every f_h(x_j) = 0
            layer.attention.self.value.weight.zero_()
            layer.attention.self.value.bias.zero_()
    loaded = LoadedModel("tiny-silent", tiny.spec, silent, tiny.tokenizer, None)
    result = context_mixing(loaded, SENTENCES[1], measures=("attention", "value_zeroing"))
    n = len(result.tokens)
    assert result.unnormalised == tuple((0, row) for row in range(n))
    assert not result.layers["value_zeroing"][0].any()
    np.testing.assert_allclose(result.layers["value_zeroing"][1].sum(axis=-1), 1.0, atol=TOL)
    assert any("less than rounding" in str(d.message) for d in diagnose_mixing(result))


def test_noise_floor_scales_with_dtype():
    assert noise_floor(10, 32, torch.float32) > 1e6 * noise_floor(10, 32, torch.float64)
    assert noise_floor(10, 32, torch.float32) < 1e-8  # far below a real change


def test_sink_heads_on_a_hand_built_tensor():
    n = 5
    attention = np.full((1, 3, n, n), 1.0 / n)  # head 0: uniform, no sink
    attention[0, 1] = 0.0
    attention[0, 1, :, 0] = 1.0  # head 1: everything to key 0
    attention[0, 2] = np.eye(n) * 0.6 + 0.1  # head 2: rows sum to 1, key 3 gets 0.1·4/5 + 0.7/5 > …
    attention[0, 2, :, 3] += 0.3  # … and then more, so key 3 is the sink
    attention[0, 2] /= attention[0, 2].sum(axis=-1, keepdims=True)
    rate, keys = M.sink_heads(attention)
    assert keys[0].tolist() == [-1, 0, 3]
    assert rate[0] == pytest.approx(2 / 3)


def test_unsupported_families_are_refused():
    with pytest.raises(InputError, match="stay banded"):
        check_family(tiny_loaded("longformer"), dense=True)
    check_family(tiny_loaded("longformer"))  # banded measures
    with pytest.raises(InputError, match="support BERT"):
        check_family(tiny_loaded("distilbert"))
    check_family(tiny_loaded("roberta"))  # BERT-like layers: accepted


def test_roberta_family_runs(tiny):
    loaded = tiny_loaded("roberta")
    result = context_mixing(loaded, SENTENCES[1], measures=("attention", "alti"))
    assert result.tokens[0] == "<s>" and result.cls_positions == (0,)
    np.testing.assert_allclose(result.layers["alti"].sum(axis=-1), 1.0, atol=TOL)


def test_cli_json_equals_the_loops_on_a_saved_tiny_bert(tiny, tmp_path, capsys):
    """`cli.py mixing --format json` on a pair, read back against the loops above (1e-4)."""
    import json

    import cli

    tiny.model.save_pretrained(tmp_path)
    tiny.tokenizer.save_pretrained(tmp_path)
    text, text_b = PAIR
    code = cli.main(["mixing", text, "--pair", text_b, "--model", str(tmp_path), "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads(captured.out)
    encoded = _encoded(tiny, text, text_b)
    out, _real_ln1 = _reference_forward(tiny.model, encoded)
    n = encoded["input_ids"].shape[1]
    assert len(document["tokens"]) == n and set(document["measures"]) == set(M.MEASURES)
    expected = {name: [] for name in M.MEASURES}
    for index, layer in enumerate(tiny.model.encoder.layer):
        layers, _y_hat, _u = _reference_layer(layer, out.hidden_states[index][0], out.attentions[index][0])
        layers["value_zeroing"] = _reference_value_zeroing(tiny.model, encoded, index, n)
        for name in M.MEASURES:
            expected[name].append(layers[name])
    seps = [i for i, token in enumerate(document["tokens"]) if token == "[SEP]"]
    for name in M.MEASURES:
        entry, layers = document["measures"][name], np.stack(expected[name])
        np.testing.assert_allclose(entry["layers"], layers, atol=1e-4, rtol=0, err_msg=name)
        rollout = _reference_rollout(layers, name not in M.WITHOUT_RESIDUAL)
        np.testing.assert_allclose(entry["rollout"], rollout, atol=1e-4, rtol=0, err_msg=name)
        np.testing.assert_allclose(entry["to_cls"], layers[:, :, 0].mean(axis=1), atol=1e-4, rtol=0)
        np.testing.assert_allclose(entry["to_sep"], layers[:, :, seps].sum(-1).mean(axis=1), atol=1e-4, rtol=0)
        ratio = 1 - np.array([np.trace(layer) / n for layer in layers])
        np.testing.assert_allclose(entry["mixing_ratio"], ratio, atol=1e-4, rtol=0)


FLOAT32_SOFTMAX = 1e-6  # Longformer's softmax runs in float32 even in a float64 model: two passes may differ by an ulp


@pytest.fixture(scope="module")
def tiny_longformer():
    return tiny_loaded("longformer")


def _longformer_dense(out, index, n, global_positions):
    """Layer `index`'s [H, N, N] from Longformer's band and global rows, by loops."""
    band = out.attentions[index][0]  # [H, N, x + w + 1]
    heads, x = band.shape[0], len(global_positions)
    half = (band.shape[-1] - x - 1) // 2
    dense = torch.zeros((heads, n, n), dtype=band.dtype)
    for i in range(n):
        if i in global_positions:
            k = global_positions.index(i)
            dense[:, i, :] = out.global_attentions[index][0, :, :n, k]
            continue
        for k, g in enumerate(global_positions):
            dense[:, i, g] = band[:, i, k]
        for c in range(2 * half + 1):
            j = i - half + c
            if 0 <= j < n and j not in global_positions:
                dense[:, i, j] = band[:, i, x + c]
    return dense


@pytest.mark.parametrize(
    "pair, global_positions", [(False, None), (True, (0, 5))], ids=["single-cls", "pair-two-globals"]
)
def test_banded_longformer_equals_dense_loops(tiny_longformer, pair, global_positions):
    """Banded measures 1–7 on a tiny float64 Longformer (windows 4, 8, 4) against the dense loops
    over its rebuilt [N, N] attention, value_global for the global rows; the loops' LayerNorm-1
    output and layer output equal the model's own, so the decomposition is the model's."""
    loaded = tiny_longformer
    text, text_b = PAIR if pair else (SENTENCES[2], None)
    result = context_mixing(loaded, text, text_b, global_positions=global_positions)
    assert result.form == "banded" and result.measures == M.MEASURES
    globals_ = list(result.global_positions)
    assert globals_ == list(global_positions or (0,))
    encoded = _encoded(loaded, text, text_b)
    mask = torch.zeros_like(encoded["input_ids"])
    mask[0, globals_] = 1
    inputs = dict(encoded, global_attention_mask=mask)
    out, real_ln1 = _reference_forward(loaded.model, inputs)
    n = encoded["input_ids"].shape[1]
    assert len(result.tokens) == n and result.windows == (4, 8, 4)
    expected = {name: [] for name in M.MEASURES}
    for index, layer in enumerate(loaded.model.encoder.layer):
        attention = _longformer_dense(out, index, n, globals_)
        layers, y_hat, u = _reference_layer(layer, out.hidden_states[index][0], attention, tuple(globals_))
        for i in range(n):
            assert torch.allclose(y_hat[i], real_ln1[index][i], atol=EXACT)
            assert torch.allclose(layer.output.LayerNorm(u[i]), out.hidden_states[index + 1][0][i], atol=EXACT)
        layers["value_zeroing"] = _reference_value_zeroing(loaded.model, inputs, index, n, seq_first=True)
        for name in M.MEASURES:
            expected[name].append(layers[name])
            dense = result.layers[name][index].dense()
            np.testing.assert_allclose(dense, layers[name], atol=FLOAT32_SOFTMAX, rtol=0, err_msg=name)
    seps = list(result.sep_positions)
    assert len(seps) == (3 if pair else 1) and result.rollout_queries == tuple(globals_)  # </s></s> between
    for name in M.MEASURES:
        layers = np.stack(expected[name])
        rollout = _reference_rollout(layers, name not in M.WITHOUT_RESIDUAL)
        tol = FLOAT32_SOFTMAX
        np.testing.assert_allclose(result.rollout[name], rollout[:, globals_], atol=tol, rtol=0, err_msg=name)
        ratio = [1 - np.trace(layer) / n for layer in layers]
        np.testing.assert_allclose(result.mixing_ratio[name], ratio, atol=tol, rtol=0)
        np.testing.assert_allclose(result.to_cls[name], layers[:, :, 0].mean(axis=1), atol=tol, rtol=0)
        np.testing.assert_allclose(result.to_sep[name], layers[:, :, seps].sum(-1).mean(axis=1), atol=tol, rtol=0)
    dense_attention = np.stack([_longformer_dense(out, i, n, globals_).numpy() for i in range(len(out.attentions))])
    rates, keys = M.sink_heads(dense_attention)
    np.testing.assert_allclose(result.sink_rate, rates)
    np.testing.assert_array_equal(result.sink_keys, keys)
    with pytest.raises(ValueError):
        result.layers["alti"][0].band[0, 0] = 1.0


def test_banded_columns_agree_with_the_parts_route(tiny_longformer):
    """The local queries two ways inside the engine: one band column at a time from shifted
    per-key tables (Gram forms for the norms), and parts built row by row (`_rows`)."""
    from models.mixing import banded as B
    from models.mixing.run import banded_states, model_inputs

    loaded = tiny_longformer
    encoded = loaded.tokenizer(SENTENCES[2], return_tensors="pt")
    n = encoded["input_ids"].shape[1]
    forward = run_forward(loaded, model_inputs(loaded, encoded, (0,)), ("value", "value_input", "value_global"), n)
    state = banded_states(loaded, forward, (0,))[1]
    width = loaded.model.config.intermediate_size
    whole = B.banded_layer(state, M.MEASURES, width)
    few = B.banded_layer(state, M.MEASURES, width, budget=1)  # value zeroing one column at a time
    x, half = 1, 4
    rows = torch.arange(1, n)  # the local queries
    keys = torch.from_numpy(B.band_keys(n, half, (0,)))[1:]
    ok = torch.from_numpy(B.inside(keys.numpy(), n))
    ok[:, x:] &= keys[:, x:] != 0
    weights = state.band.permute(1, 2, 0)[1:] * ok[:, :, None]
    wanted = [name for name in M.MEASURES if name != "attention"]
    parts = B._rows(state, rows, keys.clamp(0, n - 1), weights, state.moved, x + half, wanted)
    for name in wanted:
        raw = parts[name].numpy() * ok.numpy()
        totals = raw.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(whole.matrices[name].band[1:], raw / totals, atol=EXACT, rtol=0, err_msg=name)
        np.testing.assert_allclose(whole.matrices[name].band, few.matrices[name].band, atol=EXACT, rtol=0)


def test_value_zeroing_on_a_long_longformer_input_is_refused_or_left_out(tiny_longformer, monkeypatch):
    from models.mixing import banded as B

    monkeypatch.setattr(B, "ZEROING_LIMIT", 8)
    with pytest.raises(
        InputError, match=r"Value zeroing on a Longformer input of \d+ tokens .* it runs up to 8 tokens"
    ):
        context_mixing(tiny_longformer, SENTENCES[2], measures=("alti", "value_zeroing"))
    result = context_mixing(tiny_longformer, SENTENCES[2])
    assert "value_zeroing" not in result.measures and len(result.measures) == 6
    assert any("Value zeroing was left out" in notice for notice in result.notices)


def test_global_tokens_on_a_dense_model_are_refused(tiny):
    with pytest.raises(InputError, match="Global tokens only apply"):
        context_mixing(tiny, SENTENCES[0], global_positions=(0,))


def test_cli_json_of_a_longformer_states_its_banded_form(tiny_longformer, tmp_path, capsys):
    """`cli.py mixing` on a saved tiny Longformer: the JSON says "banded" and its bands rebuild
    the engine's dense matrices; --global picks the global tokens."""
    import json

    import cli

    loaded = tiny_longformer
    loaded.model.save_pretrained(tmp_path)
    loaded.tokenizer.save_pretrained(tmp_path)
    code = cli.main(["mixing", SENTENCES[2], "--model", str(tmp_path), "--global", "0", "3", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads(captured.out)
    assert document["form"] == "banded" and document["global_positions"] == [0, 3]
    assert document["windows"] == [4, 8, 4] and document["rollout_queries"] == [0, 3]
    expected = context_mixing(loaded, SENTENCES[2], global_positions=(0, 3))
    n = len(document["tokens"])
    for name in M.MEASURES:
        entry = document["measures"][name]
        assert len(entry["layers"]) == 3 and np.shape(entry["rollout"]) == (3, 2, n)
        for index, layer in enumerate(entry["layers"]):
            assert np.shape(layer["band"]) == (n, 2 + expected.windows[index] + 1)
            np.testing.assert_allclose(layer["band"], expected.layers[name][index].band, atol=1e-6)
            np.testing.assert_allclose(layer["global_rows"], expected.layers[name][index].global_rows, atol=1e-6)
