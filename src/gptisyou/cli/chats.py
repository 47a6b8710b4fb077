"""Reading chats in: `import`, and looking at what came in: `chats`, `people`, `show`."""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from gptisyou.cli.context import confirmed, day, literal, open_store, print_table, printable, stderr_console
from gptisyou.sources.types import DATE_ORDERS, DEFAULT_MAX_UNZIPPED_MB

# --- import ----------------------------------------------------------------------------------------------------


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--date-order",
    type=click.Choice(DATE_ORDERS),
    help="Order of day, month and year in the export's dates. Default: decided from the file.",
)
@click.option("--chat", "chat_id", type=int, help="Add to this chat (see `gptisyou chats`) instead of detecting it.")
@click.option(
    "--max-unzipped-mb",
    type=click.IntRange(min=1),
    default=None,
    help=f"Refuse a chat inside a zip that unpacks to more than this (default {DEFAULT_MAX_UNZIPPED_MB:,}).",
)
@click.option("--me", help='Your name, where an export only says "sent" (SMS, iMessage; default "Me").')
@click.option(
    "--columns",
    callback=lambda _ctx, _param, value: _column_mapping(value),
    help="Read the files as a CSV or JSON Lines table with these columns, e.g. "
    "sender=author,timestamp=date,text=body (and chat=… to split it into chats).",
)
@click.option(
    "--tz",
    callback=lambda _ctx, _param, value: _zone(value),
    help="Show times stored in UTC (Telegram's epoch, Messenger, Discord, SMS, iMessage, Slack) in this zone, "
    "e.g. Europe/Paris (default: this machine's).",
)
@click.option(
    "--contacts",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A CSV of phone numbers or addresses and names (two columns), to name SMS and iMessage senders.",
)
@click.option(
    "--keep-partial",
    is_flag=True,
    help="A backup that breaks off mid-record: import the complete records before the break (default: refuse it).",
)
@click.pass_context
def import_command(
    ctx: click.Context,
    files: tuple[Path, ...],
    date_order: str | None = None,
    chat_id: int | None = None,
    max_unzipped_mb: int | None = None,
    me: str | None = None,
    columns: tuple[tuple[str, str], ...] = (),
    tz=None,
    contacts: Path | None = None,
    keep_partial: bool = False,
) -> None:
    """Import chat exports into the workspace: WhatsApp (.txt or .zip), Telegram, Messenger, Instagram and
    Discord (JSON), SMS Backup & Restore (XML), iMessage (chat.db), Slack (export zip), or any CSV/JSON Lines
    table; the format is read from the content. A folder is walked and a zip of several exports unpacked;
    files in them that are not chats are listed and skipped.

    Re-importing a file adds nothing; importing a newer export of the same chat adds only the new messages.
    Every file is checked before any is imported, and each import is all-or-nothing.
    """
    from gptisyou.errors import InputError
    from gptisyou.sources import walk
    from gptisyou.sources.contacts import read_contacts
    from gptisyou.store import ingest
    from gptisyou.store.workspace import scratch_dir

    console = stderr_console(ctx)
    limit_mb = max_unzipped_mb or DEFAULT_MAX_UNZIPPED_MB
    scratch = scratch_dir(ctx.obj["workspace"])
    with walk.exports(list(files), limit_mb * 1_000_000, tables=bool(columns), scratch=scratch) as found:
        for path in found.unknown:
            console.print(literal(f"skipped {found.shown.get(path, path)}: not a chat export gptisyou reads", "dim"))
        if not found.exports:
            raise InputError(f"no chat exports in {', '.join(map(str, files))}")
        with open_store(ctx) as store:
            for path, _ in found.exports:
                with _bytes_progress(console, path.name) as progress, _named_as(path, found.shown.get(path)):
                    results = ingest.import_chats(
                        store,
                        path,
                        date_order=date_order,
                        chat_id=chat_id,
                        progress=progress,
                        me=me,
                        columns=columns,
                        tz=tz,
                        contacts=read_contacts(contacts) if contacts else (),
                        keep_partial=keep_partial,
                        max_unzipped_mb=limit_mb,
                    )
                for result in results:
                    _print_import(result, console, ctx.obj["verbose"])
                if results:
                    _print_warnings(path, results[0].report, console)


@contextmanager
def _named_as(path: Path, shown: Path | None) -> Iterator[None]:
    """An error about a file unpacked from a zip names it as people know it (`download.zip/…`), not by the
    temporary folder it was unpacked into."""
    from gptisyou.errors import InputError

    try:
        yield
    except InputError as error:
        if shown is None:
            raise
        error.args = (str(error).replace(str(path), str(shown)),)
        raise


