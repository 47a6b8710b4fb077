"""The `gptisyou` command line: parse options, call one library function, render the result.

One module per command group; this one holds the root group, its error handling and the entry point.

Results go to stdout, progress, warnings and errors to stderr. Every `GptisyouError` becomes one line
`Error: …` with its exit code; anything else is a bug and says how to get the traceback.
"""

import logging
import os
import signal
import sys
from pathlib import Path

import click

from gptisyou import __version__
from gptisyou.cli.bridge import bridge
from gptisyou.cli.chats import chats, import_command, people, show
from gptisyou.cli.context import printable
from gptisyou.cli.dataset import dataset, validate
from gptisyou.cli.demo import demo
from gptisyou.cli.evaluate import eval_command, quiz
from gptisyou.cli.export import export
from gptisyou.cli.hosted import forget, hosted
from gptisyou.cli.portrait import portrait
from gptisyou.cli.talk import ask, chat, corrections, serve
from gptisyou.cli.train import runs, train
from gptisyou.errors import GptisyouError
from gptisyou.store.workspace import private_umask, safety_warnings, workspace_dir


class _Cli(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GptisyouError as error:
            click.echo(f"Error: {printable(str(error))}", err=True)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted: nothing from the unfinished step was saved.", err=True)
            ctx.exit(130)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gptisyou")
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    help="Workspace directory (default: $GPTISYOU_HOME, else your user data directory).",
)
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.option(
    "--device",
    type=click.Choice(("auto", "cpu", "cuda", "mps")),
    envvar="GPTISYOU_DEVICE",
    default="auto",
    show_default=True,
    help="Where models train and run: auto takes CUDA, then Apple's MPS, then the CPU.",
)
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None, verbose: int, quiet: bool, device: str) -> None:
    """Turn a chat history into a model that writes like one participant — on your own machine.

    \b
    Start with:
      gptisyou import "WhatsApp Chat with Alex.zip"
      gptisyou chats
      gptisyou people
    """
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    private_umask()
    os.environ["GPTISYOU_DEVICE"] = device  # read where a model is placed, here and in training's worker processes
    ctx.obj = {"workspace": workspace_dir(workspace), "quiet": quiet, "verbose": verbose}
    for warning in safety_warnings(ctx.obj["workspace"]):
        click.echo(f"warning: {printable(warning)}", err=True)


for command in (
    import_command,
    chats,
    people,
    show,
    dataset,
    validate,
    train,
    runs,
    chat,
    corrections,
    ask,
    serve,
    bridge,
    eval_command,
    quiz,
    portrait,
    export,
    hosted,
    forget,
    demo,
):
    cli.add_command(command)


def _stop_cleanly(signum: int, _frame) -> None:
    """SIGTERM and SIGHUP end the command as Ctrl-C does: transactions roll back and temporary copies (an SMS
    spool, a copy of chat.db) are removed on the way out, instead of the process vanishing mid-step."""
    raise SystemExit(128 + signum)


def main() -> None:
    """Console entry point: user errors are one line (the group handles them); bugs are one line plus a hint."""
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _stop_cleanly)
    try:
        cli.main(prog_name="gptisyou")
    except Exception as error:
        if os.environ.get("GPTISYOU_DEBUG"):
            raise
        click.echo(
            f"Error: internal error: {type(error).__name__}: {printable(str(error))} "
            "(set GPTISYOU_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(1)
