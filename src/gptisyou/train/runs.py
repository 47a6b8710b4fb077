"""The runs in a workspace: what each trained, on which base, and how well."""

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RunSummary:
    directory: Path
    persona: str
    base: str
    steps: int
    best_val_loss: float | None
    val_token_accuracy: float | None  # at the best validation loss
    train_token_accuracy: float | None  # at the last step


def list_runs(workspace: Path) -> list[RunSummary]:
    """Every run with a config and metrics, oldest first."""
    summaries = []
    for config_path in sorted((workspace / "runs").glob("*/*/config.json")):
        metrics_path = config_path.with_name("metrics.jsonl")
        if not metrics_path.is_file():
            continue
        config = json.loads(config_path.read_text())["train"]
        records = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
        evaluations = [r for r in records if "val_loss" in r and r["step"] > 0]
        best = min(evaluations, key=lambda r: r["val_loss"]) if evaluations else None
        trained = [r for r in records if "train_loss" in r]
        summaries.append(
            RunSummary(
                config_path.parent, config["persona"], config.get("base") or "gemma-3-270m",
                trained[-1]["step"] if trained else 0,
                best["val_loss"] if best else None, best["val_token_accuracy"] if best else None,
                trained[-1]["train_token_accuracy"] if trained else None,
            )
        )  # fmt: skip
    return summaries


def recent_speed(workspace: Path) -> float | None:
    """Median training tokens/s of the most recent run that took steps: a guide to how long the next one takes."""
    for metrics_path in sorted(
        (workspace / "runs").glob("*/*/metrics.jsonl"), key=lambda p: p.parent.name, reverse=True
    ):
        speeds = sorted(
            record["tokens_per_s"]
            for record in map(json.loads, metrics_path.read_text().splitlines())
            if "tokens_per_s" in record
        )
        if speeds:
            return speeds[len(speeds) // 2]
    return None
