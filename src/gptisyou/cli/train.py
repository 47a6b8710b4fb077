"""`train`: a LoRA adapter for a persona on the local machine; `runs`: what has been trained."""

from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gptisyou.cli.context import Number, chosen, config_options, open_store, print_table, stderr_console
from gptisyou.data.dataset import HOLD_OUT_RULES
from gptisyou.train.config import TrainConfig  # light: a dataclass, no torch

# (flag, TrainConfig field, click type): every default and help text comes from TrainConfig
_SETTINGS = (
    ("--base", "base", str),
    ("--minutes", "minutes", Number(min=0, min_open=True)),
    ("--max-steps", "max_steps", click.IntRange(min=1)),
    ("--epochs", "epochs", click.IntRange(min=1)),
    ("--learning-rate", "learning_rate", Number(min=0, min_open=True)),
    ("--rank", "lora_rank", click.IntRange(min=1)),
    ("--alpha", "lora_alpha", click.IntRange(min=1)),
    ("--dropout", "lora_dropout", Number(0, 1, max_open=True)),
    ("--batch-tokens", "batch_tokens", click.IntRange(min=64)),
    ("--accumulation", "accumulation", click.IntRange(min=1)),
    ("--val-tokens", "val_tokens", click.IntRange(min=256)),
    ("--memory", "memory", click.IntRange(min=0)),
    ("--preference-pairs", "preference_pairs", click.IntRange(min=0)),
    ("--self-play-rounds", "self_play_rounds", click.IntRange(min=0, max=5)),
    ("--preference-beta", "preference_beta", Number(min=0, min_open=True)),
    ("--hold-out", "hold_out", click.Choice(HOLD_OUT_RULES)),
    ("--seed", "seed", int),
)


@click.command()
@click.option("--as", "persona", required=True, help="The participant to imitate (see `gptisyou people`).")
@config_options(TrainConfig, _SETTINGS)
@click.option("--resume", is_flag=True, help="Continue the persona's interrupted run exactly where it stopped.")
@click.pass_context
def train(ctx: click.Context, persona: str, resume: bool, **given) -> None:
    """Fine-tune a LoRA adapter that writes like PERSONA, on CPU or GPU, with a progress bar and an ETA.

    Whole conversations spread across the chat are held out (10 % of the persona's turns; --hold-out latest
    holds out the latest ones instead, to measure drift): the run reports loss, perplexity and token accuracy on
    them, keeps the best adapter and stops when they stop improving; `eval` judges the clone on them. A checkpoint is written every 5 minutes
    and on Ctrl-C; --resume continues from it with the same data order and optimizer state.
    """
    from gptisyou.errors import MissingExtra

    try:
        from gptisyou.train.local import train as run_training
    except ImportError as missing:
        raise MissingExtra.from_import(missing, "local training") from None
    config = TrainConfig(persona, **chosen(given))
    console = stderr_console(ctx)
    columns = (
        TextColumn("[bold]training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress, open_store(ctx) as store:
        task = progress.add_task("train", total=None, status="preparing the base model and data…")

        def on_step(record: dict) -> None:
            status = f"loss {record['train_loss']:.3f} · {record['tokens_per_s']:.0f} tok/s"
            if "val_loss" in record:
                status += f" · val {record['val_loss']:.3f}"
            progress.update(task, completed=record["step"], total=record["total_steps"], status=status)

        def on_plan(plan) -> None:
            progress.console.print(_plan_line(plan, ctx.obj["workspace"]))

        run = run_training(store, ctx.obj["workspace"], config, on_step=on_step, resume=resume, on_plan=on_plan)
    if run is not None:  # None in the other processes under accelerate launch
        _print_result(run, ctx.obj["workspace"])


@click.command()
@click.pass_context
def runs(ctx: click.Context) -> None:
    """List the training runs: persona, base, steps, best validation loss and token accuracy."""
    from gptisyou.store.runs import list_runs

    found = list_runs(ctx.obj["workspace"])
    if not found:
        click.echo("No runs yet. Train one: gptisyou train --as NAME")
        return
    columns = ("Run", "Persona", "Base", "Steps", "Best val loss", "Val token acc.", "Train token acc.")
    print_table(
        columns,
        [
            (
                f"{run.directory.parent.name}/{run.directory.name}",
                run.persona,
                run.base,
                str(run.steps),
                _number(run.best_val_loss),
                _number(run.val_token_accuracy),
                _number(run.train_token_accuracy),
            )
            for run in found
        ],
    )


def _plan_line(plan, workspace: Path) -> str:
    from gptisyou.store.runs import recent_speed

    where = plan.device if plan.processes == 1 else f"{plan.processes} processes ({plan.device})"
    line = f"{plan.examples} windows · {plan.tokens_per_epoch:,} tokens per epoch · {plan.steps} steps on {where}; "
    speed = recent_speed(workspace)
    if speed:
        line += f"≈ {plan.tokens / speed / 60:.0f} min at the {speed:.0f} tokens/s of the last run"
    else:
        line += "the time left shows once the first steps are timed"
    return line


def _print_result(run: Path, workspace: Path) -> None:
    from gptisyou.store.runs import list_runs

    summary = next(s for s in list_runs(workspace) if s.directory == run)
    click.echo(f"run: {run}")
    click.echo(
        f"steps: {summary.steps}; best validation loss {_number(summary.best_val_loss)}, "
        f"token accuracy {_number(summary.val_token_accuracy)} (train {_number(summary.train_token_accuracy)})"
    )
    click.echo(f"adapter: {run / 'adapter'} · loss curve: {run / 'loss.png'} · sample replies: {run / 'samples.md'}")


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
