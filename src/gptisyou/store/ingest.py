"""Importing an export file into the workspace: source → Message records → store, in one transaction.

Idempotent: a message's identity is a hash of (sender, time, text, kind) plus its ordinal among exact duplicates
in the file, so importing the same file twice adds nothing and a newer export of the same chat adds only the
new messages. The very same file read the same way is not even read again: its fingerprint (content, reading
options, version) finds the earlier import. The chat an import belongs to is the one with the app's own chat id where the export has one,
else the one it mostly repeats, else the one with the same title and people, else a new chat. Anything that goes
wrong (or Ctrl-C) rolls the whole import back.
"""

import hashlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from hashlib import blake2b
from itertools import islice
from pathlib import Path

from gptisyou import __version__, sources
from gptisyou.checksums import sha256_of
from gptisyou.errors import GptisyouError, InputError, ParseError
from gptisyou.messages import Message
from gptisyou.sources.types import DEFAULT_MAX_UNZIPPED_MB, Chat, DateOrder, ParseReport, Progress, ReadOptions, shown
from gptisyou.store.database import Store, now_text, optional_time
from gptisyou.store.workspace import scratch_dir

_BATCH = 5000
_OVERLAP_SAMPLE = 5000  # a newer export starts inside the older one, so its first messages show the overlap
_MIN_SHARED = 3  # fewer shared messages are a broadcast or a forward, not a newer export of the same chat


@dataclass(frozen=True, slots=True)
class ImportResult:
    path: Path
    chat_id: int
    chat_title: str
    new_chat: bool
    messages_read: int
    messages_added: int
    first: datetime | None
    last: datetime | None
    report: ParseReport
    import_id: int
    already: bool = False  # the same file, read the same way, was imported before: nothing was read again
    notes: tuple[str, ...] = ()  # what the user should know about where the messages went


def import_file(store: Store, path: Path, **options) -> ImportResult:
    """Import an export of a single chat (see `import_chats` for the options).

    Raises:
        InputError: as `import_chats`, or an export that holds several chats.
    """
    results = import_chats(store, path, **options)
    if len(results) != 1:
        raise InputError(f"{path}: holds {len(results)} chats, not one")
    return results[0]


def import_chats(
    store: Store,
    path: Path,
    *,
    date_order: DateOrder | None = None,
    chat_id: int | None = None,
    progress: Progress | None = None,
    max_unzipped_mb: int = DEFAULT_MAX_UNZIPPED_MB,
    me: str | None = None,
    columns: tuple[tuple[str, str], ...] = (),
    tz: tzinfo | None = None,
    contacts: tuple[tuple[str, str], ...] = (),
    keep_partial: bool = False,
) -> list[ImportResult]:
    """Import every chat of one export file, all or nothing; `chat_id` forces the chat they are added to.

    Raises:
        InputError: the file is not a readable export, or `chat_id` names no chat.
        ParseError: the file breaks off or is not text, with file:line.
    """
    path = Path(path)
    source_name, source = ("table", sources.table) if columns else sources.detect(path)
    if chat_id is not None:
        store.require_chat(chat_id)
    report = ParseReport()
    scratch = scratch_dir(store.path.parent)
    options = ReadOptions(date_order, max_unzipped_mb * 1_000_000, me, columns, tz, contacts, keep_partial, scratch)
    file = _File(path, sha256_of(path), source_name)
    reader = _fingerprint(file, options, chat_id)
    with store.transaction() as db:
        if earlier := _imported_before(db, file, reader):
            return earlier
        results = []
        for chat, messages in _read_safely(path, source.chats(path, options, report, progress)):
            readable = _normalised(_read_safely(path, messages), tz, path)
            results.append(_import_chat(db, file, chat, readable, chat_id, report))
        db.execute(
            f"UPDATE imports SET reader = ?, file_chats = ? WHERE id IN ({','.join('?' * len(results))})",
            (reader, len(results), *(result.import_id for result in results)),
        )
        return results


@dataclass(frozen=True, slots=True)
class _File:
    path: Path
    sha256: str
    source: str  # the source module that reads it


