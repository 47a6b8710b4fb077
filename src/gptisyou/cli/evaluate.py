"""`eval`: how well a run imitates its persona, on held-out replies: report.html and metrics.json."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from gptisyou.cli.context import (
    MOST_CANDIDATES,
    Number,
    chosen,
    config_options,
    confirmed,
    engine_option,
    literal,
    open_store,
    print_table,
    progress_bar,
    stderr_console,
    style_strength_option,
)
from gptisyou.cli.routes import OLLAMA, EndpointChoice, prompted_clone
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
@click.option(
    "--run",
    "run_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A run directory (default: the persona's latest run).",
)
@config_options(EvalConfig, _SETTINGS)
@style_strength_option
@engine_option
@click.option(
    "--route",
    "routes",
    multiple=True,
    callback=lambda _c, _p, value: _routes(value),
    help="Also ask this clone for its reply to the same moments (repeatable): endpoint:MODEL@URL, a chat "
    "endpoint prompted from the run's training period; hosted, the persona's hosted fine-tuned model (see "
    "gptisyou openai train). local and base are always measured.",
)
@click.option("--api-key-env", metavar="NAME", help="The environment variable holding the endpoints' key.")
@click.option(
    "--no-redact",
    "keep_personal_data",
    is_flag=True,
    help="Send personal data to an endpoint elsewhere, or the hosted model, as it is (default: pseudonyms).",
)
@click.option(
    "--yes",
    "consented",
    is_flag=True,
    help="Consent to what an endpoint elsewhere than this machine, or the hosted model, is sent, without asking.",
)
@click.pass_context
def eval_command(
    ctx: click.Context,
    persona: str,
    run_dir: Path | None,
    style_strength: float,
    engine: str,
    routes: tuple[tuple[str, str] | str, ...],
    api_key_env: str | None,
    keep_personal_data: bool,
    consented: bool,
    **given,
) -> None:
    """Measure how well the model writes like PERSONA on its held-out replies (the run's held-out conversations:
    spread across the chat, or the latest with train --hold-out latest), against the base on the same moments.

    Perplexity, token accuracy, who-said-it attribution, two-sample tests (by content and style, and by style
    alone, tuned and base paired), style statistics, verbatim copies and leaked contact details, in
    <run>/eval/report.html (with plots and sample replies) and metrics.json. With --route, every route is
    measured alike on the same moments, in one table.
    """
    endpoints = [
        EndpointChoice(route[1], route[0], api_key_env, not keep_personal_data, consented)
        for route in routes
        if route != "hosted"
    ]
    hosted = HostedChoice(not keep_personal_data, consented) if "hosted" in routes else None
    directory = run_evaluation(
        ctx, persona, run_dir, endpoints, hosted, style_strength=style_strength, engine=engine, **chosen(given)
    )
    metrics = json.loads((directory / "metrics.json").read_text())
    for line in key_figures(metrics):
        click.echo(line)
    if len(metrics["routes"]) > 2:
        from gptisyou.eval.verdict import ROUTE_COLUMNS, route_rows

        print_table(ROUTE_COLUMNS, route_rows(metrics))
    click.echo(f"report: {directory / 'report.html'}")


@dataclass(frozen=True, slots=True)
class HostedChoice:
    """What the user allowed the persona's hosted fine-tuned model to be sent: the held-out moments were never
    uploaded."""

    redact: bool = True
    consented: bool = False  # --yes


def run_evaluation(
    ctx: click.Context,
    persona: str,
    run_dir: Path | None,
    endpoints: Sequence[EndpointChoice] = (),
    hosted: HostedChoice | None = None,
    **settings,
) -> Path:
    """Evaluate the run with `settings`, the fields of `eval.config.EvalConfig` (`evaluate_run` is imported only
    here: it needs torch), and the prompted clones of `endpoints` and the `hosted` fine-tuned model beside it;
    returns the directory of its results."""
    from gptisyou.errors import MissingExtra
    from gptisyou.store.runs import Run

    try:
        from gptisyou.eval.evaluate import evaluate_run
    except ImportError as missing:
        raise MissingExtra.from_import(missing, "evaluation") from None
    run = Run.chosen(ctx.obj["workspace"], persona, run_dir)
    with open_store(ctx) as store:
        routes = _prompted(ctx, store, run, endpoints) | (_hosted(ctx, store, run, hosted) if hosted else {})
        with progress_bar(ctx, "loading the model") as on_progress:
            return evaluate_run(store, run.directory, EvalConfig(**settings), on_progress, routes)


def _routes(values: tuple[str, ...]) -> tuple[tuple[str, str] | str, ...]:
    """(model, URL) of each endpoint:MODEL@URL route, and "hosted"; local and base are measured anyway."""
    endpoints = []
    for value in values:
        if value in ("local", "base"):
            continue
        if value == "hosted":
            endpoints.append(value)
            continue
        model, _, url = value.removeprefix("endpoint:").partition("@")
        if not value.startswith("endpoint:") or not model or not url.startswith(("http://", "https://")):
            raise click.BadParameter(
                f"{value!r}: a route is local, base, hosted or endpoint:MODEL@URL (endpoint:llama3.1:8b@{OLLAMA})",
                param_hint="--route",
            )
        endpoints.append((model, url))
    return tuple(dict.fromkeys(endpoints))


def _prompted(ctx: click.Context, store, run, endpoints: list[EndpointChoice]) -> dict:
    """The prompted clone of each endpoint, by route name: its card and memory from the run's training period
    alone, so the held-out moments are new to it as they are to the tuned model."""
    if not endpoints:
        return {}
    from gptisyou.chooser.build import run_dataset
    from gptisyou.data.dataset import counterpart

    data = run_dataset(store, run)
    me = counterpart(store, data.persona)
    return {
        endpoint.name: prompted_clone(ctx, endpoint, data.persona, me, data.train, "the run's training period")
        for endpoint in endpoints
    }


def _hosted(ctx: click.Context, store, run, choice: HostedChoice) -> dict:
    """The persona's hosted fine-tuned model as the route "hosted". The held-out conversations were never uploaded:
    they go to the provider only once the user consents, their third parties' names and personal data as
    pseudonyms unless --no-redact.

    Raises:
        InputError: no hosted model of the persona is recorded.
        ConsentError: the user did not consent.
    """
    from gptisyou.chooser.build import run_dataset
    from gptisyou.data.dataset import counterpart
    from gptisyou.data.redact import Redactor
    from gptisyou.errors import ConsentError
    from gptisyou.hosted.finetuned import load_latest

    data = run_dataset(store, run)
    clone = load_latest(store, data.persona)
    me = counterpart(store, data.persona)
    if choice.redact:
        everyone = {turn.sender for session in data.val for turn in session.turns} | {data.persona, me}
        clone.redactor = Redactor.hiding_others(everyone, (data.persona, me))
    how = "third parties' names and personal data as pseudonyms" if choice.redact else "as written (--no-redact)"
    sent = f"up to {EvalConfig().context_turns} turns of the conversations held out of training, never uploaded before"
    stderr_console(ctx).print(
        literal(f"The hosted model {clone.model_id} at {clone.provider} is sent each held-out moment: {sent}; {how}.")
    )
    if not choice.consented and not confirmed("Send them?", err=True):
        raise ConsentError(f"not confirmed: nothing was sent to {clone.provider} (--yes to consent)")
    return {"hosted": clone}


def key_figures(metrics: dict) -> list[str]:
    """One plain-words verdict per measure, with 95 % intervals (the same lines open the report)."""
    from gptisyou.eval.verdict import verdicts

    return verdicts(metrics)


@click.command()
@click.option("--as", "persona", required=True, help="The persona whose clone to test.")
@click.option(
    "--run",
    "run_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A run directory (default: the persona's latest run).",
)
@click.option("--questions", "count", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=int, help="The order of the questions (default: a new one each time).")
@click.option(
    "--route",
    default="local",
    show_default=True,
    help="Whose reply is the clone's: local (the run's), base, or a route of the last eval --route.",
)
@click.pass_context
def quiz(ctx: click.Context, persona: str, run_dir: Path | None, count: int, seed: int | None, route: str) -> None:
    """A blind test: a held-out moment, two replies, which one did PERSONA really write?

    The questions are the moments of the run's last `gptisyou eval`; the answers are stored in the workspace
    and shown in the next evaluation's report. Phone numbers and e-mail addresses are hidden.
    """
    import random

    from gptisyou.eval import quiz as blind
    from gptisyou.eval.verdict import share
    from gptisyou.store.runs import Run

    run = Run.chosen(ctx.obj["workspace"], persona, run_dir)
    route = {"local": "tuned"}.get(route, route)
    asked = blind.questions(run, seed if seed is not None else random.randrange(2**31), route)[:count]
    answers: list[bool] = []
    with open_store(ctx) as store:
        for number, question in enumerate(asked, start=1):
            picked = _ask(number, len(asked), question, persona)
            if picked is None:
                break
            answers.append(blind.answer(store, run, question, picked, via="terminal", route=route))
            click.echo(f"{'Right' if answers[-1] else 'No'}: {'ab'[question.real]} was {persona}'s real reply.\n")
        total = blind.tally(store, run, route=route)
    click.echo(
        f"You picked the real reply {sum(answers)} of {len(answers)} times. All answers for this run: "
        f"{share(total)} of {total['n']} (50 % means the clone could not be told apart)."
    )


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
