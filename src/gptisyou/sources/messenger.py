"""Facebook Messenger and Instagram direct messages: the JSON of Meta's "Download your information" (one
`message_N.json` of a thread; a thread split over several files is one chat, each file adding to it).

Meta writes UTF-8 bytes as if each were a Latin-1 character (`"J\\u00c3\\u00a9r\\u00c3\\u00b4me"` for
"Jérôme"); every string, names included, is repaired exactly by reading its characters back as bytes and
decoding them as UTF-8, and is left as it is when that is not possible (a file someone already repaired).

What each entry becomes: `content` → text; `photos`, `videos`, `gifs`, `audio_files`, `files`, `sticker`,
`share` → media with the file's name and the content (a share's link) after a line break; `is_unsent` →
deleted; an entry with nothing to show (a reaction to a message, a removed one) → deleted; call and
join/leave entries (`type` `Call`, `Subscribe`, `Unsubscribe`) → system lines. Reactions are not messages.
Timestamps are milliseconds since the epoch, shown in the machine's time zone. The file lists messages newest
first: they are read one at a time into a private temporary spool (SQLite, in the workspace) and come out of it
oldest first, so memory holds a batch, never the thread.
"""

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from itertools import islice
from pathlib import Path, PurePosixPath

from gptisyou.errors import InputError, ParseError
from gptisyou.messages import Kind, Message
from gptisyou.sources import jsonsplit, jsonstream
from gptisyou.sources.textfile import TextSource, head_text
from gptisyou.sources.types import Chat, ParseReport, Progress, ReadOptions, from_epoch

_MEDIA = {  # key of an entry → the placeholder word the conversations stage knows
    "photos": "photo",
    "videos": "video",
    "gifs": "gif",
    "audio_files": "audio",
    "files": "document",
    "sticker": "sticker",
}
_ATTACHMENTS = {*_MEDIA, "share"}
_SYSTEM_TYPES = {"Call", "Subscribe", "Unsubscribe"}
_BATCH = 5000  # messages written to the spool at once


def sniff(path: Path) -> bool:
    """A JSON object whose messages have `sender_name` and `timestamp_ms`."""
    if path.suffix.lower() == ".zip":
        return False
    head = head_text(TextSource(path), 1 << 16).lstrip("\ufeff \t\r\n")
    return head.startswith("{") and '"sender_name"' in head and '"timestamp_ms"' in head


def chats(
    path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None = None
) -> Iterator[tuple[Chat, Iterator[Message]]]:
    """The `Source` interface: one thread (the file's part of it), its messages oldest first."""
    fields = jsonsplit.top_fields(path, ("participants", "title", "thread_path"))  # the title follows the messages
    title = repaired(_text(fields.get("title"))) or _participants_title(fields, path)
    thread = repaired(_text(fields.get("thread_path")))
    yield Chat(key=f"meta:{thread or title}", title=title, stable=bool(thread)), _oldest_first(path, options, progress)


def _oldest_first(path: Path, options: ReadOptions, progress: Progress | None) -> Iterator[Message]:
    """The file's messages (newest first), through a private temporary spool, in time order; a message is numbered
    from the end of the file, so that its number keeps when a later export adds messages before it."""
    with (
        tempfile.TemporaryDirectory(prefix=f"{os.getpid()}-meta-", dir=options.scratch) as folder,  # 0700
        closing(sqlite3.connect(Path(folder) / "messages.db")) as spool,
    ):
        count = _spool(path, spool, options, progress)
        for ts, position, sender, text, kind, attachment in spool.execute(
            "SELECT * FROM messages ORDER BY ts, position DESC"
        ):
            yield _made(sender, datetime.fromisoformat(ts), text, kind, attachment, count - position)


def _spool(path: Path, spool: sqlite3.Connection, options: ReadOptions, progress: Progress | None) -> int:
    """Write the file's messages into `spool` with their place in the file (0 the newest); returns how many."""
    spool.execute(
        "CREATE TABLE messages (ts TEXT, position INTEGER, sender TEXT, text TEXT, kind TEXT, attachment TEXT)"
    )
    entries = enumerate(jsonstream.items(path, "messages.item", progress))
    rows = (_row(position, _message(entry, position + 1, path, options)) for position, entry in entries)
    count = 0
    while batch := list(islice(rows, _BATCH)):
        spool.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)", batch)
        count += len(batch)
    if not count:
        raise InputError(f"{path}: a JSON file without Messenger or Instagram messages (no 'messages' list)")
    return count


def _row(position: int, message: Message) -> tuple:
    return message.timestamp.isoformat(), position, message.sender, message.text, message.kind, message.attachment


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def repaired(text: str) -> str:
    """The text Meta meant: its characters read back as the UTF-8 bytes they were (unchanged if they were not)."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _participants_title(fields: dict, path: Path) -> str:
    people = fields.get("participants")
    names = (
        [repaired(person["name"]) for person in people if isinstance(person, dict) and _text(person.get("name"))]
        if isinstance(people, list)
        else []
    )
    return " and ".join(names) or path.parent.name or path.stem


def _message(entry: dict, line: int, path: Path, options: ReadOptions) -> Message:
    try:
        timestamp = from_epoch(int(entry["timestamp_ms"]) / 1000, options.tz)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise ParseError(path, None, f"message {line} (from the start): no readable 'timestamp_ms'") from None
    sender = repaired(entry.get("sender_name") or "") or None
    text = repaired(entry.get("content") or "")
    if entry.get("is_unsent"):
        return _made(sender, timestamp, text, "deleted", None, line)
    if entry.get("type") in _SYSTEM_TYPES or entry.get("users"):
        return _made(None, timestamp, text or f"{sender}: {entry.get('type', 'event').lower()}", "system", None, line)
    if media := _media(entry):
        word, attachment = media
        return _made(sender, timestamp, f"{word} omitted" + (f"\n{text}" if text else ""), "media", attachment, line)
    if not text:  # a reaction to a message or a removed one: nobody's words
        return _made(sender, timestamp, "", "deleted", None, line)
    return _made(sender, timestamp, text, "text", None, line)


def _made(sender, timestamp, text: str, kind: Kind, attachment: str | None, line: int) -> Message:
    return Message(sender, timestamp, text, kind, attachment, False, line, "messenger")


def _media(entry: dict) -> tuple[str, str | None] | None:
    """(placeholder word, file name or None) of an entry with an attachment."""
    if not entry.keys() & _ATTACHMENTS:  # most entries: one set operation, not seven lookups
        return None
    for key, word in _MEDIA.items():
        value = entry.get(key)
        if value:
            first = value[0] if isinstance(value, list) else value
            uri = first.get("uri") if isinstance(first, dict) else None
            return word, PurePosixPath(uri).name if uri else None
    if share := entry.get("share"):
        link = share.get("link") if isinstance(share, dict) else None
        return "link", repaired(link) if link else None
    return None