def _fingerprint(file: _File, options: ReadOptions, chat_id: int | None) -> str:
    """The file's content with everything that decides how it is read and where it goes."""
    zone = options.tz or datetime.now().astimezone().tzinfo  # None: the machine's, which may change
    how = (
        file.source,
        options.date_order,
        options.max_unzipped_bytes,
        options.me,
        options.columns,
        str(zone),
        options.contacts,
        options.keep_partial,
        chat_id,
        __version__,
    )
    return hashlib.sha256(f"{file.sha256}\x1f{how!r}".encode()).hexdigest()


def _imported_before(db: sqlite3.Connection, file: _File, reader: str) -> list[ImportResult]:
    """The results of an earlier import of the same file read the same way, every chat of it still here; else []
    (never imported so, or a chat of it removed since: then it is imported again)."""
    rows = db.execute(
        "SELECT i.id, i.chat_id, c.title, i.messages_read, i.first_ts, i.last_ts, i.date_order, i.file_chats"
        " FROM imports i JOIN chats c ON c.id = i.chat_id WHERE i.reader = ? ORDER BY i.id",
        (reader,),
    ).fetchall()
    latest = {row[1]: row for row in rows}  # each chat's latest import of the file
    if not rows or len(latest) != rows[-1][-1]:
        return []
    return [
        ImportResult(
            file.path,
            chat_id,
            title,
            False,
            read,
            0,
            optional_time(first),
            optional_time(last),
            ParseReport(date_order),
            import_id,
            already=True,
        )
        for import_id, chat_id, title, read, first, last, date_order, _ in latest.values()
    ]


def _read_safely(path: Path, items: Iterable) -> Iterator:
    """What a reader yields. A failure of the reader on content it did not expect (a field of another type, a
    value out of range) is the file's fault: a one-line ParseError naming it, never an internal error. With
    GPTISYOU_DEBUG set, it is raised as it is."""
    read = 0
    try:
        for item in items:
            yield item
            read += 1
    except (GptisyouError, OSError, MemoryError):  # ours, or the machine's (a disk, a lost mount): not the file's
        raise
    except Exception as error:
        if os.environ.get("GPTISYOU_DEBUG"):
            raise
        detail = str(error).splitlines()[0][:120] if str(error) else ""
        where = f"after {read:,} message(s)" if read else "at its start"
        raise ParseError(
            path,
            None,
            f"content gptisyou cannot read {where} ({type(error).__name__}{': ' + detail if detail else ''})",
        ) from None


def _import_chat(
    db: sqlite3.Connection,
    file: _File,
    chat: Chat,
    messages: Iterable[Message],
    chat_id: int | None,
    report: ParseReport,
) -> ImportResult:
    path, source_name = file.path, file.source
    db.execute("DROP TABLE IF EXISTS temp.incoming")
    db.execute(
        "CREATE TEMP TABLE incoming (seq INTEGER PRIMARY KEY, line INTEGER, content_hash INTEGER, ordinal INTEGER,"
        " sender TEXT, ts TEXT, text TEXT, kind TEXT, attachment TEXT, edited INTEGER, words INTEGER)"
    )
    read = _stage(db, messages)
    notes: list[str] = []
    new_chat = chat_id is None and (chat_id := _matching_chat(db, chat, source_name, notes)) is None
    if new_chat:
        chat_id = db.execute(
            "INSERT INTO chats (title, source, created_at, source_key) VALUES (?, ?, ?, ?)",
            (chat.title, source_name, now_text(), chat.key if chat.stable else None),
        ).lastrowid
    import_id = db.execute(
        "INSERT INTO imports (chat_id, file_name, sha256, imported_at, date_order, messages_read,"
        " messages_added) VALUES (?, ?, ?, ?, ?, ?, 0)",
        (chat_id, path.name, file.sha256, now_text(), report.date_order, read),
    ).lastrowid
    if not new_chat and (changed := _replace_changed_messages(db, chat_id, import_id)):
        notes.append(
            f"{changed:,} message(s) already imported changed in this file (same sender and time, new "
            "text): the newer text replaces the older"
        )
    added = _add_new_messages(db, chat_id, import_id)
    first, last = db.execute("SELECT MIN(ts), MAX(ts) FROM incoming").fetchone()
    db.execute(
        "UPDATE imports SET messages_added = ?, first_ts = ?, last_ts = ? WHERE id = ?",
        (added, first, last, import_id),
    )
    chat_title = db.execute("SELECT title FROM chats WHERE id = ?", (chat_id,)).fetchone()[0]
    db.execute("DROP TABLE temp.incoming")
    return ImportResult(
        path,
        chat_id,
        chat_title,
        new_chat,
        read,
        added,
        optional_time(first),
        optional_time(last),
        report,
        import_id,
        notes=tuple(notes),
    )


