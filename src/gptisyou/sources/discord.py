"""Discord, as DiscordChatExporter writes it in JSON: one channel per file (a DM, a group DM, a server
channel or a thread), its `guild` and `channel` first, then its `messages`, read one at a time.

What each message becomes: `type` `Default` and `Reply` are messages (a reply keeps its text; what it answers is
in the record's reference, not in the text); every other type (`Call`, `GuildMemberJoin`,
`ChannelNameChange`, `ThreadCreated`, `ChannelPinnedMessage`, …) is a system line. The author is their
server nickname where they have one, else their name. Attachments and stickers are media, with the file's
name and the text after a line break; `timestampEdited` marks an edit. Timestamps carry their UTC offset and
are shown in the machine's time zone. The chat's key is the channel id.
"""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from gptisyou.errors import InputError, ParseError
from gptisyou.messages import Message
from gptisyou.sources.jsonstream import Events, events_of
from gptisyou.sources.textfile import TextSource, head_text
from gptisyou.sources.types import Chat, ParseReport, Progress, ReadOptions, shown

_WRITTEN_TYPES = {"Default", "Reply"}


def sniff(path: Path) -> bool:
    """A JSON object that starts with DiscordChatExporter's `guild` and `channel`."""
    if path.suffix.lower() == ".zip":
        return False
    head = head_text(TextSource(path), 1 << 16).lstrip("\ufeff \t\r\n")
    return head.startswith("{") and '"guild"' in head and '"channel"' in head and '"messages"' in head


def chats(
    path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None = None
) -> Iterator[tuple[Chat, Iterator[Message]]]:
    """The `Source` interface: the file's one channel and its messages, streamed."""
    with events_of(path, progress) as events:
        header: dict = {}
        for prefix, event, _ in events:
            if prefix in ("guild", "channel") and event == "start_map":
                header[prefix] = events.value(prefix, event)
            elif prefix == "messages" and event == "start_array":
                yield _chat(header, path), _messages(events, path, options)
                return
        raise InputError(f"{path}: a JSON file without Discord messages (no 'messages' list)")


def _chat(header: dict, path: Path) -> Chat:
    guild, channel = header.get("guild") or {}, header.get("channel") or {}
    name = channel.get("name") or path.stem
    in_server = guild.get("name") and guild.get("name") != "Direct Messages"
    title = f"{guild['name']} / #{name}" if in_server else name
    if channel.get("id"):
        return Chat(key=f"discord:{channel['id']}", title=title)
    return Chat(key=f"discord:{title}", title=title, stable=False)


def _messages(events: Events, path: Path, options: ReadOptions) -> Iterator[Message]:
    for entry in events.objects("messages"):
        yield _message(entry, events.built, path, options)


def _message(entry: dict, number: int, path: Path, options: ReadOptions) -> Message:
    timestamp = _local_time(entry.get("timestamp"), number, path, options)
    author = entry.get("author") if isinstance(entry.get("author"), dict) else {}
    sender = author.get("nickname") or author.get("name") or "Unknown"
    text = entry.get("content") or ""
    if entry.get("type", "Default") not in _WRITTEN_TYPES:
        return Message(
            None, timestamp, text or f"{sender}: {entry.get('type')}", "system", line=number, source="discord"
        )
    edited = bool(entry.get("timestampEdited"))
    attachments, stickers = _listed(entry.get("attachments")), _listed(entry.get("stickers"))
    if attachments or stickers:
        first = attachments[0] if attachments and isinstance(attachments[0], dict) else {}
        word, name = ("sticker", None) if not attachments else ("document", first.get("fileName"))
        placeholder = name or f"{word} omitted"
        return Message(
            sender, timestamp, placeholder + (f"\n{text}" if text else ""), "media", name, edited, number, "discord"
        )
    return Message(sender, timestamp, text, "text", None, edited, number, "discord")


def _listed(value) -> list:
    return value if isinstance(value, list) else []


def _local_time(value, number: int, path: Path, options: ReadOptions) -> datetime:
    try:
        return shown(datetime.fromisoformat(str(value)), options.tz)
    except ValueError:
        raise ParseError(path, None, f"message {number}: no readable 'timestamp'") from None
