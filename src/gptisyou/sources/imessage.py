"""iMessage: the Messages app's `chat.db` on a Mac (`~/Library/Messages/chat.db`), a SQLite database.

The database is never modified: it is copied (with its `-wal` journal, so messages Messages has not yet
checkpointed are there too) into a private temporary folder in the workspace and the copy is opened read-only,
which also works while Messages has the original open. Only tables are read: a `message` that is a view (which
could run any query) is refused, and so is a database of more than `MAX_ROWS` messages. Ctrl-C stops a read.

- Chats come from the `chat` table where it exists; older or trimmed databases without one group messages by
  `chat_message_join.chat_id`, else by the other person's handle.
- `is_from_me` rows are the owner's, named with `--me` (default "Me"); other rows are from their handle (a phone
  number or e-mail address, as the database stores it); a handle the database does not have is "Unknown".
- Text is the `text` column, or, when that is NULL (newer macOS), the string inside `attributedBody`, an
  NSAttributedString in Apple's typedstream format, decoded with a typedstream reader (not guessed from bytes);
  one that reader cannot decode (another streamer version) is kept as a placeholder, counted in one warning.
- Tapbacks (likes, loves and the rest, `associated_message_type` 2000 to 3999) are reactions, not messages. A row
  with an attachment and no words is media; `item_type` other than 0 (renames, people added) is a system line.
- Dates count from 2001-01-01 UTC, in seconds in old databases and nanoseconds in new ones, and are shown in
  the machine's time zone.
"""

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from pathlib import Path

from gptisyou.errors import ParseError
from gptisyou.messages import Message
from gptisyou.sources.types import Chat, ParseReport, Progress, ReadOptions, shown

OWNER = "Me"
MAX_ROWS = 20_000_000  # messages in one database; a real one holds a few hundred thousand
UNREADABLE = "[a message gptisyou could not read]"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_APPLE_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)
_NANOSECONDS_FROM = 10**11  # a date this large counts nanoseconds (seconds would be thousands of years away)
_TAPBACKS = range(2000, 4000)
_OBJECT_REPLACEMENT = "\ufffc"  # where an attachment sits in a message's text
_PROGRESS_EVERY = 4096  # messages


def sniff(path: Path) -> bool:
    """A SQLite database with Messages' `message` table (its `is_from_me` and `handle_id` columns)."""
    with open(path, "rb") as file:
        if file.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            return False
    try:
        with closing(_opened(path)) as db:
            if "message" not in _tables(db):
                return False
            columns = {row[1] for row in db.execute("PRAGMA table_info(message)")}
    except sqlite3.DatabaseError:
        return False
    return {"is_from_me", "handle_id", "date"} <= columns


def chats(
    path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None = None
) -> Iterator[tuple[Chat, Iterator[Message]]]:
    """The `Source` interface: each conversation of the database, its messages in time order, streamed from
    SQLite (which sorts them), so memory holds one message, never the database."""
    with tempfile.TemporaryDirectory(prefix=f"{os.getpid()}-imessage-", dir=options.scratch) as folder:  # 0700
        copy = Path(folder) / "chat.db"
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{path}{suffix}").is_file():
                shutil.copyfile(f"{path}{suffix}", f"{copy}{suffix}")
        with closing(_opened(copy)) as db:
            yield from _conversations(db, path, options, report, progress)