def _zone(name: str | None):
    """An IANA zone (`Europe/Paris`) or a usage error."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"'{name}' is not a time zone name such as Europe/Paris or America/New_York"
        ) from None


def _column_mapping(value: str | None) -> tuple[tuple[str, str], ...]:
    """`sender=author,timestamp=date,text=body` → (("sender", "author"), …); a bad one is a usage error."""
    from gptisyou.sources.table import FIELDS

    if not value:
        return ()
    pairs = tuple(tuple(part.split("=", 1)) for part in value.split(",") if part.strip())
    for pair in pairs:
        if len(pair) != 2 or pair[0].strip() not in FIELDS or not pair[1].strip():
            raise click.BadParameter(
                f"'{'='.join(pair)}': expected FIELD=COLUMN with FIELD one of {', '.join(FIELDS)}"
            )
    return tuple((field.strip(), column.strip()) for field, column in pairs)


@contextmanager
def _bytes_progress(console: Console, label: str) -> Iterator[Callable[[int, int], None]]:
    """A transient bar of bytes read, with an ETA; yields the callback the parser reports progress to."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        label = escape(printable(label))  # the description is read as markup
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            stage = label if done < total else f"{label}: storing"  # the database work follows the reading
            progress.update(task, completed=done, total=total, description=stage)

        yield update


def _print_import(result, console: Console, verbose: int) -> None:
    span = f"{result.first:%Y-%m-%d} → {result.last:%Y-%m-%d}" if result.first else "no messages"
    chat = f"chat {result.chat_id} '{result.chat_title}'" + (" (new)" if result.new_chat else "")
    if result.already:
        line = f"{result.messages_read:,} messages, 0 new, {span} (this very file was imported before: not read again)"
    else:
        line = f"{result.messages_read:,} messages read, {result.messages_added:,} new, {span}"
    click.echo(printable(f"{result.path.name} → {chat}: {line}"))
    for note in result.notes:
        console.print("[yellow]note:[/]", literal(note))
    if verbose and result.report.date_order:
        console.print(literal(f"date order {result.report.date_order}: {result.report.date_order_reason}"))


def _print_warnings(path: Path, report, console: Console) -> None:
    """What the reading of one file noticed: once per file, however many chats it held."""
    for warning in report.warnings:
        console.print("[yellow]warning:[/]", literal(warning))
    if report.suspicious_count:
        lines = ", ".join(map(str, report.suspicious_lines))
        more = ", …" if report.suspicious_count > len(report.suspicious_lines) else ""
        console.print(
            "[yellow]warning:[/]",
            literal(
                f"{path.name}: {report.suspicious_count} line(s) look like a damaged message "
                f"header (line {lines}{more}); kept as text of the message above"
            ),
        )


# --- chats, people, show ---------------------------------------------------------------------------------------


@click.command()
@click.option(
    "--remove",
    "remove_id",
    type=int,
    metavar="ID",
    help="Delete this chat: its messages, people and import history (what it holds is said first).",
)
@click.option("--yes", is_flag=True, help="With --remove: do not ask for confirmation.")
@click.pass_context
def chats(ctx: click.Context, remove_id: int | None = None, yes: bool = False) -> None:
    """List the chats in the workspace with their message counts and date ranges.

    \b
    gptisyou chats --remove 3     delete chat 3 (runs trained on it stay until gptisyou forget --as NAME)
    """
    if remove_id is not None:
        _remove_chat(ctx, remove_id, yes)
        return
    with open_store(ctx) as store:
        rows = store.chats()
    if not rows:
        click.echo("No chats yet. Import one: gptisyou import 'WhatsApp Chat with Alex.zip'")
        return
    columns = ("ID", "Title", "Source", "People", "Messages", "First", "Last")
    print_table(
        columns,
        [
            (
                str(chat.id),
                chat.title,
                chat.source,
                str(chat.people),
                f"{chat.messages:,}",
                day(chat.first),
                day(chat.last),
            )
            for chat in rows
        ],
    )


def _remove_chat(ctx: click.Context, chat_id: int, yes: bool) -> None:
    from gptisyou.errors import ConsentError

    with open_store(ctx) as store:
        chat = store.chat(chat_id)
        span = f", {day(chat.first)} → {day(chat.last)}" if chat.first else ""
        click.echo(
            printable(
                f"chat {chat.id} '{chat.title}' ({chat.source}): {chat.messages:,} messages from "
                f"{chat.people} people{span}, and its import history"
            ),
            err=True,
        )
        if not yes and not confirmed(f"Delete chat {chat_id} from the workspace?", err=True):
            raise ConsentError("not confirmed: nothing was deleted")
        store.remove_chat(chat_id)
    click.echo(f"Deleted chat {chat_id}. Runs trained on it stay until `gptisyou forget --as NAME`.", err=True)


