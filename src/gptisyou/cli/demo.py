"""`demo`: the whole product on a bundled sample chat, from a WhatsApp export to an evaluated clone."""

import json
import time

import click

from gptisyou.cli.chats import import_command, people
from gptisyou.cli.context import Number, literal, stderr_console
from gptisyou.cli.portrait import portrait

DEMO_PERSONA = "Sam"  # the contact in the demo export: the classic case, a model of the other person


@click.command()
@click.option("--minutes", type=Number(min=0, min_open=True), default=5.0, show_default=True, help="Training time.")
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=None,
    help="Held-out replies each model writes in the evaluation [default: 100 where llama.cpp runs the "
    "clone, 24 on torch, whose replies take four times as long].",
)
@click.option("--base", default=None, help="Another base model (default: the embedded Gemma 3 270M).")
@click.option("--import-only", is_flag=True, help="Stop after the import (no training, no model needed).")
@click.pass_context
def demo(ctx: click.Context, minutes: float, samples: int | None, base: str | None, import_only: bool) -> None:
    """Run the product end to end on a bundled sample chat (two real people, 4,981 messages).

    Writes the sample as a WhatsApp export, imports it, fine-tunes the local model to write like Sam for a
    few minutes, evaluates it on Sam's replies in conversations held out across the chat, writes Sam's portrait
    beside the report and says how to talk to the clone.
    """
    from gptisyou.cli.evaluate import key_figures, run_evaluation
    from gptisyou.cli.train import train
    from gptisyou.sources import sample

    started = time.monotonic()
    console = stderr_console(ctx)
    workspace = ctx.obj["workspace"]
    console.rule("[bold]1/4 A WhatsApp export of a real two-person chat (chitchat-dataset, MIT)")
    export = sample.write_sample_export(workspace / "demo")
    console.print(literal(f"wrote {export}"))
    console.rule("[bold]2/4 Import it into the workspace")
    ctx.invoke(import_command, files=(export,))
    ctx.invoke(people)
    if import_only:
        return
    console.rule(f"[bold]3/4 Fine-tune the local model to write like {DEMO_PERSONA} ({minutes:g} minutes)")
    ctx.invoke(train, persona=DEMO_PERSONA, base=base, minutes=minutes)
    console.rule(f"[bold]4/4 How well does it write like {DEMO_PERSONA}? (held-out replies, tuned vs base)")
    directory = run_evaluation(ctx, DEMO_PERSONA, None, samples=samples or default_samples(workspace))
    metrics = json.loads((directory / "metrics.json").read_text())
    console.rule(f"[bold]What {DEMO_PERSONA} is like and what they talked about (from the chat itself)")
    ctx.invoke(portrait, persona=DEMO_PERSONA, out=directory / "portrait.html")
    console.rule("[bold]Result")
    for line in key_figures(metrics):
        click.echo(line)
    click.echo(f"report: {directory / 'report.html'} · portrait: {directory / 'portrait.html'}")
    click.echo(f"demo finished in {(time.monotonic() - started) / 60:.1f} minutes. Next:")
    prefix = f"gptisyou --workspace {workspace}"
    click.echo(f"  {prefix} chat --as {DEMO_PERSONA}      # talk to the clone")
    click.echo(f"  {prefix} serve --as {DEMO_PERSONA}     # web chat page + OpenAI-compatible API on 127.0.0.1:8000")
    click.echo(f"  {prefix} ask --as {DEMO_PERSONA} --preset cold-reply")


def default_samples(workspace) -> int:
    """How many held-out replies the demo's evaluation asks of each model: 100 where llama.cpp runs the clone
    (about 3½ minutes on 2 cores, intervals of ±7 to ±9 points), 24 on torch, which keeps the demo within 15
    minutes at the price of intervals three times as wide (±15 points)."""
    from gptisyou.engine import choice
    from gptisyou.store.runs import Run

    return 100 if choice.resolved("auto", Run.latest(workspace, DEMO_PERSONA)) == "llama.cpp" else 24
