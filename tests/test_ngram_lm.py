"""The byte n-gram model (the byte LM's counting limit): normalised rows, held-out perplexity equal to a direct
count, no new n-grams from a live context, a fixed alphabet under replace, bad input, and a smoke run of the
lm-vs-ngram preset's config (slow)."""

import math
from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from collapse import LoopConfig
from collapse.engine import Loop
from collapse.errors import ConfigError
from collapse.families.ngram_lm import NgramLM, backed_off_rows, fit_tables, sample_windows, smoothed_nll
from collapse.lm.tokenizer import BOS

# a small alphabet keeps contexts repeating, so every order and the backoff are exercised
rng = np.random.default_rng(0)
WINDOWS = jnp.asarray(rng.choice(np.array([97, 98, 99, 100, 32]), size=(12, 10), p=[0.4, 0.3, 0.15, 0.1, 0.05]),
                      jnp.int32)
ONES = jnp.ones(12, jnp.float32)


# order 3's dense table (17M counts) is slow in eager mode; orders 1–2 exercise the same code, and the direct-count
# test below covers order 3
@pytest.mark.parametrize("order", [1, 2])
def test_rows_are_distributions_over_bytes(order):
    params = fit_tables(WINDOWS, ONES, order)
    hist = jnp.asarray(rng.choice(np.array([97, 98, 99, 100, 32, 120, BOS]), size=(50, order - 1)), jnp.int32)
    rows, _ = backed_off_rows(params, hist)  # 120 ('x') never occurs: those contexts back off
    np.testing.assert_allclose(np.asarray(rows).sum(-1), 1.0, rtol=1e-6)
    assert np.all(np.asarray(rows)[:, BOS] == 0)  # BOS is never a next token


@pytest.mark.parametrize("order", [1, 2, 3])
def test_perplexity_on_its_own_training_text_is_the_direct_count(order):
    """On its training windows every context was seen, so p(x | c) = count(c, x) / count(c), counted here in
    plain Python over the BOS-padded windows."""
    eps = 0.01
    pairs, contexts = Counter(), Counter()
    for w in np.asarray(WINDOWS).tolist():
        padded = [BOS] * (order - 1) + w
        for t in range(len(w)):
            c = tuple(padded[t:t + order - 1])
            pairs[c, padded[t + order - 1]] += 1
            contexts[c] += 1
    nll = []
    for w in np.asarray(WINDOWS).tolist():
        padded = [BOS] * (order - 1) + w
        for t in range(len(w)):
            c = tuple(padded[t:t + order - 1])
            p = pairs[c, padded[t + order - 1]] / contexts[c]
            nll.append(-math.log((1 - eps) * p + eps / 256))
    ours = float(smoothed_nll(fit_tables(WINDOWS, ONES, order), WINDOWS, eps))
    assert ours == pytest.approx(float(np.mean(nll)), rel=1e-5)


def test_weights_select_windows():
    w = jnp.zeros(12, jnp.float32).at[:4].set(1.0)
    for a, b in zip(fit_tables(WINDOWS, w, 2).tables, fit_tables(WINDOWS[:4], ONES[:4], 2).tables, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_samples_from_a_live_context_are_in_the_support():
    """A sampled bigram whose context the model has seen with a continuation was in the training data: new
    n-grams only come through backoff (and the alphabet never grows)."""
    params = fit_tables(WINDOWS, ONES, 2)
    toks, _ = jax.jit(sample_windows, static_argnums=(2, 3))(params, jax.random.key(3), 200, 10)
    toks = np.asarray(toks)
    table = np.asarray(params.tables[1])
    padded = np.concatenate([np.full((200, 1), BOS), toks], axis=1)
    ctx = padded[:, :-1]
    live = table[ctx].sum(-1) > 0  # [200, 10]: the context has a continuation in the training data
    assert live.mean() > 0.9
    assert np.all(table[ctx, padded[:, 1:]][live] > 0)
    assert set(np.unique(toks)) <= set(np.unique(np.asarray(WINDOWS)))


@pytest.mark.slow  # an engine compile: ~30 s on a loaded machine
def test_replace_never_grows_the_alphabet():
    fam = NgramLM(order=2, context=16, T=8, holdout=8, diag_samples=4)
    m = Loop(fam, LoopConfig(mode="replace", generations=4, replicates=2, seed=0)).run().metrics
    alphabet = np.asarray(m["alphabet"])
    assert np.all(np.diff(alphabet, axis=0) <= 0)


@pytest.mark.parametrize("kwargs", [{"order": 4}, {"order": 0}, {"smoothing": 0.0}, {"smoothing": 1.0},
                                    {"tail_threshold": 0.0}, {"T": 0}, {"context": 0}])
def test_bad_input_names_the_parameter(kwargs):
    with pytest.raises(ConfigError) as err:
        NgramLM(**kwargs)
    assert err.value.param == next(iter(kwargs))


@pytest.mark.slow
def test_preset_config_two_generations(tmp_path):
    """The lm-vs-ngram preset's own settings, cut to two generations and one seed: it runs and reports."""
    from experiments.catalog import preset
    from experiments.lm import bridge

    settings = {k: v for k, v in preset("lm-vs-ngram").settings.items() if k not in ("replicates", "seed")}
    cfg = bridge.LmVsNgram(**{**settings, "generations": 2})
    result = bridge.run(cfg, 0)
    for model in bridge.MODELS:
        for mode in cfg.modes:
            ppl = result["runs"][model][mode]["heldout_ppl"]
            assert len(ppl) == 2 and all(np.isfinite(ppl))
    text, png = bridge.report(cfg, [result])
    assert "ngram replace" in text and png[:4] == b"\x89PNG"
