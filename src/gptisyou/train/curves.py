"""The loss curve of a run as a PNG: training loss per step and validation loss per evaluation."""

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from gptisyou.plots import pyplot


def plot_curves(records: Iterable[dict], png_path: Path | BinaryIO) -> Path | BinaryIO:
    """Records with `step` and `train_loss` and/or `val_loss` (a run's metrics.jsonl, a provider's results)."""
    plt = pyplot()
    records = list(records)
    train = [(r["step"], r["train_loss"]) for r in records if "train_loss" in r]
    val = [(r["step"], r["val_loss"]) for r in records if "val_loss" in r]
    figure, axes = plt.subplots(figsize=(7, 4), dpi=110)
    if train:
        axes.plot(*zip(*train, strict=True), label="training loss", color="#4c72b0", linewidth=1)
    if val:
        axes.plot(*zip(*val, strict=True), "o-", label="validation loss", color="#dd8452")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("cross-entropy on the persona's tokens")
    axes.grid(alpha=0.3)
    if train or val:
        axes.legend()
    else:  # a hosted job that reported no step
        axes.text(0.5, 0.5, "no loss reported", ha="center", va="center", transform=axes.transAxes)
    figure.tight_layout()
    figure.savefig(png_path, format="png")
    plt.close(figure)
    return png_path