def _normalised(messages: Iterable[Message], tz: tzinfo | None, path: Path) -> Iterator[Message]:
    """Messages as the workspace keeps them. Every time is naive local time: a reader that passes on a zone (a
    Telegram `date` with an offset) must not leave aware and naive times side by side, which no later stage can
    compare. A lone UTF-16 half (JSON's `"\\ud83d"` alone) becomes U+FFFD: it is no character, and no UTF-8."""
    for message in messages:
        if not (
            type(message.text) is str
            and (message.sender is None or type(message.sender) is str)
            and (message.attachment is None or type(message.attachment) is str)
        ):
            message = _as_text(message)
        if message.timestamp.tzinfo is not None:
            try:
                message = message._replace(timestamp=shown(message.timestamp, tz))
            except OverflowError:  # year 9999 in a zone ahead of UTC
                raise ParseError(path, message.line, f"{message.timestamp} is out of the range of times") from None
        if message.attachment and not _is_utf8(message.attachment):  # the text and sender: checked by _rows
            message = message._replace(attachment=_whole(message.attachment))
        yield message


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _as_text(message: Message) -> Message:
    """A message whose fields a reader took from a file as they were (a number where a name belongs): as text."""
    return message._replace(
        sender=None if message.sender is None else str(message.sender),
        text=str(message.text),
        attachment=None if message.attachment is None else str(message.attachment),
    )


def _whole(text: str | None) -> str | None:
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace") if text else text


