"""What every command shares: the workspace's store, the stderr console, tables on stdout."""

import click
from rich.console import Console
from rich.table import Table


def open_store(ctx: click.Context):
    from gptisyou.store import Store

    return Store.open(ctx.obj["workspace"])


def stderr_console(ctx: click.Context) -> Console:
    return Console(stderr=True, quiet=ctx.obj["quiet"], highlight=False, soft_wrap=True)


def print_table(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A table on stdout: it fits the terminal; piped into a file or a program it keeps whole lines."""
    table = Table(*columns, box=None)
    for row in rows:
        table.add_row(*row)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=1_000)
    console.print(table)


def day(value) -> str:
    return f"{value:%Y-%m-%d}" if value else "—"
