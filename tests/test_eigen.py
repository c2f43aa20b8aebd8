"""The eigenvalue task: tokenizers, metric, beam search, and a tiny collapse-and-rescue loop."""

import itertools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from collapse.errors import ConfigError
from collapse.nn import seq2seq as s2s
from collapse.tasks.eigen import EigenTask, eigenvalues, is_correct, relative_error
from collapse.tasks.numbers import EOS, NumberTokenizer, round3
from experiments.eigen.loop import EigenExperiment, run
from experiments.eigen.loop import select as select_rule

TOKENIZERS = [NumberTokenizer("p1000"), NumberTokenizer("fp15")]
floats8 = st.lists(st.floats(-9000, 9000, allow_nan=False, allow_subnormal=False), min_size=8, max_size=8)


@pytest.mark.parametrize("tok", TOKENIZERS, ids=lambda t: t.kind)
@given(values=floats8)
def test_round_trip_is_3_significant_digits(tok, values):
    x = np.array([values])
    back = tok.decode(tok.encode(x), 8)
    s, m, e = round3(x)
    tiny = np.abs(x) < 100 * 10.0**tok.e_min
    expected = np.where(tiny, 0.0, s * m * 10.0**e)
    np.testing.assert_array_equal(back, expected)
    big = ~tiny
    assert np.all(np.abs(back[big] - x[big]) <= 0.005 * np.abs(x[big]) * (1 + 1e-12))  # half a unit in digit 3
    assert np.all((m[big] >= 100) & (m[big] <= 999))


@pytest.mark.parametrize("tok", TOKENIZERS, ids=lambda t: t.kind)
def test_valid_tokens_survive_decode_encode(tok):
    rng = np.random.default_rng(0)
    x = rng.uniform(-50, 50, (200, 5)) * 10.0 ** rng.integers(-3, 2, (200, 5))
    tokens = tok.encode(x)
    np.testing.assert_array_equal(tok.encode(tok.decode(tokens, 5)), tokens)


def test_undecodable_is_nan_and_wrong():
    task = EigenTask(n=3)
    lam = np.array([[5.0, 1.0, -2.0]])
    good = task.tgt_tokens(lam)
    assert np.isfinite(task.decode(good)).all()
    swapped = good.copy()
    swapped[0, [0, 1]] = swapped[0, [1, 0]]  # mantissa where a sign belongs
    no_eos = good.copy()
    no_eos[0, -1] = good[0, 0]
    early_eos = good.copy()
    early_eos[0, 3] = EOS
    for bad in (swapped, no_eos, early_eos):
        pred = task.decode(bad)
        assert np.isnan(pred).all()
        assert not is_correct(pred, lam, 0.05).any()
    # Decoding under jit with jax.numpy agrees with NumPy.
    jitted = jax.jit(lambda t: task.decode(t, xp=jnp))(jnp.asarray(np.concatenate([good, swapped])))
    np.testing.assert_allclose(np.asarray(jitted)[0], task.decode(good)[0], rtol=1e-6)
    assert np.isnan(np.asarray(jitted)[1]).all()


def test_metric():
    true = np.array([[4.0, 1.0, -5.0]])  # Σ|λ| = 10
    assert relative_error(true + [[0.1, -0.1, 0.2]], true)[0] == pytest.approx(0.04)
    pred = true + [[0.1, -0.1, 0.2]]
    assert is_correct(pred, true, 0.05)[0] and not is_correct(pred, true, 0.02)[0]
    assert relative_error(np.full((1, 3), np.nan), true)[0] == np.inf
    for bad in (0.0, -0.05):
        with pytest.raises(ConfigError, match="tau"):
            is_correct(pred, true, bad)


def test_task_matrices_and_eigenvalues():
    task = EigenTask(n=5)
    A, lam = task.sample(np.random.default_rng(1), 50)
    np.testing.assert_array_equal(A, np.swapaxes(A, 1, 2))
    assert np.all(np.abs(A) <= 10)
    assert np.all(np.diff(lam, axis=1) <= 0)
    np.testing.assert_allclose(lam.sum(1), np.trace(A, axis1=1, axis2=2), atol=1e-9)
    np.testing.assert_allclose(eigenvalues(np.diag([1.0, 3.0, 2.0]))[None], [[3.0, 2.0, 1.0]])
    assert task.src_tokens(A).shape == (50, task.src_len) and task.tgt_tokens(lam).shape == (50, task.tgt_len)


