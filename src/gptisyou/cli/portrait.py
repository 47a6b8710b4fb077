"""`portrait`: what a person is like and what you talked about, computed from the chats themselves."""

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from gptisyou.cli.context import literal, one_line, open_store, stderr_console


@click.command()
@click.option("--as", "persona", required=True, help="The person to portray (any participant, yourself included).")
@click.option("--with", "with_name", help="Beside whom (default: who they write with most); only chats with both.")
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML page to write (default: portrait-NAME.html in the workspace).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the facts as JSON on stdout instead of the summary.")
@click.option(
    "--redact",
    is_flag=True,
    help="Hide phone numbers, e-mail addresses and other people's names in every quote and label.",
)
@click.pass_context
def portrait(
    ctx: click.Context, persona: str, with_name: str | None, out: Path | None, as_json: bool, redact: bool
) -> None:
    """A portrait of PERSONA from the chats: at a glance, rhythm, voice, topics over time, and the other person
    beside them. Computed on this machine from the messages (true at any model size); the page quotes real
    messages, so it is written readable by you only.
    """
    from gptisyou.errors import MissingExtra
    from gptisyou.store.workspace import portrait_path

    try:
        from gptisyou.portrait import build, page, said
    except ImportError as missing:
        raise MissingExtra.from_import(missing, "the portrait") from None
    console = stderr_console(ctx)
    with console.status(literal(f"portraying {persona}…")), open_store(ctx) as store:
        try:
            facts = build.portrait(store, persona, with_name, redact=redact)
        except ImportError as missing:
            raise MissingExtra.from_import(missing, "the portrait") from None
    default = portrait_path(ctx.obj["workspace"], persona)
    _write_private(out or default, page.render(facts), replace=out is None)
    out = out or default
    if as_json:
        click.echo(json.dumps(facts, ensure_ascii=False, indent=1))
    else:
        _summary(facts, [*facts["observations"].get(persona, []), *said.glance(facts)])
    console.print(literal(f"portrait: {out}", "dim"))


def _write_private(path: Path, text: str, replace: bool) -> None:
    """Write the page whole, readable by its owner only. A file already at `path` is replaced only when `replace`
    (the default page in the workspace); a link there is replaced, not followed.

    Raises:
        InputError: `path` exists and is not to be replaced.
    """
    from gptisyou.errors import InputError
    from gptisyou.store.workspace import written_whole

    if not replace and (path.exists() or path.is_symlink()):
        raise InputError(f"{path} exists already; choose a new name (nothing is overwritten)")
    if not path.parent.is_dir():
        raise InputError(f"{path}: the folder {path.parent} does not exist")
    with written_whole(path) as file:
        file.write(text)


def _summary(facts: dict, sentences: list[str]) -> None:
    """The portrait in the terminal: every line one line, whatever the names hold (line breaks, direction marks,
    brackets rich would read as markup)."""
    from gptisyou.portrait.build import people_of

    console = Console(highlight=False, soft_wrap=True)
    names = people_of(facts)
    for note in facts["notes"]:
        console.print(literal(one_line(note), "yellow"))
    for sentence in sentences:
        console.print(literal(one_line(f"• {sentence}")))
    table = Table("", box=None, title="Voice", title_justify="left")
    for name in names:
        table.add_column(literal(one_line(name)))
    voices = [facts["people"][name]["voice"] for name in names]
    for rank in range(5):
        table.add_row(
            str(rank + 1),
            *(
                literal(one_line(v["distinctive"][rank]["text"])) if rank < len(v["distinctive"]) else ""
                for v in voices
            ),
        )
    console.print(table)
    for number, topic in enumerate(facts["topics"][:5], start=1):
        console.print(literal(one_line(f"topic {number} ({topic['share']:.0%}): {', '.join(topic['words'])}")))
