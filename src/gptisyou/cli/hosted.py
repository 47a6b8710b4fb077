"""`openai …`: hosted fine-tuning through an OpenAI-compatible API, opt-in; `forget`: delete, here and there."""

from contextlib import contextmanager
from pathlib import Path

import click
from rich.markup import escape

from gptisyou.cli.context import confirmed, literal, open_store, print_table, stderr_console


@click.group("openai")
@click.option("--provider", help="Provider profile: openai, or compatible (any OpenAI-compatible fine-tuning API).")
@click.option("--base-url", help="The API's base URL (or $OPENAI_BASE_URL), e.g. https://host/v1.")
@click.option("--api-key", help="The API key (default: $OPENAI_API_KEY).")
@click.pass_context
def hosted(ctx: click.Context, provider: str | None, base_url: str | None, api_key: str | None) -> None:
    """Fine-tune a hosted model, the original route: nothing is sent before you have seen what and agreed.

    \b
    OpenAI is winding fine-tuning down: no new jobs for organisations that never fine-tuned (announced
    2026-05-07), none for anyone from 2027-01-06. Other providers serve the same API (--base-url); the local
    route needs no account: gptisyou train --as NAME.
    """
    ctx.obj["endpoint"] = {"provider": provider, "base_url": base_url, "api_key": api_key}


def _endpoint(ctx: click.Context):
    from gptisyou.hosted.providers import endpoint

    return endpoint(**ctx.obj["endpoint"])


@hosted.command("train")
@click.option("--as", "persona", required=True, help="The participant to imitate.")
@click.option(
    "--model",
    help="The base model to fine-tune (default gpt-4o-mini-2024-07-18; davinci-002 and "
    "babbage-002 take the original prompt/completion form).",
)
@click.option("--epochs", type=click.IntRange(1, 50), default=3, show_default=True)
@click.option(
    "--no-redact", "keep_personal_data", is_flag=True, help="Send phone numbers, e-mails, names as they are."
)
@click.option("--yes", is_flag=True, help="Confirm consent without asking (the other people agreed).")
@click.option("--no-wait", is_flag=True, help="Start the job and return; follow it with `gptisyou openai status`.")
@click.option("--poll-seconds", type=float, default=10.0, hidden=True)
@click.pass_context
def train(
    ctx: click.Context,
    persona: str,
    model: str | None,
    epochs: int,
    keep_personal_data: bool,
    yes: bool,
    no_wait: bool,
    poll_seconds: float,
) -> None:
    """Upload PERSONA's dataset and start a fine-tuning job, after showing what is sent and what it costs."""
    from gptisyou.data import pricing
    from gptisyou.errors import ConsentError, RemoteError
    from gptisyou.hosted import finetune
    from gptisyou.hosted.providers import client

    target = _endpoint(ctx)
    model = model or pricing.DEFAULT_MODEL
    console = stderr_console(ctx)
    with open_store(ctx) as store:
        plan = finetune.plan(store, ctx.obj["workspace"], persona, model, epochs, redact=not keep_personal_data)
        for line in _plan_lines(plan, target):
            click.echo(line)
        if target.provider.note:
            console.print(f"[dim]{target.provider.note}[/dim]")
        if not yes and not _consents(persona, target.base_url):
            raise ConsentError("nothing was sent")
        api = client(target)
        job_id = finetune.start(store, target, api, plan)
        click.echo(f"job {job_id} started for {persona} on {model}")
        if no_wait:
            return
        with console.status("following the job (Ctrl-C stops following, not the job)…"):
            job = finetune.follow(
                store,
                target,
                api,
                job_id,
                lambda message: console.print(literal(f"  {message}")),
                poll_seconds=poll_seconds,
            )
        if job.status != "succeeded":
            reason = f": {job.error.message}" if job.error and job.error.message else ""
            raise RemoteError(f"job {job_id} {job.status}{reason}")
        click.echo(f"fine-tuned model: {job.fine_tuned_model}")
        click.echo(f"next: gptisyou openai results {job_id} · gptisyou chat --as {persona} --backend openai")