@pytest.mark.parametrize("kw, param", [({"n": 1}, "n"), ({"tokenizer": "p10"}, "tokenizer")])
def test_task_bad_input(kw, param):
    with pytest.raises(ConfigError, match=param):
        EigenTask(**kw)


@pytest.mark.parametrize("kw, param", [({"n": 1}, "n"), ({"k": 0}, "k"), ({"tau": 0.0}, "tau"),
                                       ({"tau": -1.0}, "tau"), ({"rules": ("top", "magic")}, "rules"),
                                       ({"phi": 1.5}, "phi"), ({"pool_sizes": (0,)}, "pool_sizes")])
def test_experiment_bad_input(kw, param):
    with pytest.raises(ConfigError, match=param):
        EigenExperiment(**kw)


# --- beam search on a tiny random model -------------------------------------------------------------
VOCAB, LENGTH = 5, 3


@pytest.fixture(scope="module")
def tiny():
    cfg = s2s.Seq2SeqConfig(vocab_size=VOCAB, src_len=4, tgt_len=LENGTH, width=16, heads=2, enc_depth=1,
                            dec_depth=1)
    graphdef, params = s2s.init_model(cfg, 0)
    # Sharpen the output distribution so beams differ clearly (random init is nearly uniform).
    params = jax.tree_util.tree_map(lambda p: p * 3.0, params)
    src = jnp.asarray(np.random.default_rng(0).integers(0, VOCAB, (3, 4)), jnp.int32)
    return graphdef, params, src


def _sequence_logprob(graphdef, params, src, seqs):
    """Teacher-forced log-probability of each sequence (no cache): src [B, S], seqs [B, k, L] → [B, k]."""
    b, k, length = seqs.shape
    flat = seqs.reshape(b * k, length)

    @jax.jit
    def logprob(params, src, flat):
        logits = s2s.nnx.merge(graphdef, params)(src, s2s.shift_right(flat))
        logp = jax.nn.log_softmax(logits, axis=-1)
        return jnp.take_along_axis(logp, flat[..., None], -1)[..., 0].sum(-1)

    return np.asarray(logprob(params, jnp.repeat(src, k, axis=0), flat)).reshape(b, k)


def test_beam_search_distinct_sorted_and_scores_are_sequence_logprobs(tiny):
    graphdef, params, src = tiny
    seqs, scores = s2s.beam_search(graphdef, params, src, length=LENGTH, k=5)
    seqs, scores = np.asarray(seqs), np.asarray(scores)
    assert seqs.shape == (3, 5, LENGTH)
    for b in range(3):
        assert len({tuple(s) for s in seqs[b]}) == 5
    assert np.all(np.diff(scores, axis=1) <= 0)
    np.testing.assert_allclose(scores, _sequence_logprob(graphdef, params, src, jnp.asarray(seqs)), atol=1e-4)


def test_beam_one_is_greedy(tiny):
    graphdef, params, src = tiny
    g_tok, g_score = s2s.greedy(graphdef, params, src, length=LENGTH)
    b_tok, b_score = s2s.beam_search(graphdef, params, src, length=LENGTH, k=1)
    np.testing.assert_array_equal(np.asarray(b_tok)[:, 0], np.asarray(g_tok))
    np.testing.assert_allclose(np.asarray(b_score)[:, 0], np.asarray(g_score), atol=1e-5)


def test_wide_beam_is_exact_top_k(tiny):
    """With k = V^(L−1) beams no prefix is ever dropped, so beam search returns the exact k best sequences."""
    graphdef, params, src = tiny
    k = VOCAB ** (LENGTH - 1)
    _, scores = s2s.beam_search(graphdef, params, src, length=LENGTH, k=k)
    every = jnp.asarray(list(itertools.product(range(VOCAB), repeat=LENGTH)), jnp.int32)
    all_lp = _sequence_logprob(graphdef, params, src, jnp.broadcast_to(every, (src.shape[0], *every.shape)))
    best = -np.sort(-all_lp, axis=1)[:, :k]
    np.testing.assert_allclose(np.asarray(scores), best, atol=1e-4)