def _stage(db: sqlite3.Connection, messages: Iterable[Message]) -> int:
    """Copy the parsed messages into the temp table `incoming`; returns how many were read."""
    rows = _rows(messages)
    read = 0
    while batch := list(islice(rows, _BATCH)):
        db.executemany("INSERT INTO incoming VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
        read += len(batch)
    if db.execute("SELECT 1 FROM incoming WHERE ordinal IS NULL LIMIT 1").fetchone():
        _count_out_of_order_duplicates(db)
    return read


def _rows(messages: Iterable[Message]) -> Iterator[tuple]:
    """Rows for `incoming`, with each message's ordinal among identical earlier ones.

    Identical messages share their timestamp, so while time moves forward a counter per timestamp is exact.
    A message older than one before it gets ordinal NULL, filled in by `_count_out_of_order_duplicates`.
    """
    latest, seen_at_latest = "", {}
    last_time, ts = None, ""
    # the reading order: a line may hold two records (minified XML); fields unpacked, not looked up: a million times
    for seq, (sender, timestamp, text, kind, attachment, edited, line, _) in enumerate(messages):
        if timestamp != last_time:  # messages come in bursts of one minute: one conversion a burst
            last_time, ts = timestamp, timestamp.isoformat()
        try:
            identity = f"{sender or ''}\x1f{ts}\x1f{text}\x1f{kind}".encode()
        except UnicodeEncodeError:  # a lone UTF-16 half: U+FFFD, as it will be stored
            sender, text = _whole(sender), _whole(text)
            identity = f"{sender or ''}\x1f{ts}\x1f{text}\x1f{kind}".encode()
        content_hash = int.from_bytes(blake2b(identity, digest_size=8).digest(), "big", signed=True)
        if ts > latest:
            latest = ts
            seen_at_latest.clear()
        if ts == latest:
            ordinal = seen_at_latest.get(content_hash, 0)
            seen_at_latest[content_hash] = ordinal + 1
        else:
            ordinal = None
        words = len(text.split()) if kind == "text" else 0
        yield seq, line, content_hash, ordinal, sender, ts, text, kind, attachment, int(edited), words


def _count_out_of_order_duplicates(db: sqlite3.Connection) -> None:
    db.execute("CREATE INDEX temp.incoming_by_hash ON incoming (content_hash, seq)")
    db.execute(
        """
        UPDATE incoming SET ordinal = (
            SELECT COUNT(*) FROM incoming AS earlier
            WHERE earlier.content_hash = incoming.content_hash AND earlier.seq < incoming.seq)
        WHERE ordinal IS NULL
        """
    )


def _matching_chat(db: sqlite3.Connection, chat: Chat, source_name: str, notes: list[str]) -> int | None:
    """The chat an import adds to.

    An app's own chat id decides wherever both sides have one: messages shared by two chats that have ids (a text
    sent to several people at once, a message forwarded to several chats) never join them. Otherwise the chat the
    import shares several of its messages with, where they are most of what each holds over the other's time span
    and nobody writes in the import who never wrote there; else, for a chat without an id, the one with the same
    title and people (a group's newer export, with a new member). A chat shared with but not joined is named in
    `notes`: only the user can say it is the same.
    """
    if chat.stable:
        keyed = db.execute("SELECT id FROM chats WHERE source = ? AND source_key = ?", (source_name, chat.key))
        if (found := next((row[0] for row in keyed), None)) is not None:
            return found
    senders = {name for (name,) in db.execute("SELECT DISTINCT sender FROM incoming WHERE sender IS NOT NULL")}
    overlapping, newcomers = _overlapping_chat(db, source_name, keyless_only=chat.stable), []
    if overlapping is not None and not (newcomers := sorted(senders - _people_of(db, overlapping))):
        if chat.stable:  # a chat first imported from a form without ids now has one
            db.execute("UPDATE chats SET source_key = ? WHERE id = ?", (chat.key, overlapping))
        return overlapping
    if not chat.stable:
        for (candidate,) in db.execute(
            "SELECT id FROM chats WHERE title = ? AND source = ? ORDER BY id", (chat.title, source_name)
        ):
            people = _people_of(db, candidate)
            if len(people & senders) >= min(2, len(people), len(senders)):
                return candidate  # the same title and people: a group that gained a member, say
    if newcomers:
        notes.append(
            f"shares messages with chat {overlapping}, but {', '.join(newcomers[:3])} never wrote there: imported as "
            f"a chat of its own (if it is the same chat, remove this one and import again with --chat {overlapping})"
        )
    return None


def _people_of(db: sqlite3.Connection, chat_id: int) -> set[str]:
    return {name for (name,) in db.execute("SELECT name FROM people WHERE chat_id = ?", (chat_id,))}


def _overlapping_chat(db: sqlite3.Connection, source_name: str, keyless_only: bool) -> int | None:
    """The chat of this source sharing the most of the import's first messages, where they are several, at least
    half of the import's messages within that chat's time span, and half of that chat's within the import's: a
    newer export of a chat repeats it; another chat shares a stray line (a broadcast, a forward), which may be the
    whole of what it and the other hold at that moment."""
    best = db.execute(
        """
        WITH sample AS (SELECT ts, content_hash FROM incoming ORDER BY seq LIMIT :sample)
        SELECT c.id, (SELECT COUNT(*) FROM sample i JOIN messages m
                      ON m.chat_id = c.id AND m.ts = i.ts AND m.content_hash = i.content_hash) AS shared
        FROM chats c WHERE c.source = :source AND (NOT :keyless_only OR c.source_key IS NULL)
        ORDER BY shared DESC, c.id LIMIT 1
        """,
        {"sample": _OVERLAP_SAMPLE, "source": source_name, "keyless_only": keyless_only},
    ).fetchone()
    if not best or best[1] < _MIN_SHARED:
        return None
    chat_id, shared = best
    ours_within, theirs_within = db.execute(
        """
        WITH sample AS (SELECT ts FROM incoming ORDER BY seq LIMIT :sample),
             ours AS (SELECT MIN(ts) AS first, MAX(ts) AS last FROM sample),
             theirs AS (SELECT MIN(ts) AS first, MAX(ts) AS last FROM messages WHERE chat_id = :chat)
        SELECT (SELECT COUNT(*) FROM sample, theirs WHERE sample.ts BETWEEN theirs.first AND theirs.last),
               (SELECT COUNT(*) FROM messages, ours WHERE chat_id = :chat AND ts BETWEEN ours.first AND ours.last)
        """,
        {"sample": _OVERLAP_SAMPLE, "chat": chat_id},
    ).fetchone()
    return chat_id if 2 * shared >= ours_within and 2 * shared >= theirs_within else None


def _replace_changed_messages(db: sqlite3.Connection, chat_id: int, import_id: int) -> int:
    """Give stored messages the text this file has for them, where it changed (an edited line): a stored text
    message within the file's span that the file lacks, and a new one of the same sender at the same time, paired
    in order. Without this, both would be kept. Returns how many changed."""
    db.execute("CREATE INDEX temp.incoming_identity ON incoming (ts, content_hash, ordinal)")
    gone = db.execute(
        """
        WITH span AS (SELECT MIN(ts) AS first, MAX(ts) AS last FROM incoming)
        SELECT m.id, p.name, m.ts FROM messages m JOIN people p ON p.id = m.sender_id, span
        WHERE m.chat_id = ? AND m.ts BETWEEN span.first AND span.last AND m.kind = 'text' AND NOT EXISTS (
            SELECT 1 FROM incoming i WHERE i.ts = m.ts AND i.content_hash = m.content_hash AND i.ordinal = m.ordinal)
        ORDER BY m.id
        """,
        (chat_id,),
    ).fetchall()
    if not gone:
        return 0
    fresh: dict[tuple[str, str], list[tuple]] = {}
    for row in db.execute(
        """
        SELECT i.sender, i.ts, i.text, i.content_hash, i.ordinal, i.words, i.line FROM incoming i
        WHERE i.kind = 'text' AND i.sender IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM messages m WHERE m.chat_id = ? AND m.ts = i.ts AND m.content_hash = i.content_hash
                                       AND m.ordinal = i.ordinal)
        ORDER BY i.seq
        """,
        (chat_id,),
    ):
        fresh.setdefault((row[0], row[1]), []).append(row[2:])
    changed = 0
    for message_id, sender, ts in gone:
        if not (waiting := fresh.get((sender, ts))):
            continue
        text, content_hash, ordinal, words, line = waiting.pop(0)
        db.execute(
            "UPDATE messages SET text = ?, content_hash = ?, ordinal = ?, words = ?, edited = 1, import_id = ?,"
            " line = ? WHERE id = ?",
            (text, content_hash, ordinal, words, import_id, line, message_id),
        )
        changed += 1
    return changed


def _add_new_messages(db: sqlite3.Connection, chat_id: int, import_id: int) -> int:
    db.execute(
        "INSERT OR IGNORE INTO people (chat_id, name) SELECT DISTINCT ?, sender FROM incoming WHERE sender IS NOT NULL",
        (chat_id,),
    )
    before = db.total_changes
    db.execute(
        """
        INSERT OR IGNORE INTO messages (chat_id, sender_id, ts, text, kind, attachment, edited, words,
                                        content_hash, ordinal, import_id, line)
        SELECT :chat, p.id, i.ts, i.text, i.kind, i.attachment, i.edited, i.words, i.content_hash, i.ordinal, :import, i.line
        FROM incoming i LEFT JOIN people p ON p.chat_id = :chat AND p.name = i.sender
        ORDER BY i.seq
        """,
        {"chat": chat_id, "import": import_id},
    )
    return db.total_changes - before
