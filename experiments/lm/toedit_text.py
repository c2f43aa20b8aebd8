"""ToEdit on text (Zhu et al. 2025, arXiv 2412.14689, §4 and Tables 3–6; docs/papers/zhu2025.md) at byte level.

Per seed: a *prior* transformer (the stronger model: ``prior_T`` human windows, ``prior_steps`` steps) is trained
first. From an independent draw of N human windows H it makes every training set of the comparison — all of N
windows, each trained for the same steps from the same initialization and minibatch indices (matched token budget,
common random numbers: two identical training sets give identical models):

- ``human``: H itself; ``synthetic``: N windows sampled from the prior (from BOS, temperature 1); ``mix 50%``:
  half of H and half of the synthetic windows;
- ``edit …``: H edited token by token (:mod:`collapse.lm.edit`) with the prior, one variant per rule / sampling
  setting (the ablations: p >= 0.99 (ToEdit default), p >= 0.999, p <= 0.1, p <= 0.01, top-k 64, top-p 0.9,
  and the cheap byte 3-gram prior fitted to the prior's training windows).

Every condition's model trains in one vmapped, compiled program and is scored on held-out human windows; the
n-gram diagnostics (:mod:`collapse.lm.diagnostics`) compare each training set with held-out human text, and
each edit variant reports its eligible and changed fractions and the prior's token-probability histogram.

Run: ``python -m experiments.gen_loop --preset toedit-text-cpu`` (figures/toedit-text-cpu.png and .md).
"""

import io
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from collapse.errors import check_losses, require
from collapse.lm import diagnostics as dg
from collapse.lm import model as lm
from collapse.lm.config import ByteLMConfig
from collapse.lm.corpus import human_train_and_heldout, random_windows
from collapse.lm.edit import EditRule, EditStats, edit_windows, ngram_prior, transformer_prior
from collapse.lm.sampling import sample
from collapse.lm.tokenizer import decode
from collapse.lm.train import TrainConfig, train
from collapse.stats import mean_se
from collapse.validate import check_fields

# label -> (prior kind, EditRule keyword arguments): the ToEdit default first, then the ablations
EDIT_VARIANTS = {
    "edit p>=0.99": ("model", {}),
    "edit p>=0.999": ("model", {"threshold": 0.999}),
    "edit p<=0.1": ("model", {"threshold": 0.1, "direction": "below"}),
    "edit p<=0.01": ("model", {"threshold": 0.01, "direction": "below"}),
    "edit p>=0.99 top-k 64": ("model", {"top_k": 64}),
    "edit p>=0.99 top-p 0.9": ("model", {"top_k": 64, "top_p": 0.9}),
    "edit p>=0.99 3-gram prior": ("ngram", {}),
}
BASELINES = ("human", "mix 50%", "synthetic")


@dataclass(frozen=True)
class ToEditText(ByteLMConfig):
    """Human vs ToEdit-edited vs synthetic vs mixed training sets at a matched token budget (module docstring).

    T: windows per training set; context: window length (bytes); width/depth/heads: every model's size;
    steps/batch/lr/warmup: every training run; prior_T, prior_steps: the prior's human windows and steps;
    variants: edit variants to run (comma-separated labels of EDIT_VARIANTS; empty = all); beta: redraw
    temperature β; ngram_order: the n-gram prior's order."""

    T: int = 256
    prior_T: int = 1024
    prior_steps: int = 400
    beta: float = 1.5
    ngram_order: int = 3
    variants: tuple[str, ...] = ()
    name: str = "toedit-text"

    def __post_init__(self):
        check_fields(self)
        require(isinstance(self.T, int) and self.T >= 2, "T", self.T, "an integer >= 2")
        require(isinstance(self.prior_T, int) and self.prior_T >= 1, "prior_T", self.prior_T, "an integer >= 1")
        TrainConfig(steps=self.prior_steps, batch=self.batch, lr=self.lr, warmup=min(self.warmup, self.prior_steps))
        bad = [v for v in self.variants if v not in EDIT_VARIANTS]
        require(not bad, "variants", bad, f"labels among {', '.join(EDIT_VARIANTS)}")
        for label in self.edit_labels:
            self.rule(label)  # validates beta and the rules
        self.check_lm()

    @property
    def edit_labels(self) -> tuple[str, ...]:
        return self.variants or tuple(EDIT_VARIANTS)

    def rule(self, label: str) -> EditRule:
        return EditRule(**{"beta": self.beta, **EDIT_VARIANTS[label][1]})





DIAG_KEYS = ("distinct_2", "distinct_3", "entropy_2", "top40_bigram_mass")