def _conversations(
    db: sqlite3.Connection, path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None
) -> Iterator[tuple[Chat, Iterator[Message]]]:
    tables = _tables(db)
    if "message" not in tables:
        raise ParseError(path, None, "its 'message' is not a table: not a Messages database gptisyou reads")
    handles = dict(_read(db, "SELECT ROWID, id FROM handle")) if "handle" in tables else {}
    rows = _rows(tables)
    conversations = _read(db, f"{rows} SELECT conversation, messages, tapbacks FROM firsts {_FIRST_FIRST}")
    count = sum(messages for _, messages, _ in conversations)
    tapbacks = sum(tapbacks for _, _, tapbacks in conversations)
    if count > MAX_ROWS:
        raise ParseError(path, None, f"more than {MAX_ROWS:,} messages: more than gptisyou reads from one database")
    if tapbacks:
        report.warnings.append(f"{path.name}: {tapbacks:,} tapback(s) are reactions, not messages, and were left out")
    owner = options.me or OWNER
    unreadable: list[int] = []
    size = path.stat().st_size
    tell = (lambda done: progress(size * done // count, size)) if progress else None
    titles = _titles(db, rows, [key for key, _, _ in conversations], handles, options)
    with closing(_streamed(db, f"{rows} {_IN_TIME}", tell)) as ordered:  # closed while the database is open
        # the same rows in the same order as the titles' conversations: one group of rows each
        for (key, title), (_, mine) in zip(titles, groupby(ordered, key=itemgetter(0)), strict=True):
            yield (
                Chat(key=f"imessage:{key}", title=title),
                (_message(row, handles, owner, path, options, unreadable) for row in mine if row[6] not in _TAPBACKS),
            )
    if unreadable:
        report.warnings.append(
            f"{path.name}: {len(unreadable):,} message(s) whose text could not be decoded "
            f"(rows {', '.join(map(str, unreadable[:5]))}{', …' if len(unreadable) > 5 else ''})"
            f" were kept as '{UNREADABLE}'"
        )
    if progress:
        progress(size, size)


def _opened(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.execute("PRAGMA query_only = ON")
    db.execute("PRAGMA trusted_schema = OFF")  # the file's own triggers, views and functions are not run
    db.set_progress_handler(lambda: 0, 100_000)  # Python runs its signal handlers here: Ctrl-C stops a query
    return db


def _tables(db: sqlite3.Connection) -> set[str]:
    """The names of the database's tables (never its views)."""
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _read(db: sqlite3.Connection, query: str) -> list[tuple]:
    return list(_streamed(db, query))


def _streamed(db: sqlite3.Connection, query: str, tell: Callable[[int], None] | None = None) -> Iterator[tuple]:
    """The rows of `query`, one at a time; `tell` hears how many were read, every few thousand."""
    try:
        for done, row in enumerate(db.execute(query), start=1):
            if tell and done % _PROGRESS_EVERY == 0:
                tell(done)
            yield row
    except sqlite3.OperationalError as error:
        if "interrupted" in str(error):  # Ctrl-C while SQLite ran: its progress handler stopped the query
            raise KeyboardInterrupt from None
        raise


def _rows(tables: set[str]) -> str:
    """A `rows` table (conversation, row id, date, is_from_me, handle, text, tapback type, attributedBody, item type,
    has attachment) of every message, for the queries that follow it."""
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
        "WITH rows (conversation, id, date, from_me, handle, text, tapback, body, item_type, attachment) AS ("
        f"SELECT CAST({conversation} AS TEXT), m.ROWID, m.date, m.is_from_me, m.handle_id, m.text,"
        " COALESCE(m.associated_message_type, 0), m.attributedBody, COALESCE(m.item_type, 0),"
        f" COALESCE(m.cache_has_attachments, 0) FROM message m {joins}),"
        " firsts AS (SELECT conversation, MIN(date) AS first_date, MIN(id) AS first_id, COUNT(*) AS messages,"
        " SUM(tapback BETWEEN 2000 AND 3999) AS tapbacks FROM rows GROUP BY conversation)"
    )


_FIRST_FIRST = "ORDER BY first_date, first_id, conversation"  # conversations in the order of their first messages
# every message, conversation by conversation, each in time order
_IN_TIME = f"SELECT rows.* FROM rows JOIN firsts USING (conversation) {_FIRST_FIRST}, date, id"


def _titles(
    db: sqlite3.Connection, rows: str, keys: list[str], handles: dict, options: ReadOptions
) -> list[tuple[str, str]]:
    """(key, title) of each conversation of `keys`, in their order; titled by the other people's handles."""
    people: dict[str, list[str]] = {key: [] for key in keys}
    for key, handle in _read(
        db,
        f"{rows} SELECT conversation, handle FROM rows WHERE NOT from_me"
        " GROUP BY conversation, handle ORDER BY MIN(date), MIN(id)",
    ):
        name = _handle(handle, handles, options)
        if name not in people[key]:
            people[key].append(name)
    return [(key, ", ".join(names) or f"conversation {key}") for key, names in people.items()]


def _message(
    row: tuple, handles: dict, owner: str, path: Path, options: ReadOptions, unreadable: list[int]
) -> Message:
    _, rowid, date, from_me, handle, text, _, body, item_type, attachment = row
    timestamp = _local_time(date, options, path, rowid)
    sender = owner if from_me else _handle(handle, handles, options)
    if not isinstance(text, str):
        text = _attributed_text(body)
        if text is None:
            text = UNREADABLE
            unreadable.append(rowid)
    if item_type:
        return Message(None, timestamp, text or "conversation changed", "system", line=rowid, source="imessage")
    words = text.replace(_OBJECT_REPLACEMENT, "").strip()
    if attachment or _OBJECT_REPLACEMENT in text:
        placeholder = "attachment omitted"
        return Message(
            sender,
            timestamp,
            f"{placeholder}\n{words}" if words else placeholder,
            "media",
            None,
            False,
            rowid,
            "imessage",
        )
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


def _attributed_text(body) -> str | None:
    """The string of an NSAttributedString archived in typedstream format (the first object it holds); None when
    the bytes are no typedstream the reader knows."""
    if not body or not isinstance(body, bytes):
        return ""
    import typedstream

    try:
        archived = typedstream.unarchive_from_data(body)
    except Exception:  # noqa: BLE001 -- any failure of a third-party decoder on foreign bytes: kept, unread
        return _nsstring_text(body)
    for item in getattr(archived, "contents", ()):
        value = getattr(item, "value", None)
        if hasattr(value, "value") and isinstance(value.value, str):
            return value.value
    return ""


def _nsstring_text(body: bytes) -> str | None:
    """The text after the first `NSString` marker, as the widely used heuristic reads bytes that are no typedstream
    (some tools write them so): five bytes of preamble, then the length (one byte, or 0x81 and two bytes, little
    endian), then that many bytes of UTF-8. None when they are not there."""
    _, marker, rest = body.partition(b"NSString")
    rest = rest[5:]
    if not marker or not rest:
        return None
    if rest[0] == 0x81:
        length, start = int.from_bytes(rest[1:3], "little"), 3
    else:
        length, start = rest[0], 1
    text = rest[start : start + length]
    if len(text) != length:
        return None
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _local_time(date, options: ReadOptions, path: Path, rowid: int) -> datetime:
    try:
        date = int(date or 0)
        seconds = date / 1e9 if abs(date) >= _NANOSECONDS_FROM else date
        return shown(_APPLE_EPOCH + timedelta(seconds=seconds), options.tz)
    except (TypeError, ValueError, OverflowError):
        raise ParseError(path, None, f"message row {rowid}: its date {date!r} is no time") from None
