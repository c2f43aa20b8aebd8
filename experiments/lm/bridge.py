"""The bridge from counting models to the byte LM (issue 18, item 4; docs/categorical.md): the same replace /
accumulate loop, on the same corpus and the same data sizes, with the byte transformer and with a byte n-gram
model (:class:`collapse.families.ngram_lm.NgramLM`, the transformer's infinite-capacity counting limit), side by
side per generation.

Per seed and per mode, each model runs the collapse engine for ``generations`` generations (one replicate; the
seeds are the replicates). Both are scored on the same held-out human windows and with the same in-loop n-gram
diagnostics of ``diag_samples`` sampled windows: held-out perplexity, missing tail mass (the share of held-out human
tokens to which the model gives probability < ``tail_threshold``), the recall of the human corpus's rare bigrams in
the model's samples, and the share of bigram occurrences taken by the 40 most frequent ones (concentration).

Run: ``python -m experiments.gen_loop --preset lm-vs-ngram`` or ``--model lm-vs-ngram [flags] [--replicates S]``.
"""

import io
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from collapse import LoopConfig
from collapse.engine import Loop
from collapse.errors import require
from collapse.families.ngram_lm import MAX_ORDER, NgramLM
from collapse.families.transformer import TransformerLM
from collapse.lm import model as lm
from collapse.lm.config import ByteLMConfig
from collapse.lm.windows import human_data
from collapse.stats import mean_se
from collapse.validate import check_fields

MODELS = ("transformer", "ngram")
METRICS = (("heldout_ppl", "held-out human perplexity (per byte)"),
           ("missing_mass", "held-out tokens with model p < threshold"),
           ("tail_recall", "recall of the human rare bigrams in samples"),
           ("top40_bigram_mass", "top-40 bigram mass of samples (concentration)"))
EXTRA = ("heldout_nll", "bigram_entropy", "distinct_2", "support", "alphabet", "backoff_rate", "train_loss")


@dataclass(frozen=True)
class TransformerTail(TransformerLM):
    """The transformer family plus the n-gram family's ``missing_mass``: the share of held-out human tokens to
    which the model gives probability < ``tail_threshold``."""

    tail_threshold: float = 1e-3

    def score(self, key, world, params) -> dict:
        out = super().score(key, world, params)
        held = human_data(self.corpus, self.context, self.holdout, self.diag_samples)[1]
        lp = lm.token_logprobs(self.model_config, params.params, jnp.asarray(held))
        out["missing_mass"] = jnp.mean((lp < jnp.log(self.tail_threshold)).astype(jnp.float32))
        return out


@dataclass(frozen=True)
class LmVsNgram(ByteLMConfig):
    """Byte transformer vs byte n-gram model in the same loop (see the module docstring).

    T: windows per block (both models); generations; modes: data policies, comma-separated; order: the n-gram's
    n; smoothing: the n-gram's held-out ε; tail_threshold: missing-mass threshold; diag_samples: sampled windows
    per generation for the diagnostics.
    """

    T: int = 128
    generations: int = 5
    modes: tuple[str, ...] = ("replace", "accumulate")
    order: int = 3
    smoothing: float = 0.01
    tail_threshold: float = 1e-3
    diag_samples: int = 64
    name: str = "lm-vs-ngram"

    def __post_init__(self):
        check_fields(self)
        self.check_lm()
        require(isinstance(self.T, int) and self.T >= 1, "T", self.T, "an integer >= 1")
        require(isinstance(self.generations, int) and self.generations >= 1, "generations", self.generations,
                "an integer >= 1")
        require(len(self.modes) >= 1 and all(m in ("replace", "accumulate", "accumulate-subsample")
                                              for m in self.modes),
                "modes", self.modes, "replace, accumulate and/or accumulate-subsample, comma-separated")
        self.families()  # validates order, smoothing, tail_threshold, corpus

    def families(self) -> dict:
        shared = {"corpus": self.corpus, "context": self.context, "T": self.T, "holdout": self.holdout,
                  "diag_samples": self.diag_samples, "tail_threshold": self.tail_threshold}
        require(isinstance(self.order, int) and 1 <= self.order <= MAX_ORDER, "order", self.order,
                f"an integer in [1, {MAX_ORDER}]")
        lm_fields = {f: getattr(self, f) for f in ("width", "depth", "heads", "steps", "batch", "lr", "warmup",
                                                  "dtype")}
        return {"transformer": TransformerTail(**shared, **lm_fields),
                "ngram": NgramLM(**shared, order=self.order, smoothing=self.smoothing)}


