"""Synthetic-share sweep (Zhu et al. 2025, ToEdit §2, Fig. 1; docs/papers/zhu2025.md) at byte level on CPU scale.

Per seed: a *generator* is trained on N human windows; it samples N synthetic windows (from BOS, temperature 1).
For each synthetic share s, a fresh model trains on a mixture of round((1−s)·N) human windows (an independent
human draw) and round(s·N) synthetic windows — the same number of windows and the same number of optimizer steps
at every share (matched token budget) — and is scored on held-out human text. All shares train in one vmapped,
compiled program. The share-0 model, trained on human text only and independent of the generator, is the fixed
scorer for the per-window perplexity histograms of held-out human vs synthetic text, and the n-gram diagnostics
(:mod:`collapse.lm.diagnostics`) compare the two corpora.

Run: ``python -m experiments.gen_loop --preset lm-synthetic-share`` (3 seeds, figures/lm-synthetic-share.png),
or ``--model lm-share [flags] [--replicates S]`` (the per-seed runner, experiments/run_seeds.py).
"""

import io
import time
from dataclasses import dataclass
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from collapse.errors import check_losses, require
from collapse.lm import diagnostics as dg
from collapse.lm import model as lm
from collapse.lm.config import ByteLMConfig
from collapse.lm.corpus import human_train_and_heldout, random_windows
from collapse.lm.sampling import check_sampling, sample
from collapse.lm.tokenizer import VOCAB_SIZE, decode
from collapse.lm.train import train
from collapse.stats import mean_se
from collapse.validate import check_fields


@dataclass(frozen=True)
class ShareExperiment(ByteLMConfig):
    """Held-out human perplexity of models trained on human/synthetic mixtures at matched token budget.

    T: windows in every training set (generator's and each mixture's); shares: synthetic shares in [0, 1].
    """

    T: int = 256
    shares: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    dtype: Literal["float32", "bfloat16"] = "float32"
    name: str = "lm-share"

    def __post_init__(self):
        check_fields(self)
        require(isinstance(self.T, int) and self.T >= 1, "T", self.T, "an integer >= 1")
        require(len(self.shares) >= 1 and all(0 <= s <= 1 for s in self.shares), "shares", self.shares,
                "synthetic shares in [0, 1]")
        require(0.0 in self.shares, "shares", self.shares, "a list that includes 0 (the fixed human-only scorer)")
        check_sampling(self.temperature, self.top_k, self.top_p, VOCAB_SIZE)
        self.check_lm()