def _plan_lines(plan, target) -> list[str]:
    cost = f"≈ ${plan.cost_usd:,.2f}" if plan.cost_usd is not None else "unknown (not in the price table)"
    redaction = (
        f"on: {plan.replaced_values} phone numbers, e-mails, URLs, card numbers and third-party names "
        "replaced by pseudonyms"
        if plan.redacted
        else "OFF: personal data is sent as it is"
    )
    validation = (
        f" + {plan.validation_examples} held-out ({plan.validation_file.name})" if plan.validation_file else ""
    )
    return [
        f"What would be sent to {target.base_url} ({target.provider.name}):",
        f"  {plan.examples:,} {plan.format} training examples ({plan.train_file}){validation}",
        f"  {plan.tokens:,} tokens ({plan.token_method}), {plan.epochs} epochs, on {plan.model}: {cost}",
        f"  redaction {redaction}",
    ]


def _consents(persona: str, base_url: str) -> bool:
    click.echo(
        f"These are messages of {persona} and of the people they wrote with. They will be stored and "
        f"processed by the provider at {base_url}."
    )
    try:
        answer = click.prompt("Type yes if everyone in these chats agreed to that", default="", show_default=False)
    except click.Abort:  # standard input closed, or Ctrl-C at the prompt: no consent
        click.echo()  # end the prompt's line
        return False
    return answer.strip().lower() == "yes"


@contextmanager
def _job(ctx: click.Context, job_id: str | None):
    """(store, endpoint, client, job id): the given job, or the latest one started from this workspace there."""
    from gptisyou.hosted.providers import client

    target = _endpoint(ctx)
    with open_store(ctx) as store:
        yield store, target, client(target), job_id or _latest_job(store, target)


@hosted.command()
@click.argument("given", metavar="[JOB]", required=False)
@click.pass_context
def status(ctx: click.Context, given: str | None) -> None:
    """The state of JOB (default: the latest job started from this workspace)."""
    from gptisyou.hosted import finetune

    with _job(ctx, given) as (store, target, api, job_id):
        job = finetune.retrieve(store, target, api, job_id)
    for name, value in (
        ("job", job.id),
        ("status", job.status),
        ("base model", job.model),
        ("fine-tuned model", job.fine_tuned_model or "—"),
        ("trained tokens", f"{job.trained_tokens:,}" if job.trained_tokens else "—"),
    ):
        click.echo(f"{name}: {value}")


@hosted.command()
@click.argument("given", metavar="[JOB]", required=False)
@click.pass_context
def events(ctx: click.Context, given: str | None) -> None:
    """The provider's messages about JOB, oldest first."""
    from datetime import datetime

    from gptisyou.hosted import finetune

    with _job(ctx, given) as (_store, _target, api, job_id):
        found = finetune.events(api, job_id)
    for event in found:
        click.echo(f"{datetime.fromtimestamp(event.created_at):%Y-%m-%d %H:%M:%S}  {event.message}")


@hosted.command()
@click.argument("given", metavar="[JOB]", required=False)
@click.pass_context
def cancel(ctx: click.Context, given: str | None) -> None:
    """Stop JOB at the provider."""
    from gptisyou.hosted import finetune

    with _job(ctx, given) as (store, target, api, job_id):
        job = finetune.cancel(store, target, api, job_id)
    click.echo(f"job {job.id}: {job.status}")


