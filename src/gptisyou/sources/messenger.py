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
first; they are stored oldest first.
"""

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from gptisyou.errors import InputError, ParseError
from gptisyou.messages import Kind, Message
from gptisyou.sources import jsonstream
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
_SYSTEM_TYPES = {"Call", "Subscribe", "Unsubscribe"}


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
    fields, entries = _read(path)
    title = repaired(fields.get("title") or "") or _participants_title(fields, path)
    thread = repaired(fields.get("thread_path") or "")
    messages = [_message(entry, len(entries) - index, path, options) for index, entry in enumerate(entries)]
    messages.sort(key=lambda message: (message.timestamp, message.line))
    if progress:
        size = path.stat().st_size
        progress(size, size)
    yield Chat(key=f"meta:{thread or title}", title=title, stable=bool(thread)), iter(messages)


def repaired(text: str) -> str:
    """The text Meta meant: its characters read back as the UTF-8 bytes they were (unchanged if they were not)."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _read(path: Path) -> tuple[dict, list[dict]]:
    """(the thread's top-level fields, its message entries in file order), streamed from the file."""
    import ijson

    fields: dict = {}
    entries: list[dict] = []
    with jsonstream.opened(path) as stream:
        try:
            for key, value in ijson.kvitems(stream, "", use_float=True):
                if key == "messages":
                    entries = list(value) if isinstance(value, list) else []
                else:
                    fields[key] = value
        except ijson.JSONError as broken:
            raise ParseError(path, None, f"not valid JSON: {jsonstream.reason(broken)}") from None
    if "messages" not in fields and not entries:
        raise InputError(f"{path}: a JSON file without Messenger or Instagram messages (no 'messages' list)")
    return fields, entries


def _participants_title(fields: dict, path: Path) -> str:
    names = [repaired(person.get("name", "")) for person in fields.get("participants") or [] if person.get("name")]
    return " and ".join(names) or path.parent.name or path.stem


def _message(entry: dict, line: int, path: Path, options: ReadOptions) -> Message:
    try:
        timestamp = from_epoch(int(entry["timestamp_ms"]) / 1000, options.tz)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise ParseError(path, None, f"message {line} (from the end): no readable 'timestamp_ms'") from None
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
