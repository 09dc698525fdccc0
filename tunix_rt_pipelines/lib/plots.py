"""One look for every chart the UI shows: 800 x 400 px PNGs, labelled axes, fonts read at 100 %.

The Dagster UI shows an embedded image at its pixel size, so the size here is the size a user
reads: at least 640 px wide (issue 13: the 384 x 224 px charts were unreadable). matplotlib is
imported on call only; charts stay tens of KB (they live in the event log as base64).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.0, 100  # 800 x 400 px
FONT = {"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "xtick.labelsize": 11, "ytick.labelsize": 11,
        "legend.fontsize": 11}
ACCENT, MUTED, WARN = "#4F43DD", "#A7A7A7", "#C0392B"


@contextmanager
def chart(path: Path, title: str, xlabel: str, ylabel: str):
    """Yield a matplotlib `Axes` with the house look; on exit save it to `path` as PNG and close it.

    Args:
        path: Where the PNG goes.
        title: Shown above the plot.
        xlabel: The x axis label (with its unit where there is one).
        ylabel: The y axis label.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context(FONT):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
        try:
            ax.set_title(title)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
            yield ax
            fig.tight_layout()
            fig.savefig(path, format="png", dpi=DPI)
        finally:
            plt.close(fig)


def loss_curve(history: Sequence[dict[str, float]], path: Path) -> None:
    """Training loss by optimizer step (log scale), from the Trainer's logged history."""
    with chart(path, f"training loss ({len(history)} logged steps)", "optimizer step", "loss (log scale)") as ax:
        ax.plot([h["step"] for h in history], [h["loss"] for h in history], color=ACCENT, marker="o" if len(history) < 30 else None)
        if history and all(h["loss"] > 0 for h in history):
            from matplotlib.ticker import FuncFormatter

            ax.set_yscale("log")
            plain = FuncFormatter(lambda v, _: f"{v:g}")  # 2, 3, 4 rather than 2x10^0
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
