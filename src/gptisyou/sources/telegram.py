"""Telegram Desktop's JSON export: one chat's `result.json`, or the whole account's (`chats.list`, many chats).

Read as a stream (ijson): an account-wide export of several GB never sits in memory, only one message at a time.
A chat is a JSON object with `name`, `type`, `id` and `messages`, at the top (one chat) or in `chats.list` and
`left_chats.list` (the account). What each entry becomes:

- `type: "message"`: `from` wrote it; `text` is a string or a list of strings and entities (links, bold,
  mentions, custom emoji), flattened to the text a reader saw; `photo`, `file` with its `media_type` (sticker,
  voice message, video, animation, audio) → media, with the file's name and the caption after a line break;
  `poll` → its question and answers as text; `edited` → edited. Forwards and replies keep their text.
- `type: "service"` (joined, calls, pins, title changes) → system lines.
- `date` is local time as Telegram Desktop wrote it; an entry with only `date_unixtime` is read in the
  machine's time zone.
- The chat's key is Telegram's chat id, so a later export of the same chat adds only what is new; "Saved
  Messages" has no name and is titled so.
"""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath

from gptisyou.errors import InputError, ParseError
from gptisyou.messages import Message
from gptisyou.sources.jsonsplit import chat_items
from gptisyou.sources.jsonstream import events_of, items
from gptisyou.sources.textfile import TextSource, head_text
from gptisyou.sources.types import Chat, ParseReport, Progress, ReadOptions, from_epoch

# where an account's messages sit: in `chats.list` and `left_chats.list`, read as a second `chats`
_ACCOUNT_MESSAGES = "chats.list.item.messages.item"
_MEDIA_WORDS = {  # Telegram's media_type → the placeholder word the conversations stage knows
    "sticker": "sticker",
    "voice_message": "audio",
    "audio_file": "audio",
    "video_file": "video",
    "video_message": "video",
    "animation": "gif",
}
_NOT_INCLUDED = "(File not included"  # how an export says a file was left out


def sniff(path: Path) -> bool:
    """A JSON object with Telegram's message keys near the top (`date_unixtime`, `from_id`, `text_entities`)."""
    if path.suffix.lower() == ".zip":
        return False
    head = head_text(TextSource(path), 1 << 16).lstrip("\ufeff \t\r\n")
    return head.startswith("{") and '"messages"' in head and ('"date_unixtime"' in head or '"from_id"' in head)


def chats(
    path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None = None
) -> Iterator[tuple[Chat, Iterator[Message]]]:
    """The `Source` interface: each chat of the export with its messages, streamed."""
    fields = _single_chat(path)
    if fields is not None:  # one chat's export: its messages built in C, one at a time
        entries = enumerate(items(path, "messages.item", progress), start=1)
        yield _chat(fields, path), _messages(entries, path, report, options)
        return
    found = False
    for fields, entries in chat_items(path, _ACCOUNT_MESSAGES, 4, {b'"left_chats"': b'"chats"'}, progress):
        found = True
        yield _chat(fields, path), _messages(entries, path, report, options)
    if not found:
        raise InputError(f"{path}: a JSON file without Telegram messages (no 'messages' list)")


def _single_chat(path: Path) -> dict | None:
    """The fields of a one-chat export, read up to its `messages`; None for an account's export."""
    with events_of(path) as events:
        fields: dict = {}
        for prefix, event, value in events:
            if event in ("string", "number") and "." not in prefix:
                fields[prefix] = value
            elif event == "start_array" and prefix == "messages":
                return fields
            elif event == "start_map" and prefix == "chats":
                return None
    return None


def _chat(fields: dict, path: Path) -> Chat:
    name = fields.get("name")
    if not name:
        name = "Saved Messages" if fields.get("type") == "saved_messages" else path.parent.name or path.stem
    if "id" in fields:
        return Chat(key=f"telegram:{fields['id']}", title=str(name))
    return Chat(key=f"telegram:{name}", title=str(name), stable=False)


def _messages(
    entries: Iterator[tuple[int, dict]], path: Path, report: ParseReport, options: ReadOptions
) -> Iterator[Message]:
    """The messages of (number through the file, entry) pairs; entries that are no message are left out."""
    messages = (_message(entry, number, path, report, options) for number, entry in entries)
    return (message for message in messages if message is not None)


def _message(entry: dict, number: int, path: Path, report: ParseReport, options: ReadOptions) -> Message | None:
    timestamp = _timestamp(entry, number, path, options)
    if entry.get("type") == "service":
        return Message(None, timestamp, _service_text(entry), "system", line=number, source="telegram")
    if entry.get("type", "message") != "message":
        report.note_suspicious(number)
        return None
    sender = entry.get("from") or _unnamed(entry)
    text = flatten(entry.get("text", ""))
    edited = "edited" in entry or "edited_unixtime" in entry
    if poll := entry.get("poll"):
        answers = " / ".join(flatten(answer.get("text", "")) for answer in poll.get("answers", []))
        text = f"Poll: {flatten(poll.get('question', ''))} ({answers})"
    media = _media(entry)
    if media:
        word, attachment = media
        return Message(
            sender,
            timestamp,
            f"{word} omitted" + (f"\n{text}" if text else ""),
            "media",
            attachment,
            edited,
            number,
            "telegram",
        )
    return Message(sender, timestamp, text, "text", None, edited, number, "telegram")


def flatten(text) -> str:
    """A message's text as its reader saw it: a string, or a list of strings and `{type, text}` entities."""
    if isinstance(text, str):
        return text
    return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in text or ())


def _media(entry: dict) -> tuple[str, str | None] | None:
    """(placeholder word, file name or None) of an entry with a photo or a file."""
    if "photo" in entry:
        return "photo", _file_name(entry["photo"])
    if "file" in entry or "media_type" in entry:
        return _MEDIA_WORDS.get(entry.get("media_type"), "document"), _file_name(entry.get("file"))
    return None


def _file_name(value) -> str | None:
    if not isinstance(value, str) or not value or value.startswith(_NOT_INCLUDED):
        return None
    return PurePosixPath(value).name


def _service_text(entry: dict) -> str:
    text = flatten(entry.get("text", ""))
    if text:
        return text
    action = str(entry.get("action", "service")).replace("_", " ")
    return f"{entry['actor']}: {action}" if entry.get("actor") else action


def _unnamed(entry: dict) -> str:
    """A sender without a name (a deleted account): its id, so its messages still belong together."""
    return f"Deleted Account {entry['from_id']}" if entry.get("from_id") is not None else "Deleted Account"


def _timestamp(entry: dict, number: int, path: Path, options: ReadOptions) -> datetime:
    """`date` (local time as written), else `date_unixtime` read in the machine's time zone."""
    try:
        if "date" in entry:
            return datetime.fromisoformat(str(entry["date"]))
        return from_epoch(int(entry["date_unixtime"]), options.tz)
    except (KeyError, ValueError, OverflowError, OSError):
        raise ParseError(path, None, f"message {number}: no readable 'date' or 'date_unixtime'") from None
