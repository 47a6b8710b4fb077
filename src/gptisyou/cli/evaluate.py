"""`eval`: how well a run imitates its persona, on held-out replies: report.html and metrics.json."""

import json
from pathlib import Path

import click

from gptisyou.cli.context import (
    MOST_CANDIDATES,
    Number,
    chosen,
    config_options,
    engine_option,
    open_store,
    progress_bar,
    style_strength_option,
)
from gptisyou.eval.config import EvalConfig  # light: a dataclass, no torch

# (flag, EvalConfig field, click type): every default and help text comes from EvalConfig
_SETTINGS = (
    ("--samples", "samples", click.IntRange(min=1)),
    ("--seed", "seed", int),
    ("--temperature", "temperature", Number(0, 2)),
    ("--max-new-tokens", "max_new_tokens", click.IntRange(min=1)),
    ("--fit-tokens", "fit_tokens", click.IntRange(min=256)),
    ("--candidates", "candidates", click.IntRange(1, MOST_CANDIDATES)),
)


@click.command("eval")
@click.option("--as", "persona", required=True, help="The persona whose run to evaluate.")
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A run directory (default: the persona's latest run).")  # fmt: skip
@config_options(EvalConfig, _SETTINGS)
@style_strength_option
@engine_option
@click.pass_context
def eval_command(ctx: click.Context, persona: str, run_dir: Path | None, style_strength: float, engine: str,
                 **given) -> None:  # fmt: skip
    """Measure how well the model writes like PERSONA on its held-out replies (the run's held-out conversations:
    spread across the chat, or the latest with train --hold-out latest), against the base on the same moments.

    Perplexity, token accuracy, who-said-it attribution, two-sample tests (by content and style, and by style
    alone, tuned and base paired), style statistics, verbatim copies and leaked contact details, in
    <run>/eval/report.html (with plots and sample replies) and metrics.json.
    """
    directory = run_evaluation(ctx, persona, run_dir, style_strength=style_strength, engine=engine, **chosen(given))
    metrics = json.loads((directory / "metrics.json").read_text())
    for line in key_figures(metrics):
        click.echo(line)
    click.echo(f"report: {directory / 'report.html'}")


def run_evaluation(ctx: click.Context, persona: str, run_dir: Path | None, **settings) -> Path:
    """Evaluate the run with `settings`, the fields of `eval.config.EvalConfig` (`evaluate_run` is imported only
    here: it needs torch); returns the directory of its results."""
    from gptisyou.errors import MissingExtra
    from gptisyou.store.runs import Run

    try:
        from gptisyou.eval.evaluate import evaluate_run
    except ImportError as missing:
        raise MissingExtra.from_import(missing, "evaluation") from None
    run = Run.chosen(ctx.obj["workspace"], persona, run_dir)
    with progress_bar(ctx, "loading the model") as on_progress, open_store(ctx) as store:
        return evaluate_run(store, run.directory, EvalConfig(**settings), on_progress)


def key_figures(metrics: dict) -> list[str]:
    """One plain-words verdict per measure, with 95 % intervals (the same lines open the report)."""
    from gptisyou.eval.verdict import verdicts

    return verdicts(metrics)


@click.command()
@click.option("--as", "persona", required=True, help="The persona whose clone to test.")
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A run directory (default: the persona's latest run).")  # fmt: skip
@click.option("--questions", "count", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=int, help="The order of the questions (default: a new one each time).")
@click.pass_context
def quiz(ctx: click.Context, persona: str, run_dir: Path | None, count: int, seed: int | None) -> None:
    """A blind test: a held-out moment, two replies, which one did PERSONA really write?

    The questions are the moments of the run's last `gptisyou eval`; the answers are stored in the workspace
    and shown in the next evaluation's report. Phone numbers and e-mail addresses are hidden.
    """
    import random

    from gptisyou.eval import quiz as blind
    from gptisyou.eval.verdict import share
    from gptisyou.store.runs import Run

    run = Run.chosen(ctx.obj["workspace"], persona, run_dir)
    asked = blind.questions(run, seed if seed is not None else random.randrange(2**31))[:count]
    answers: list[bool] = []
    with open_store(ctx) as store:
        for number, question in enumerate(asked, start=1):
            picked = _ask(number, len(asked), question, persona)
            if picked is None:
                break
            answers.append(blind.answer(store, run, question, picked, via="terminal"))
            click.echo(f"{'Right' if answers[-1] else 'No'}: {'ab'[question.real]} was {persona}'s real reply.\n")
        total = blind.tally(store, run)
    click.echo(f"You picked the real reply {sum(answers)} of {len(answers)} times. All answers for this run: "
               f"{share(total)} of {total['n']} (50 % means the clone could not be told apart).")  # fmt: skip


def _ask(number: int, total: int, question, persona: str) -> int | None:
    """Show a question; the index of the reply picked, or None to stop."""
    from gptisyou.cli.context import printable

    click.echo(f"— {number}/{total} —")
    for speaker, text in question.context[-6:]:
        click.echo(printable(f"  {speaker}: {text}".replace("\n", "\n    ")))
    for letter, reply in zip("ab", question.replies, strict=True):
        click.echo(printable(f"{letter}) {reply}".replace("\n", "\n   ")))
    try:
        choice = click.prompt(f"Which did {persona} really write?", type=click.Choice(["a", "b", "q"]))
    except click.Abort:
        click.echo()
        return None
    return None if choice == "q" else "ab".index(choice)