@hosted.command()
@click.argument("given", metavar="[JOB]", required=False)
@click.pass_context
def results(ctx: click.Context, given: str | None) -> None:
    """Training loss and token accuracy per step of a finished JOB, as a table and a plot."""
    from gptisyou.hosted import finetune
    from gptisyou.store.workspace import hosted_dir

    with _job(ctx, given) as (store, target, api, job_id):
        steps = finetune.results(store, target, api, job_id)
        persona = finetune.persona_of(store, target, job_id)  # results() refused a job not started from here
    shown = steps if len(steps) <= 20 else steps[:: max(1, len(steps) // 20)] + steps[-1:]
    print_table(
        ("Step", "Train loss", "Train token acc.", "Val loss", "Val token acc."),
        [
            (
                str(s.step),
                _value(s.train_loss),
                _value(s.train_accuracy),
                _value(s.valid_loss),
                _value(s.valid_accuracy),
            )
            for s in shown
        ],
    )
    workspace = ctx.obj["workspace"]
    plot = hosted_dir(workspace, persona) / f"{job_id}.png"  # with the persona's hosted files: forget deletes it
    _plot_results(steps, plot, workspace)
    click.echo(f"plot: {plot}")


def _plot_results(steps, path: Path, workspace: Path) -> None:
    from gptisyou.store.workspace import ensure_private_dir
    from gptisyou.train.curves import plot_curves

    records = [
        {"step": s.step, "train_loss": s.train_loss} | ({"val_loss": s.valid_loss} if s.valid_loss else {})
        for s in steps
        if s.train_loss is not None
    ]
    ensure_private_dir(path.parent, inside=workspace)
    plot_curves(records, path)


def _value(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _latest_job(store, target) -> str:
    from gptisyou.errors import InputError

    jobs = [job for job in store.remote.objects(kind="job") if job.provider == target.base_url]
    if not jobs:
        raise InputError(f"no job started from this workspace at {target.base_url}")
    return jobs[-1].remote_id


@click.command()
@click.option("--as", "persona", help="Forget what was made for this persona: runs, hosted uploads, redaction map.")
@click.option("--all", "everything", is_flag=True, help="Delete the whole workspace: chats, runs, models, all.")
@click.option("--remote", is_flag=True, help="Also delete uploaded files and fine-tuned models at the provider.")
@click.option("--provider", help="Provider profile for --remote (see gptisyou openai --help).")
@click.option("--base-url", help="The API's base URL for --remote (default: where the uploads went).")
@click.option("--api-key", help="The API key for --remote (default: $OPENAI_API_KEY).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def forget(
    ctx: click.Context,
    persona: str | None,
    everything: bool,
    remote: bool,
    provider: str | None,
    base_url: str | None,
    api_key: str | None,
    yes: bool,
) -> None:
    """Delete local data (a persona's runs and uploads, or --all) and, with --remote, what went to a provider.

    Only what gptisyou made is deleted: --all refuses a directory that holds no gptisyou database, and leaves
    (and names) any file in the workspace that gptisyou did not put there.
    """
    from gptisyou.errors import ConsentError, InputError
    from gptisyou.store import forget as forgetting

    if bool(persona) == everything:
        raise InputError("say what to forget: --as NAME, or --all")
    workspace = ctx.obj["workspace"]
    if not workspace.exists() and not workspace.is_symlink():
        click.echo(f"No workspace at {workspace}: nothing to delete.", err=True)
        return
    forgetting.check_workspace(workspace)
    left = forgetting.left_at_providers(workspace, persona)
    if left and not remote:
        stderr_console(ctx).print(
            f"[yellow]{len(left)} uploaded files, jobs or models stay at the provider "
            f"({escape(left[0].provider)}); add --remote to delete them too.[/yellow]"
        )
    what = (
        f"the whole workspace {workspace}"
        if everything
        else f"{persona}'s runs, uploads, redaction map and what their bridges remember"
    )
    if not yes and not confirmed(f"Delete {what}{' and their files and models at the provider' if remote else ''}?"):
        raise ConsentError("not confirmed: nothing was deleted")
    deletion = forgetting.forget(
        workspace, persona, _remote_forgetting(provider, base_url, api_key) if remote else None
    )
    if deletion.kept:
        shown = ", ".join(path.name for path in deletion.kept[:5]) + (" …" if len(deletion.kept) > 5 else "")
        click.echo(
            f"Deleted gptisyou's data; kept {len(deletion.kept)} item(s) gptisyou did not make: {shown}", err=True
        )
    else:
        click.echo(f"Deleted {what}.", err=True)


def _remote_forgetting(provider: str | None, base_url: str | None, api_key: str | None):
    """What `--remote` deletes at the providers, each deletion printed as it happens."""
    from gptisyou.hosted import finetune

    def delete(store, persona: str | None) -> list[str]:
        def deleted(kind: str, remote_id: str) -> None:
            click.echo(f"deleted {kind} {remote_id}")

        return finetune.forget_everywhere(store, persona, provider, base_url, api_key, deleted)

    return delete