# --- the loop ---------------------------------------------------------------------------------------
def test_tiny_loop_end_to_end():
    # n_real = max(N), one width and one step count: every model shares one compiled training chunk.
    exp = EigenExperiment(n=2, width=16, heads=2, enc_depth=2, dec_depth=1, n_real=48, pool_sizes=(24, 48), k=3,
                          steps=20, batch=16, verifier_width=16, verifier_steps=20, test_size=32, decode_batch=32,
                          rules=("top", "oracle-prune", "oracle-best", "noisy", "learned", "real"))
    res = run(exp, seed=0)
    rows = {(r["rule"], r["N"]): r for r in res.rows}
    assert len(rows) == 12 and set(res.generator) == {"0.05", "0.02", "0.01", "0.005"}
    for N in exp.pool_sizes:
        top, prune, best, real = (rows[(rule, N)] for rule in ("top", "oracle-prune", "oracle-best", "real"))
        assert top["r"] == 1.0 and top["kept"] == N
        assert prune["q"] in (0.0, 0.5) and prune["psi"] == 0.0 and prune["kept"] == round((1 - top["p"]) * N)
        assert best["p"] <= top["p"]  # the oracle's best of k beams includes the top beam
        assert real["p"] == 0.0
        for r in (top, prune, best, real):
            acc = r["accuracy"]
            assert all(np.isnan(a) or 0 <= a <= 1 for a in acc.values())
    assert res.pool_stats["any_beam_correct"] >= res.pool_stats["top_beam_correct"]
    again = run(exp, seed=0)
    assert json.dumps(again.rows) == json.dumps(res.rows)  # reproducible for a seed (NaN-safe comparison)


def _pool(m=20000, k=3, n=2, seed=0):
    """Synthetic candidates around the truth (no model): cand [m, k, n], tokens, oracle errors, truth."""
    task = EigenTask(n=n)
    rng = np.random.default_rng(seed)
    _, lam = task.sample(rng, m)
    cand = lam[:, None, :] * (1 + rng.normal(0, 0.05, (m, k, n)))
    cand_tok = task.tok.encode(cand)
    cand = task.decode(cand_tok)
    return cand, cand_tok, relative_error(cand, lam[:, None, :]), lam


def test_noisy_verifier_keeps_at_the_set_rates():
    exp = EigenExperiment(n=2, phi=0.8, psi=0.25)
    cand, cand_tok, err, lam = _pool()
    _, correct, kept = select_rule(exp, "noisy", cand, cand_tok, err, lam, jax.random.key(3))
    for rate, mask in ((exp.phi, correct), (exp.psi, ~correct)):
        m = mask.sum()
        se = np.sqrt(rate * (1 - rate) / m)
        assert m > 1000 and abs(kept[mask].mean() - rate) < 4 * se


def test_learned_verifier_with_a_perfect_model_is_oracle_best_then_prune():
    exp = EigenExperiment(n=2)
    cand, cand_tok, err, lam = _pool(m=2000)
    lab_v, cor_v, kept_v = select_rule(exp, "learned", cand, cand_tok, err, lam, None, verifier_pred=lam)
    lab_b, cor_b, _ = select_rule(exp, "oracle-best", cand, cand_tok, err, lam, None)
    np.testing.assert_array_equal(lab_v, lab_b)
    np.testing.assert_array_equal(kept_v, cor_b)  # kept iff the chosen beam is correct: ϕ = 1, ψ = 0
    assert cor_v.mean() < 1 and kept_v.mean() > 0  # the pool has both kinds


@pytest.mark.parametrize("argv, param", [(["--n", "1"], "n"), (["--k", "0"], "k"), (["--tau", "0"], "tau"),
                                         (["--rules", "top,magic"], "rules")])
def test_cli_rejects_bad_input_in_one_line(argv, param, capsys):
    from experiments.gen_loop import main

    x64 = jax.config.jax_enable_x64
    try:
        assert main(["--model", "eigen", *argv]) == 2
    finally:
        jax.config.update("jax_enable_x64", x64)  # the driver switches x64 off for transformers
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"gen_loop: error: {param} must be")
