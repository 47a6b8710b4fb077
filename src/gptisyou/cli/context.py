"""What every command shares: the workspace's store, the stderr console, tables on stdout, and printing user
data (names, file names, replies) literally: never as terminal markup or raw escape codes."""

import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gptisyou.engine.responder import CANDIDATES, ENGINES  # light: dataclasses, no torch

# C0 and C1 control characters but tab and line break: an escape code in a file name must not reach a terminal;
# and the bidirectional embeddings, overrides and isolates, which make a name display as another (U+202E)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066\u2067]")
_ISOLATES = re.compile("[\u2068\u2069]")  # the portrait's own name isolates: a terminal shows their content


class Number(click.FloatRange):
    """A float option in a range, `nan` and `inf` refused (they pass every comparison a range makes)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def config_options(config: type, specs):
    """Click options for fields of the settings dataclass `config` (see gptisyou.settings), from `specs`:
    (flag, field, click type), the flag a name or a tuple of names (the first is shown; later ones are old names
    kept working). Their help text and shown default are the field's; their own default is None, so a
    command passes on only what was given (`chosen`) and the dataclass fills in the rest."""
    from gptisyou.settings import help_of

    def decorate(command):
        for flag, name, kind in reversed(specs):
            flags = (flag,) if isinstance(flag, str) else flag
            command = click.option(*flags, name, type=kind, default=None, help=help_of(config, name))(command)
        return command

    return decorate


def chosen(values: dict) -> dict:
    """The options a user gave: the rest keep their settings dataclass's defaults."""
    return {name: value for name, value in values.items() if value is not None}


def open_store(ctx: click.Context):
    from gptisyou.store.database import Store

    return Store.open(ctx.obj["workspace"])


def stderr_console(ctx: click.Context) -> Console:
    return Console(stderr=True, quiet=ctx.obj["quiet"], highlight=False, soft_wrap=True)


def print_table(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A table on stdout: it fits the terminal; piped into a file or a program it keeps whole lines."""
    table = Table(*columns, box=None)
    for row in rows:
        table.add_row(*(Text(printable(cell).replace("\n", "\\n")) for cell in row))  # a row is one line
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=1_000)
    console.print(table)


def confirmed(question: str, err: bool = False) -> bool:
    """The user's yes to `question`; no when standard input is closed (a script without --yes)."""
    try:
        return click.confirm(question, err=err)
    except click.Abort:
        click.echo(err=err)  # end the prompt's line
        return False


def day(value) -> str:
    return f"{value:%Y-%m-%d}" if value else "—"


def printable(text: str) -> str:
    """`text` with control characters and direction marks shown as escapes (`\\x1b`, `\\u202e`), safe to write to
    a terminal; first-strong isolates (U+2068 … U+2069) are left out."""
    text = _ISOLATES.sub("", text)
    return _CONTROL.sub(lambda match: match[0].encode("unicode_escape").decode("ascii"), text)


def one_line(text: str) -> str:
    """`printable`, its line breaks shown as `\\n`: a name or a word on one line of a table or a list."""
    return printable(text).replace("\n", "\\n")


def literal(text: str, style: str = "") -> Text:
    """User data for a rich console: printed as it is, brackets included, never read as markup."""
    return Text(printable(text), style=style)


style_strength_option = click.option(
    "--style-strength",
    type=Number(0, 4),
    default=1.0,
    show_default=True,
    help="How far the clone departs from the base model: the adapter's update scaled by this (1 = as trained; more "
    "stresses the person's habits, at some cost in fluency; 0 = the base model).",
)

engine_option = click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="auto",
    show_default=True,
    help="What generates the replies: llama.cpp (the 'fast' extra; fastest, for runs on a GGUF base) or torch; "
    "auto takes llama.cpp where it can.",
)

MOST_CANDIDATES = 16
candidates_option = click.option(
    "--candidates",
    type=click.IntRange(1, MOST_CANDIDATES),
    default=CANDIDATES,
    show_default=True,
    help="Replies sampled per turn, of which the run's chooser keeps the one most like the person (the chooser is "
    "built from the training period the first time: minutes; 1 = the first sample).",
)


@contextmanager
def progress_bar(ctx: click.Context, description: str) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar with an ETA on stderr while the block runs; yields `on_progress(stage, done, total)`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=stderr_console(ctx), transient=True) as progress:
        task = progress.add_task(description, total=None)

        def on_progress(stage: str, done: int, total: int) -> None:
            progress.update(task, description=stage, completed=done, total=total)

        yield on_progress
