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
    """series: iterable of dicts with keys mean, se, label, theory, bounds. Returns PNG bytes."""
    fig, ax = plt.subplots(figsize=(9.0, 4.4), dpi=120)
    for s in series:
        plot_metric(ax, s["mean"], s["se"], s["label"], s.get("theory"), s.get("bounds", ()))
    ax.set_xlabel("generation n (1 = trained on real data)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
