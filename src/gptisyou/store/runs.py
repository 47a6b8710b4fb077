"""Training runs on disk: the one place that knows a run directory's layout.

    runs/<persona>/<started>/   config.json · metrics.jsonl · loss.png · samples.md
                                adapter/ (the best adapter, peft format) · checkpoint/ (to resume)
                                eval/ (metrics.json, report.html)

A run is created exclusively: two runs started in the same second get two directories. Light on purpose: the
CLI lists and finds runs without loading torch.
"""

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Self

from gptisyou.errors import InputError
from gptisyou.store.workspace import ensure_private_dir, file_name_for

RUNS_FOLDER = "runs"
_NAME_FORMAT = "%Y%m%d-%H%M%S"


@dataclass(frozen=True, slots=True)
class Run:
    directory: Path

    # --- layout ---------------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def config_file(self) -> Path:
        return self.directory / "config.json"

    @property
    def adapter(self) -> Path:
        return self.directory / "adapter"

    @property
    def checkpoint(self) -> Path:
        return self.directory / "checkpoint"

    @property
    def metrics_file(self) -> Path:
        return self.directory / "metrics.jsonl"

    @property
    def preference_file(self) -> Path:
        return self.directory / "preference.jsonl"

    @property
    def loss_plot(self) -> Path:
        return self.directory / "loss.png"

    @property
    def samples_file(self) -> Path:
        return self.directory / "samples.md"

    @property
    def chooser_dir(self) -> Path:
        """The run's chooser of replies (`chooser.build`), built the first time more than one is sampled."""
        return self.directory / "chooser"

    @property
    def eval_dir(self) -> Path:
        return self.directory / "eval"

    @property
    def eval_metrics(self) -> Path:
        """The latest evaluation's figures and samples (`eval` writes them; the quiz, card and portrait read them)."""
        return self.eval_dir / "metrics.json"

    # --- state ----------------------------------------------------------------------------------------------

    @property
    def has_adapter(self) -> bool:
        return (self.adapter / "adapter_config.json").is_file() and (
            self.adapter / "adapter_model.safetensors"
        ).is_file()

    @property
    def resumable(self) -> bool:
        return (self.checkpoint / "training_state.pt").is_file()

    def config(self) -> "RunConfig":
        """What the run recorded when it started, typed.

        Raises:
            InputError: config.json is not JSON, or holds something else than the kind of value a field takes.
        """
        try:
            recorded = json.loads(self.config_file.read_text())
        except json.JSONDecodeError as error:
            raise InputError(f"{self.config_file}: not JSON ({error.msg} at line {error.lineno})") from None
        return RunConfig.of(recorded, self.config_file)

    def write_config(self, config: "RunConfig") -> None:
        self.config_file.write_text(json.dumps(config.as_json(), indent=1))

    @property
    def held_out_from(self) -> datetime | None:
        """Where the held-out period of its training data started (None for a run from before that was recorded)."""
        return self.config().held_out_from

    @property
    def reply_tokens(self) -> int | None:
        """The longest reply its clone writes, from the persona's own turn lengths (None: not recorded)."""
        return self.config().reply_tokens

    @property
    def persona(self) -> str | None:
        """The persona the run trained, from its config (None for a run without one)."""
        return self.config().persona if self.config_file.is_file() else None

    def metrics(self) -> list[dict]:
        if not self.metrics_file.is_file():
            return []
        return [json.loads(line) for line in self.metrics_file.read_text().splitlines() if line.strip()]

    def require_adapter(self) -> None:
        """Raises:
        InputError: the run has no adapter (it stopped before its first evaluation)."""
        if not self.has_adapter:
            raise InputError(f"{self.directory}: no adapter (the run stopped before its first evaluation?)")

    # --- finding and making runs ----------------------------------------------------------------------------

    @classmethod
    def create(cls, workspace: Path, persona: str, started: datetime | None = None) -> Self:
        """A new, empty run directory of `persona`, never one that exists already (`-2`, `-3`… in the same second).

        Raises:
            InputError: a link planted where the runs folder should be.
        """
        parent = ensure_private_dir(persona_dir(workspace, persona), inside=workspace)
        stem = (started or datetime.now()).strftime(_NAME_FORMAT)
        for attempt in range(1, 1000):
            directory = parent / (stem if attempt == 1 else f"{stem}-{attempt}")
            try:
                os.mkdir(directory, 0o700)  # exclusive: fails if another run took the name
            except FileExistsError:
                continue
            return cls(directory)
        raise InputError(f"{parent}: too many runs started in the same second")

    @classmethod
    def of(cls, workspace: Path, persona: str) -> list[Self]:
        """The persona's runs, oldest first."""
        folder = persona_dir(workspace, persona)
        return sorted((cls(path) for path in folder.iterdir() if path.is_dir()), key=_order) if folder.is_dir() else []

    @classmethod
    def every(cls, workspace: Path) -> list[Self]:
        """Every run in the workspace, by persona folder, oldest first."""
        root = workspace / RUNS_FOLDER
        if not root.is_dir():
            return []
        return [
            run
            for folder in sorted(root.iterdir())
            if folder.is_dir()
            for run in sorted((cls(path) for path in folder.iterdir() if path.is_dir()), key=_order)
        ]

    @classmethod
    def chosen(cls, workspace: Path, persona: str, directory: Path | None) -> Self:
        """The run a command was given (`--run DIR`), else the persona's latest.

        Raises:
            InputError: the given run is another persona's, or the persona has no run with an adapter.
        """
        run = cls(directory) if directory else cls.latest(workspace, persona)
        if run.persona != persona:
            raise InputError(f"{run.directory} is not a run of {persona}")
        return run

    @classmethod
    def latest(cls, workspace: Path, persona: str) -> Self:
        """The persona's most recent run with an adapter.

        Raises:
            InputError: no such run.
        """
        trained = [run for run in cls.of(workspace, persona) if run.has_adapter]
        if not trained:
            raise InputError(f"no trained model of {persona} yet: gptisyou train --as {persona}")
        return trained[-1]

    @classmethod
    def latest_resumable(cls, workspace: Path, persona: str) -> Self:
        """The persona's most recent interrupted run.

        Raises:
            InputError: none to resume.
        """
        interrupted = [run for run in cls.of(workspace, persona) if run.resumable]
        if not interrupted:
            raise InputError(f"no interrupted run of {persona} to resume (see gptisyou runs)")
        return interrupted[-1]


