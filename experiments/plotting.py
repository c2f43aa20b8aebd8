"""Figures: simulation mean ± 2 SE per generation against theory curves and bounds."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def plot_metric(ax, mean, se, label, theory=None, bounds=(), color=None):
    """Draw one simulated curve with error bars, its theory curve and any bound lines on ``ax``."""
    n = np.arange(1, len(mean) + 1)
    bar = ax.errorbar(n, mean, yerr=2 * se, fmt="o", ms=4, capsize=3, label=f"{label} (mean ± 2 SE)", color=color)
    c = bar[0].get_color()
    if theory is not None:
        ax.plot(n, theory.values, "-", color=c, alpha=0.8, label=f"theory: {theory.name}")
    for b in bounds:
        ax.plot(n, b.values, "--", color=c, alpha=0.6, label=b.name)


def figure_bytes(series, title: str, ylabel: str, log_y: bool = False) -> bytes:
    """series: iterable of dicts with keys mean, se, label, theory, bounds and optionally panel (one
    subplot per distinct panel, in order of appearance). Returns PNG bytes."""
    series = list(series)
    panels = list(dict.fromkeys(s.get("panel", "") for s in series))
    fig, axes = plt.subplots(1, len(panels), figsize=(9.0 if len(panels) == 1 else 6.5 * len(panels), 4.6),
                             dpi=120, squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        for s in series:
            if s.get("panel", "") == panel:
                plot_metric(ax, s["mean"], s["se"], s["label"], s.get("theory"), s.get("bounds", ()))
        ax.set_xlabel("generation n (1 = trained on real data)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.set_title(f"{title}: {panel}" if panel else title, fontsize=10)
        if log_y:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        where = {"loc": "center left", "bbox_to_anchor": (1.01, 0.5)} if len(panels) == 1 else {"loc": "upper left"}
        ax.legend(unique.values(), unique.keys(), fontsize=6 if len(panels) > 1 else 7, **where)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def plot_band(ax, samples, label, color=None, quantiles=(0.05, 0.95)):
    """Median and a quantile band of per-replicate values ``samples`` [G, R] (for heavy-tailed metrics,
    where a mean ± SE misleads). Returns the line colour."""
    samples = np.asarray(samples, float)
    n = np.arange(1, samples.shape[0] + 1)
    lo, med, hi = np.quantile(samples, [quantiles[0], 0.5, quantiles[1]], axis=1)
    (line,) = ax.plot(n, med, "-", lw=1.5, color=color,
                      label=f"{label} (median, {quantiles[0]:.0%}–{quantiles[1]:.0%} band)")
    ax.fill_between(n, lo, hi, color=line.get_color(), alpha=0.15)
    return line.get_color()


def axes_grid(count: int, width: float = 6.0, height: float = 4.6):
    """(fig, [ax]) with ``count`` subplots side by side."""
    fig, axes = plt.subplots(1, count, figsize=(width * count, height), dpi=120, squeeze=False)
    return fig, list(axes[0])


def png_bytes(fig) -> bytes:
    """Lay out, render to PNG and close a figure."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def generation_axes(ax, ylabel, title, log_y=False):
    """Label, title, grid and legend of an axis whose x is the generation."""
    ax.set_xlabel("generation n (1 = fitted to real data)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="best")