def run(cfg: ShareExperiment, seed: int, progress=lambda msg: None) -> dict:
    """One seed: generator, synthetic pool, every share's model; returns JSON-able results."""
    mc, tc = cfg.model_config, cfg.train_config
    stream, held = human_train_and_heldout(cfg.corpus, cfg.context, cfg.holdout)
    rng = np.random.default_rng(seed)
    h_gen = random_windows(rng, stream, cfg.T, cfg.context)
    h_mix = random_windows(rng, stream, cfg.T, cfg.context)
    key = jax.random.key(seed)
    k_gen, k_sample, k_mix = jax.random.split(key, 3)
    ones = jnp.ones(cfg.T, jnp.float32)

    progress(f"training the generator on {cfg.T} human windows ({cfg.steps} steps)")
    gen_params, gen_losses = jax.jit(lambda d, k: train(mc, tc, d, ones, k))(jnp.asarray(h_gen), k_gen)
    check_losses(gen_losses, "generator")
    synth = np.asarray(jax.jit(lambda p, k: sample(mc, p, k, cfg.T, cfg.context, temperature=cfg.temperature,
                                                   top_k=cfg.top_k, top_p=cfg.top_p))(gen_params, k_sample))
    mixtures = []
    for s in cfg.shares:
        m = int(round(s * cfg.T))
        mixtures.append(np.concatenate([h_mix[: cfg.T - m], synth[:m]]))
    progress(f"training {len(cfg.shares)} mixture models (shares {list(cfg.shares)}), vmapped")
    keys = jax.random.split(k_mix, len(cfg.shares))
    t0 = time.perf_counter()
    params, losses = jax.jit(jax.vmap(lambda d, k: train(mc, tc, d, ones, k)))(jnp.asarray(np.stack(mixtures)), keys)
    check_losses(losses, "share models")
    losses = np.asarray(losses)
    tokens = len(cfg.shares) * cfg.steps * cfg.batch * cfg.context
    progress(f"trained: {tokens / (time.perf_counter() - t0):,.0f} training tokens/s (compilation included)")
    tail = max(1, cfg.steps // 10)
    lp = jax.jit(jax.vmap(lambda p: lm.token_logprobs(mc, p, jnp.asarray(held))))(params)  # [S, H, L]
    heldout_ppl = np.exp(-np.asarray(lp).mean(axis=(1, 2)))
    progress("held-out human perplexity by share: " + ", ".join(
        f"{s:.2f}: {p:.3f}" for s, p in zip(cfg.shares, heldout_ppl, strict=True)))

    scorer = jax.tree.map(lambda a: a[list(cfg.shares).index(0.0)], params)
    score = jax.jit(lambda toks: lm.token_logprobs(mc, scorer, toks))
    human_ppl = np.exp(-np.asarray(score(jnp.asarray(held))).mean(axis=1))
    synth_ppl = np.exp(-np.asarray(score(jnp.asarray(synth[: cfg.holdout]))).mean(axis=1))
    human_docs, synth_docs = list(held), list(synth[: cfg.holdout])
    diag = dg.compare(human_docs, synth_docs)
    return {
        "shares": list(cfg.shares), "heldout_ppl": heldout_ppl.tolist(),
        "train_loss": np.asarray(losses)[:, -tail:].mean(axis=1).tolist(),
        "window_ppl_human": human_ppl.tolist(), "window_ppl_synthetic": synth_ppl.tolist(),
        "diagnostics": {k: list(v) if isinstance(v, tuple) else v for k, v in diag.items()},
        "synthetic_example": decode(synth[0]), "human_example": decode(held[0]),
    }


def report(cfg: ShareExperiment, results: list[dict]) -> tuple[str, bytes]:
    """Markdown table and a 3-panel PNG: held-out human perplexity and training loss vs share (mean ± SE over
    seeds), per-window perplexity histograms of human vs synthetic text under the human-only model (seed 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shares = np.asarray(results[0]["shares"])
    ppl, ppl_se = mean_se([r["heldout_ppl"] for r in results], axis=0)
    loss, loss_se = mean_se([r["train_loss"] for r in results], axis=0)
    lines = [f"Synthetic-share sweep ({len(results)} seeds; T={cfg.T} windows of {cfg.context} bytes, "
             f"{cfg.steps} steps × {cfg.batch}; model {cfg.width}×{cfg.depth}; corpus {cfg.corpus})", "",
             "| synthetic share | held-out human PPL | ± SE | training loss | ± SE |", "|---|---|---|---|---|"]
    for i, s in enumerate(shares):
        lines.append(f"| {s:.0%} | {ppl[i]:.3f} | {ppl_se[i]:.3f} | {loss[i]:.3f} | {loss_se[i]:.3f} |")
    d = results[0]["diagnostics"]
    lines += ["", "Human (held-out) vs synthetic windows, seed 0:", "", "| diagnostic | human | synthetic |",
              "|---|---|---|"]
    for k, v in d.items():
        if isinstance(v, list):
            lines.append(f"| {k} | {v[0]:.4f} | {v[1]:.4f} |")
    hf = d["hashed_features"]
    lines.append(f"| hashed uni+bigram features (10,000 buckets): TV / JS bits | — | {hf['tv']:.4f} / "
                 f"{hf['js']:.4f} |")
    hp, sp = (np.median(results[0][k]) for k in ("window_ppl_human", "window_ppl_synthetic"))
    lines.append(f"| median per-window PPL under the human-only model | {hp:.3f} | {sp:.3f} |")
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    ax[0].errorbar(shares * 100, ppl, yerr=2 * np.nan_to_num(ppl_se), marker="o", capsize=3)
    ax[0].set(xlabel="synthetic share (%)", ylabel="held-out human perplexity (per byte)",
              title="held-out human PPL (mean ± 2 SE)")
    ax[1].errorbar(shares * 100, loss, yerr=2 * np.nan_to_num(loss_se), marker="o", capsize=3, color="C1")
    ax[1].set(xlabel="synthetic share (%)", ylabel="training loss (nats/byte)", title="training loss")
    h = dg.perplexity_histograms(results[0]["window_ppl_human"], results[0]["window_ppl_synthetic"], bins=25)
    centers = np.sqrt(h["edges"][:-1] * h["edges"][1:])
    widths = np.diff(h["edges"])
    ax[2].bar(centers, h["a"], widths, alpha=0.6, label="human (held-out)")
    ax[2].bar(centers, h["b"], widths, alpha=0.6, label="synthetic")
    ax[2].set(xscale="log", xlabel="per-window perplexity under the human-only model", ylabel="windows",
              title="perplexity histograms (seed 0)")
    ax[2].legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return "\n".join(lines) + "\n", buf.getvalue()