def run(cfg: LmVsNgram, seed: int, progress=lambda msg: None) -> dict:
    """One seed: every (model, mode) loop; returns {"runs": {model: {mode: {metric: [G values]}}}, ...}."""
    runs = {}
    for model, family in cfg.families().items():
        runs[model] = {}
        for mode in cfg.modes:
            progress(f"{model}, {mode}: {cfg.generations} generations")
            state = Loop(family, LoopConfig(mode=mode, generations=cfg.generations, replicates=1, seed=seed)).run()
            runs[model][mode] = {k: np.asarray(v)[:, 0].astype(float).tolist() for k, v in state.metrics.items()
                                 if k in dict(METRICS) or k in EXTRA}
            progress("  held-out PPL by generation: "
                     + ", ".join(f"{x:.2f}" for x in runs[model][mode]["heldout_ppl"]))
    human = float(human_data(cfg.corpus, cfg.context, cfg.holdout, cfg.diag_samples)[3])
    return {"runs": runs, "tail_recall_human": human}


def _curves(results, model, mode, metric):
    return mean_se([r["runs"][model][mode][metric] for r in results], axis=0)


def table(cfg: LmVsNgram, results: list[dict]) -> str:
    lines = [f"Byte transformer ({cfg.width}×{cfg.depth}, {cfg.steps} steps × {cfg.batch}) vs byte {cfg.order}-gram "
             f"model, same loop and corpus ({cfg.corpus}); T = {cfg.T} windows of {cfg.context} bytes; "
             f"{len(results)} seeds; mean ± SE per generation", ""]
    for metric, label in METRICS:
        lines += [f"**{label}** (`{metric}`)", "",
                  "| generation | " + " | ".join(f"{m} {mode}" for m in MODELS for mode in cfg.modes) + " |",
                  "|---" * (1 + len(MODELS) * len(cfg.modes)) + "|"]
        cols = [_curves(results, m, mode, metric) for m in MODELS for mode in cfg.modes]
        for g in range(cfg.generations):
            lines.append(f"| {g + 1} | " + " | ".join(f"{c[0][g]:.4f} ± {np.nan_to_num(c[1][g]):.4f}"
                                                      for c in cols) + " |")
        lines.append("")
    human = np.mean([r["tail_recall_human"] for r in results])
    lines.append(f"Reference: held-out human windows recall {human:.4f} of the human rare bigrams at the same "
                 f"sample size.")
    return "\n".join(lines) + "\n"


def report(cfg: LmVsNgram, results: list[dict]) -> tuple[str, bytes]:
    """Markdown tables and a 4-panel PNG: each metric per generation, both models, every mode (mean ± 2 SE)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gens = np.arange(1, cfg.generations + 1)
    fig, axes = plt.subplots(1, len(METRICS), figsize=(5 * len(METRICS), 4.2))
    for ax, (metric, label) in zip(axes, METRICS, strict=True):
        for i, mode in enumerate(cfg.modes):
            for model, style in zip(MODELS, ("-", "--"), strict=True):
                mean, se = _curves(results, model, mode, metric)
                ax.errorbar(gens, mean, yerr=2 * np.nan_to_num(se), ls=style, marker="o", capsize=3, color=f"C{i}",
                            label=f"{model}, {mode}")
        if metric == "tail_recall":
            ax.axhline(np.mean([r["tail_recall_human"] for r in results]), color="grey", lw=1,
                       label="held-out human text")
        ax.set(xlabel="generation", title=label)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"byte transformer (solid) vs byte {cfg.order}-gram counting model (dashed), {len(results)} seeds")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return table(cfg, results), buf.getvalue()
