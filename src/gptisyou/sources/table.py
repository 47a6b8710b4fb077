"""Any other app's messages as a table: CSV (with a header row) or JSON Lines (one object per line).

Three fields are needed, found by their usual names or mapped with `--columns sender=author,timestamp=date,
text=body`: who wrote it (`sender`, `author`, `from`, `name`, `user`), when (`timestamp`, `date`, `time`,
`datetime`, `sent_at`, `created_at`) and what (`text`, `message`, `body`, `content`). An optional `chat` field
(`chat`, `conversation`, `thread`, `channel`) splits the file into several chats; without one the file is one
chat, titled after the file. Timestamps are ISO 8601 (an offset is shown in the machine's time zone; without one
it is local time as written) or seconds or milliseconds since the epoch. A row without a sender is a system line.
"""

import csv
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from gptisyou.errors import InputError, ParseError
from gptisyou.messages import Message
from gptisyou.sources.textfile import TextSource, head_text
from gptisyou.sources.types import Chat, ParseReport, Progress, ReadOptions, from_epoch, shown

FIELDS = {  # our field → the names an export commonly gives it
    "sender": ("sender", "author", "from", "name", "user", "username", "sender_name"),
    "timestamp": ("timestamp", "date", "time", "datetime", "sent_at", "created_at", "ts"),
    "text": ("text", "message", "body", "content", "msg"),
    "chat": ("chat", "conversation", "thread", "channel", "chat_name"),
}
_REQUIRED = ("sender", "timestamp", "text")
_MILLISECONDS_FROM = 10**11
csv.field_size_limit(min(sys.maxsize, 64 << 20))  # a long message is no error; Python's default stops at 128 kB


def sniff(path: Path) -> bool:
    """A CSV header or a first JSON object naming a sender, a time and a text (by the usual names)."""
    head = head_text(TextSource(path), 1 << 14).lstrip("\ufeff \t\r\n")
    first_line = head.split("\n", 1)[0]
    return _mapping(_columns_of(first_line, path), {}) is not None


def chats(
    path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None = None
) -> Iterator[tuple[Chat, Iterator[Message]]]:
    """The `Source` interface: the file's chats (one, unless a chat column splits it), messages in time order."""
    rows = list(_rows(path))
    columns = list(rows[0][1]) if rows else []
    if unknown := [(field, column) for field, column in options.columns if column not in columns]:
        field, column = unknown[0]
        raise InputError(
            f"{path}: no column '{column}' (--columns {field}={column}); its columns are "
            + (", ".join(map(repr, columns)) or "none")
        )
    mapping = _mapping(columns, dict(options.columns))
    if mapping is None:
        wanted = ", ".join(f"{field} ({'/'.join(FIELDS[field][:3])}…)" for field in _REQUIRED)
        raise InputError(f"{path}: needs columns for {wanted}; map them with --columns sender=…,timestamp=…,text=…")
    by_chat: dict[str, list[Message]] = {}
    for line, row in rows:
        chat = str(row.get(mapping["chat"]) or "") if "chat" in mapping else ""
        by_chat.setdefault(chat, []).append(_message(row, mapping, line, path, options))
    if progress:
        size = path.stat().st_size
        progress(size, size)
    for chat, messages in by_chat.items():
        title = chat or path.stem
        chat_messages = iter(sorted(messages, key=lambda message: message.timestamp))
        yield Chat(key=f"table:{path.name}:{chat}", title=title, stable=False), chat_messages


def _columns_of(first_line: str, path: Path) -> list[str]:
    if first_line.startswith("{"):
        try:
            return list(json.loads(first_line))
        except ValueError:
            return []
    try:
        return next(csv.reader([first_line]), [])
    except csv.Error:
        return []


def _mapping(columns: list[str], given: dict[str, str]) -> dict[str, str] | None:
    """Our field → the file's column, from `given` first, then the usual names (any case); None if one is missing."""
    by_lower = {column.strip().lower(): column for column in columns}
    mapping = {}
    for field, names in FIELDS.items():
        if field in given:
            mapping[field] = given[field]
        elif found := next((by_lower[name] for name in names if name in by_lower), None):
            mapping[field] = found
    return mapping if all(field in mapping for field in _REQUIRED) else None


def _rows(path: Path) -> Iterator[tuple[int, dict]]:
    """(line, row) of a JSON Lines or CSV file."""
    try:
        yield from _decoded_rows(path)
    except UnicodeDecodeError:
        raise ParseError(path, _first_line_not_utf8(path), "not UTF-8 text") from None


def _decoded_rows(path: Path) -> Iterator[tuple[int, dict]]:
    with open(path, encoding="utf-8-sig", newline="") as file:
        first = file.readline()
        file.seek(0)
        if first.lstrip().startswith("{"):
            for line, text in enumerate(file, start=1):
                if text.strip():
                    yield line, _object(text, path, line)
        else:
            reader = csv.DictReader(file)
            try:
                for row in reader:
                    yield reader.line_num, row
            except csv.Error as error:
                raise ParseError(path, reader.line_num, f"not a CSV row ({error})") from None


def _object(text: str, path: Path, line: int) -> dict:
    try:
        row = json.loads(text)
    except (ValueError, RecursionError):
        row = None
    if not isinstance(row, dict):
        raise ParseError(path, line, "not a JSON object")
    return row


def _first_line_not_utf8(path: Path) -> int | None:
    with open(path, "rb") as file:
        for line, raw in enumerate(file, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return line
    return None


def _message(row: dict, mapping: dict[str, str], line: int, path: Path, options: ReadOptions) -> Message:
    timestamp = _timestamp(row.get(mapping["timestamp"]), path, line, mapping["timestamp"], options)
    sender = str(row.get(mapping["sender"]) or "").strip() or None
    text = str(row.get(mapping["text"]) or "")
    return Message(sender, timestamp, text, "text" if sender else "system", line=line, source="table")


def _timestamp(value, path: Path, line: int, column: str, options: ReadOptions) -> datetime:
    text = str(value or "").strip()
    try:
        if text.replace(".", "", 1).isdigit():
            number = float(text)
            return from_epoch(number / 1000 if number >= _MILLISECONDS_FROM else number, options.tz)
        moment = datetime.fromisoformat(text)
        return shown(moment, options.tz) if moment.tzinfo else moment
    except (ValueError, OverflowError, OSError):
        raise ParseError(path, line, f"'{column}' is not an ISO 8601 time or epoch seconds: {text[:40]!r}") from None