def persona_dir(workspace: Path, persona: str) -> Path:
    return workspace / RUNS_FOLDER / file_name_for(persona)


def _order(run: Run) -> tuple[str, int]:
    """Time order: "20260101-120000" < "20260101-120000-2" < "20260101-120001"."""
    stem, dash, attempt = run.name.rpartition("-")
    if dash and attempt.isdigit() and len(attempt) < 4:  # "…-2": the second run started in that second
        return stem, int(attempt)
    return run.name, 1


# --- summaries ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunSummary:
    directory: Path
    persona: str
    base: str
    steps: int
    best_val_loss: float | None
    val_token_accuracy: float | None  # at the best validation loss
    train_token_accuracy: float | None  # at the last step


@dataclass(frozen=True, slots=True)
class RunConfig:
    """What a run records when it starts (config.json): its training settings, the base it trained, and what it
    measured of its data. A run from before a field was recorded reads back None there."""

    train: dict  # the train.config.TrainConfig's fields as saved (TrainConfig.recorded makes one of them again)
    base_directory: Path  # the converted base model it trained (store.models)
    held_out_from: datetime | None = None  # latest rule: where its held-out period started
    reply_tokens: int | None = None  # the longest reply its clone writes: the persona's own longest turns
    held_out: tuple[tuple[int, str], ...] | None = None  # spread rule: its held-out conversations (chat, ISO start)

    @property
    def hold_out(self) -> str:
        """The rule that chose its held-out conversations: spread, or latest (every run before spread existed)."""
        return "spread" if self.held_out is not None else "latest"

    @property
    def persona(self) -> str:
        return self.train["persona"]

    @property
    def memory(self) -> int:
        """Past exchanges shown before each reply (0: none, as in runs from before memory existed)."""
        return self.train.get("memory") or 0

    @classmethod
    def of(cls, recorded: dict, source: Path) -> Self:
        """The config in `recorded`, the content of the file `source`, checked field by field.

        Raises:
            InputError: a field is missing or holds something else than the kind of value it takes.
        """

        def wrong(field: str, value, kind: str) -> InputError:
            return InputError(f"{source}: {field} is {value!r}, not {kind}")

        train, base = recorded.get("train"), recorded.get("base_directory")
        if not isinstance(train, dict) or not isinstance(train.get("persona"), str):
            raise wrong("train", train, "the training settings with a persona")
        if not isinstance(base, str):
            raise wrong("base_directory", base, "a folder")
        held_out_from = recorded.get("held_out_from")
        try:
            held_out_from = datetime.fromisoformat(held_out_from) if held_out_from else None
        except (TypeError, ValueError):
            raise wrong("held_out_from", held_out_from, "a time") from None
        reply_tokens = recorded.get("reply_tokens")
        if reply_tokens is not None and (type(reply_tokens) is not int or reply_tokens < 1):
            raise wrong("reply_tokens", reply_tokens, "a positive whole number")
        held_out = recorded.get("held_out")
        if held_out is not None:
            try:
                held_out = tuple((int(chat), datetime.fromisoformat(start).isoformat()) for chat, start in held_out)
            except (TypeError, ValueError):
                raise wrong("held_out", held_out, "a list of [chat, start] conversations") from None
        return cls(train, Path(base), held_out_from, reply_tokens, held_out)

    def as_json(self) -> dict:
        return {
            "train": self.train,
            "base_directory": str(self.base_directory),
            "held_out_from": self.held_out_from.isoformat() if self.held_out_from else None,
            "reply_tokens": self.reply_tokens,
            "held_out": [list(key) for key in self.held_out] if self.held_out is not None else None,
        }


def list_runs(workspace: Path) -> list[RunSummary]:
    """Every run with a config and metrics, by persona, oldest first."""
    summaries = []
    for run in Run.every(workspace):
        if not (run.config_file.is_file() and run.metrics_file.is_file()):
            continue
        config, records = run.config().train, run.metrics()
        evaluations = [r for r in records if "val_loss" in r and r["step"] > 0]
        best = min(evaluations, key=lambda r: r["val_loss"]) if evaluations else None
        trained = [r for r in records if "train_loss" in r]
        summaries.append(
            RunSummary(
                run.directory,
                config["persona"],
                config.get("base") or "gemma-3-270m",
                trained[-1]["step"] if trained else 0,
                best["val_loss"] if best else None,
                best["val_token_accuracy"] if best else None,
                trained[-1]["train_token_accuracy"] if trained else None,
            )
        )
    return summaries


def recent_speed(workspace: Path) -> float | None:
    """Median training tokens/s of the most recent run that took steps: a guide to how long the next one takes."""
    for run in sorted(Run.every(workspace), key=_order, reverse=True):
        speeds = sorted(record["tokens_per_s"] for record in run.metrics() if "tokens_per_s" in record)
        if speeds:
            return speeds[len(speeds) // 2]
    return None
