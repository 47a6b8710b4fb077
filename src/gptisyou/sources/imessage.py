"""iMessage: the Messages app's `chat.db` on a Mac (`~/Library/Messages/chat.db`), a SQLite database.

The database is never modified: it is copied (with its `-wal` journal, so messages Messages has not yet
checkpointed are there too) into a private temporary folder and the copy is opened read-only, which also works
while Messages has the original open.

- Chats come from the `chat` table where it exists; older or trimmed databases without one group messages by
  `chat_message_join.chat_id`, else by the other person's handle.
- `is_from_me` rows are the owner's, named with `--me` (default "Me"); other rows are from their handle (a phone
  number or e-mail address, as the database stores it); a handle the database does not have is "Unknown".
- Text is the `text` column, or, when that is NULL (newer macOS), the string inside `attributedBody`, an
  NSAttributedString in Apple's typedstream format, decoded with a typedstream reader (not guessed from bytes).
- Tapbacks (likes, loves and the rest, `associated_message_type` 2000 to 3999) are reactions, not messages. A row
  with an attachment and no words is media; `item_type` other than 0 (renames, people added) is a system line.
- Dates count from 2001-01-01 UTC, in seconds in old databases and nanoseconds in new ones, and are shown in
  the machine's time zone.
"""

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gptisyou.errors import ParseError
from gptisyou.messages import Message
from gptisyou.sources.types import Chat, ParseReport, Progress, ReadOptions, shown

OWNER = "Me"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_APPLE_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)
_NANOSECONDS_FROM = 10**11  # a date this large counts nanoseconds (seconds would be thousands of years away)
_TAPBACKS = range(2000, 4000)
_OBJECT_REPLACEMENT = "\ufffc"  # where an attachment sits in a message's text


def sniff(path: Path) -> bool:
    """A SQLite database with Messages' `message` table (its `is_from_me` and `handle_id` columns)."""
    with open(path, "rb") as file:
        if file.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            return False
    try:
        with closing(_opened(path)) as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(message)")}
    except sqlite3.DatabaseError:
        return False
    return {"is_from_me", "handle_id", "date"} <= columns


def chats(
    path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None = None
) -> Iterator[tuple[Chat, Iterator[Message]]]:
    """The `Source` interface: each conversation of the database, its messages in time order."""
    with tempfile.TemporaryDirectory(prefix="gptisyou-imessage-") as folder:  # 0700
        copy = Path(folder) / "chat.db"
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{path}{suffix}").is_file():
                shutil.copyfile(f"{path}{suffix}", f"{copy}{suffix}")
        with closing(_opened(copy)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            handles = dict(db.execute("SELECT ROWID, id FROM handle")) if "handle" in tables else {}
            rows = db.execute(_query(tables)).fetchall()
        if progress:
            size = path.stat().st_size
            progress(size, size)
    tapbacks = sum(row[6] in _TAPBACKS for row in rows)
    if tapbacks:
        report.warnings.append(f"{path.name}: {tapbacks:,} tapback(s) are reactions, not messages, and were left out")
    owner = options.me or OWNER
    for key, title in _conversations(rows, handles, options):
        mine = [row for row in rows if row[0] == key and row[6] not in _TAPBACKS]
        yield Chat(key=f"imessage:{key}", title=title), (_message(row, handles, owner, path, options) for row in mine)


def _opened(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.execute("PRAGMA query_only = ON")
    return db


def _query(tables: set[str]) -> str:
    """(conversation, row id, date, is_from_me, handle, text, tapback type, attributedBody, item type, has attachment)
    of every message, oldest first."""
    if "chat" in tables and "chat_message_join" in tables:
        conversation = "COALESCE(c.chat_identifier, j.chat_id, m.handle_id)"
        joins = "LEFT JOIN chat_message_join j ON j.message_id = m.ROWID LEFT JOIN chat c ON c.ROWID = j.chat_id"
    elif "chat_message_join" in tables:
        conversation, joins = (
            "COALESCE(j.chat_id, m.handle_id)",
            "LEFT JOIN chat_message_join j ON j.message_id = m.ROWID",
        )
    else:
        conversation, joins = "m.handle_id", ""
    return (
        f"SELECT CAST({conversation} AS TEXT), m.ROWID, m.date, m.is_from_me, m.handle_id, m.text,"
        " COALESCE(m.associated_message_type, 0), m.attributedBody, COALESCE(m.item_type, 0),"
        f" COALESCE(m.cache_has_attachments, 0) FROM message m {joins} ORDER BY m.date, m.ROWID"
    )


def _conversations(rows: list, handles: dict, options: ReadOptions) -> list[tuple[str, str]]:
    """(key, title) of each conversation, in order of its first message; titled by the other people's handles."""
    people: dict[str, list[str]] = {}
    for row in rows:
        handle = _handle(row[4], handles, options)
        names = people.setdefault(row[0], [])
        if not row[3] and handle not in names:
            names.append(handle)
    return [(key, ", ".join(names) or f"conversation {key}") for key, names in people.items()]


def _message(row: tuple, handles: dict, owner: str, path: Path, options: ReadOptions) -> Message:
    _, rowid, date, from_me, handle, text, _, body, item_type, attachment = row
    timestamp = _local_time(date, options)
    sender = owner if from_me else _handle(handle, handles, options)
    text = text if text is not None else _attributed_text(body, path, rowid)
    if item_type:
        return Message(None, timestamp, text or "conversation changed", "system", line=rowid, source="imessage")
    words = text.replace(_OBJECT_REPLACEMENT, "").strip()
    if attachment or _OBJECT_REPLACEMENT in text:
        placeholder = "attachment omitted"
        return Message(sender, timestamp, f"{placeholder}\n{words}" if words else placeholder, "media", None, False,
                       rowid, "imessage")  # fmt: skip
    return Message(sender, timestamp, text, "text", None, False, rowid, "imessage")


def _handle(handle, handles: dict, options: ReadOptions | None = None) -> str:
    """The handle's name from --contacts, else its address; one the database lacks keeps its number, so two
    unknown people stay apart."""
    if not isinstance(handle, int):
        return "Unknown"
    address = handles.get(handle)
    if address is None:
        return f"handle {handle}"
    return (options.contact_name(address) if options else None) or address


def _attributed_text(body: bytes | None, path: Path, rowid: int) -> str:
    """The string of an NSAttributedString archived in typedstream format (the first object it holds)."""
    if not body:
        return ""
    import typedstream

    try:
        archived = typedstream.unarchive_from_data(body)
    except (typedstream.InvalidTypedStreamError, ValueError, EOFError) as error:
        raise ParseError(
            path, None, f"message row {rowid}: attributedBody is not a readable typedstream ({error})"
        ) from None
    for item in getattr(archived, "contents", ()):
        value = getattr(item, "value", None)
        if hasattr(value, "value") and isinstance(value.value, str):
            return value.value
    return ""


def _local_time(date: int | None, options: ReadOptions) -> datetime:
    date = date or 0
    seconds = date / 1e9 if abs(date) >= _NANOSECONDS_FROM else date
    return shown(_APPLE_EPOCH + timedelta(seconds=seconds), options.tz)