def diagnostics(human, data) -> dict:
    """The training set's n-gram diagnostics and its distance to held-out human text."""
    d = dg.compare(list(human), list(data))
    out = {k: d[k][1] for k in DIAG_KEYS}
    out["tail_recall"] = d["tail_recall_of_human_rare_bigrams"][1]
    out["hashed_tv_to_human"] = d["hashed_features"]["tv"]
    return out


def run(cfg: ToEditText, seed: int, progress=lambda msg: None) -> dict:
    """One seed: prior, every training set, every condition's model (vmapped), scores; JSON-able."""
    mc, tc = cfg.model_config, cfg.train_config
    stream, held = human_train_and_heldout(cfg.corpus, cfg.context, cfg.holdout)
    rng = np.random.default_rng(seed)
    h_prior, h = random_windows(rng, stream, cfg.prior_T, cfg.context), random_windows(rng, stream, cfg.T, cfg.context)
    k_prior, k_sample, k_edit, k_train = jax.random.split(jax.random.key(seed), 4)
    ones = jnp.ones(cfg.T, jnp.float32)
    progress(f"training the prior on {cfg.prior_T} human windows ({cfg.prior_steps} steps)")
    tc_prior = TrainConfig(steps=cfg.prior_steps, batch=cfg.batch, lr=cfg.lr, warmup=min(cfg.warmup, cfg.prior_steps))
    prior_params, prior_losses = jax.jit(lambda d, k: train(mc, tc_prior, d, jnp.ones(cfg.prior_T), k))(
        jnp.asarray(h_prior), k_prior)
    check_losses(prior_losses, "prior")
    synth = np.asarray(jax.jit(lambda p, k: sample(mc, p, k, cfg.T, cfg.context))(prior_params, k_sample))
    sets = {"human": h, "mix 50%": np.concatenate([h[: cfg.T // 2], synth[cfg.T // 2:]]), "synthetic": synth}
    priors = {"model": transformer_prior(mc, prior_params)}
    if any(EDIT_VARIANTS[v][0] == "ngram" for v in cfg.edit_labels):
        priors["ngram"] = ngram_prior(h_prior, cfg.ngram_order)
    edits = {}
    for i, label in enumerate(cfg.edit_labels):
        stats = EditStats()
        out = edit_windows(priors[EDIT_VARIANTS[label][0]], cfg.rule(label), jax.random.fold_in(k_edit, i), h)
        stats.add(out)
        sets[label] = np.asarray(out.tokens)
        edits[label] = stats.summary()
        progress(f"{label}: eligible {edits[label]['eligible_fraction']:.2%}, changed "
                 f"{edits[label]['changed_fraction']:.2%}")
    labels = list(sets)
    progress(f"training {len(labels)} models (one per training set), vmapped")
    params, losses = jax.jit(jax.vmap(lambda d: train(mc, tc, d, ones, k_train)))(
        jnp.asarray(np.stack([sets[k] for k in labels])))
    check_losses(losses, "compared models")
    lp = jax.jit(jax.vmap(lambda p: lm.token_logprobs(mc, p, jnp.asarray(held))))(params)
    ppl = np.exp(-np.asarray(lp, np.float64).mean(axis=(1, 2)))
    progress("held-out human PPL: " + ", ".join(f"{k}: {p:.3f}" for k, p in zip(labels, ppl, strict=True)))
    tail = max(1, cfg.steps // 10)
    prior_ppl = float(np.exp(-np.asarray(lm.token_logprobs(mc, prior_params, jnp.asarray(held))).mean()))
    default = cfg.edit_labels[0]
    return {
        "labels": labels, "heldout_ppl": ppl.tolist(),
        "train_loss": np.asarray(losses)[:, -tail:].mean(axis=1).tolist(),
        "prior_heldout_ppl": prior_ppl, "edits": edits,
        "diagnostics": {k: diagnostics(held, sets[k]) for k in labels},
        "example": {"human": decode(h[0]), "edited": decode(sets[default][0]), "synthetic": decode(synth[0])},
    }


def report(cfg: ToEditText, results: list[dict]) -> tuple[str, bytes]:
    """Markdown tables (mean ± SE over seeds) and a 3-panel figure: held-out PPL per training set relative to the
    human set's (paired by seed), eligible vs changed fraction per edit variant, the prior's token-probability
    histogram on the human windows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = results[0]["labels"]
    S = len(results)
    ppl, ppl_se = mean_se([r["heldout_ppl"] for r in results], axis=0)
    human = labels.index("human")
    rel, rel_se = mean_se([np.asarray(r["heldout_ppl"]) / r["heldout_ppl"][human] - 1 for r in results], axis=0)
    lines = [f"ToEdit on text ({S} seeds; T={cfg.T} windows of {cfg.context} bytes per training set, {cfg.steps} "
             f"steps × {cfg.batch}; model {cfg.width}×{cfg.depth}; corpus {cfg.corpus}; β={cfg.beta}). Prior's "
             f"held-out PPL {np.mean([r['prior_heldout_ppl'] for r in results]):.3f}. Mean ± SE over seeds; "
             "Δ vs human is paired by seed.", "",
             "| training set | held-out human PPL | Δ vs human | eligible | changed | tail recall | distinct-3 |"
             " hashed TV to human |", "|---|---|---|---|---|---|---|---|"]
    for i, k in enumerate(labels):
        elig = [r["edits"][k]["eligible_fraction"] for r in results] if k in results[0]["edits"] else None
        chg = [r["edits"][k]["changed_fraction"] for r in results] if elig is not None else None
        dia = {m: mean_se([[r["diagnostics"][k][m]] for r in results], axis=0) for m in
               ("tail_recall", "distinct_3", "hashed_tv_to_human")}
        lines.append(
            f"| {k} | {ppl[i]:.3f} ± {_f(ppl_se[i])} | {rel[i]:+.2%} ± {_f(rel_se[i], pct=True)} | "
            + (f"{np.mean(elig):.2%} ± {_f(_se(elig), pct=True)} | {np.mean(chg):.3%} ± {_f(_se(chg), pct=True)}"
               if elig is not None else "— | —")
            + " | " + " | ".join(f"{dia[m][0][0]:.4f}" for m in ("tail_recall", "distinct_3", "hashed_tv_to_human"))
            + " |")
    model_edits = [k for k in labels if k in EDIT_VARIANTS and EDIT_VARIANTS[k][0] == "model"]
    hist = np.mean([r["edits"][model_edits[0]]["prob_histogram"] for r in results], axis=0) if model_edits else None
    if hist is not None:
        lines += ["", "Prior's probability of each human token (10 bins of [0, 1], mean over seeds): "
                  + ", ".join(f"{h:.3f}" for h in hist)]
    fig, ax = plt.subplots(1, 3, figsize=(17, 4.6))
    y = np.arange(len(labels))
    ax[0].errorbar(100 * rel, y, xerr=200 * np.nan_to_num(rel_se), fmt="o", capsize=3)
    ax[0].axvline(0, color="grey", lw=0.8, ls="--")
    ax[0].set(yticks=y, yticklabels=labels, xlabel="held-out human PPL vs the human-trained model (%)",
              title=f"Δ held-out PPL, paired by seed (mean ± 2 SE, {S} seeds)")
    ax[0].invert_yaxis()
    ed = [k for k in labels if k in results[0]["edits"]]
    e, e_se = mean_se([[r["edits"][k]["eligible_fraction"] for k in ed] for r in results], axis=0)
    c, c_se = mean_se([[r["edits"][k]["changed_fraction"] for k in ed] for r in results], axis=0)
    x = np.arange(len(ed))
    ax[1].bar(x - 0.2, e, 0.4, yerr=2 * np.nan_to_num(e_se), label="eligible")
    ax[1].bar(x + 0.2, c, 0.4, yerr=2 * np.nan_to_num(c_se), label="changed")
    ax[1].set(xticks=x, yscale="log", ylabel="fraction of tokens", title="eligible vs changed tokens")
    ax[1].set_xticklabels([k.removeprefix("edit ") for k in ed], rotation=30, ha="right")
    ax[1].legend()
    if hist is not None:
        ax[2].bar(np.arange(10) / 10 + 0.05, hist, 0.09)
        ax[2].set(yscale="log", xlabel="prior probability of the human token", ylabel="fraction of tokens",
                  title="token-probability histogram under the prior")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return "\n".join(lines) + "\n", buf.getvalue()


def _se(values):
    a = np.asarray(values, float)
    return a.std(ddof=1) / np.sqrt(len(a)) if len(a) > 1 else float("nan")


def _f(x, pct=False):
    if not np.isfinite(x):
        return "—"
    return f"{x:.2%}" if pct else f"{x:.3f}"


GPU_PRESET = {"context": 256, "width": 512, "depth": 8, "heads": 8, "T": 16384, "steps": 8000, "batch": 64,
              "lr": 1e-3, "warmup": 400, "holdout": 1000, "dtype": "bfloat16", "replicates": 3}