@click.command()
@click.argument("names", nargs=-1)
@click.option("--chat", "chat_id", type=int, help="Only this chat.")
@click.option("--merge", is_flag=True, help="NAMES are one person, known by the first: --as uses all their chats.")
@click.option("--unmerge", is_flag=True, help="Forget the merges of NAMES (a merged name, or a person's all).")
@click.option("--yes", is_flag=True, help="With --merge: do not ask when the names write to each other in a chat.")
@click.pass_context
def people(
    ctx: click.Context,
    names: tuple[str, ...],
    chat_id: int | None = None,
    merge: bool = False,
    unmerge: bool = False,
    yes: bool = False,
) -> None:
    """List the participants of each chat: messages, words, first and last message.

    \b
    gptisyou people --merge "Alex Martin" alex.m "+33 6 12 34 56 78"   one person across chats and apps
    gptisyou people --unmerge alex.m
    """
    from gptisyou.errors import InputError

    asked = merge or unmerge
    if (merge and unmerge) or bool(names) != asked:
        raise InputError("give NAMES with either --merge (the person first, then their other names) or --unmerge")
    with open_store(ctx) as store:
        if merge:
            _confirm_merge(store, list(names), yes)
            store.merge_people(names[0], list(names[1:]))
            click.echo(printable(f"{', '.join(names[1:]) or names[0]} → {names[0]}"))
        elif unmerge:
            click.echo(f"{store.unmerge_people(list(names))} merged name(s) forgotten")
        if chat_id is not None:
            store.require_chat(chat_id)
        rows = store.people(chat_id)
        aliases = store.aliases()
    if not rows:
        click.echo("No people yet. Import a chat first: gptisyou import 'WhatsApp Chat with Alex.zip'")
        return
    columns = ("Chat", "Name", "Messages", "Words", "First", "Last")
    print_table(
        columns,
        [
            (
                f"{person.chat_id} {person.chat_title}",
                _shown_name(person.name, aliases),
                f"{person.messages:,}",
                f"{person.words:,}",
                day(person.first),
                day(person.last),
            )
            for person in rows
        ],
    )


def _confirm_merge(store, names: list[str], yes: bool) -> None:
    """Two names that write to each other in one chat are usually two people: ask before making them one."""
    from gptisyou.errors import ConsentError

    shared = store.chats_shared_by(names)
    if not shared or yes:
        return
    chat_id, title = shared[0]
    click.echo(
        printable(
            f"{', '.join(names)}: two of these write to each other in chat {chat_id} '{title}'"
            f"{f' and {len(shared) - 1} more' if len(shared) > 1 else ''}; they are usually two people."
        ),
        err=True,
    )
    if not confirmed("Merge them into one person anyway?", err=True):
        raise ConsentError("not confirmed: nothing was merged")


def _shown_name(name: str, aliases: dict[str, str]) -> str:
    return f"{name} (= {aliases[name]})" if name in aliases else name


@click.command()
@click.option("--chat", "chat_id", type=int, help="Chat ID from `gptisyou chats` (default: the only chat).")
@click.option("--last", type=click.IntRange(min=1), help="Only the latest N messages (default 20; --json: all).")
@click.option("--json", "as_json", is_flag=True, help="Every message as a JSON line, for scripts and jq.")
@click.pass_context
def show(ctx: click.Context, chat_id: int | None = None, last: int | None = None, as_json: bool = False) -> None:
    """Show a chat's messages: a readable preview, or JSON lines with --json.

    JSON fields: chat, sender, timestamp (ISO 8601), text, kind (text, media, system, deleted), attachment, edited.
    """
    with open_store(ctx) as store:
        if chat_id is None:
            chat_id = _only_chat(store)
        else:
            store.require_chat(chat_id)
        messages = store.messages(chat_id, last=last if (last or as_json) else 20)
        for message in messages:
            if as_json:
                click.echo(json.dumps({"chat": chat_id, **message.to_dict()}, ensure_ascii=False))
            else:
                click.echo(printable(_preview(message)))


def _only_chat(store) -> int:
    from gptisyou.errors import InputError

    chat_ids = store.chat_ids()
    if len(chat_ids) == 1:
        return chat_ids[0]
    if not chat_ids:
        raise InputError("the workspace has no chats yet: run gptisyou import first")
    raise InputError(f"--chat is needed: the workspace has {len(chat_ids)} chats (see gptisyou chats)")


def _preview(message) -> str:
    stamp = f"{message.timestamp:%Y-%m-%d %H:%M}"
    if message.kind == "system":
        head, text = "·", message.text
    elif message.kind == "media":
        head, text = (
            f"{message.sender}:",
            f"<media{': ' + message.attachment if message.attachment else ''}> " + message.text,
        )
    elif message.kind == "deleted":
        head, text = f"{message.sender}:", "<deleted>"
    else:
        head, text = f"{message.sender}:", message.text + (" <edited>" if message.edited else "")
    indent = "\n" + " " * (len(stamp) + 2)
    return f"{stamp}  {head} {text.strip() if message.kind == 'media' else text}".replace("\n", indent)
