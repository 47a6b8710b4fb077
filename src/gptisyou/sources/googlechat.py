"""Google Chat, as Google Takeout exports it: `Google Chat/Groups/<DM or Space …>/messages.json`, beside it
`group_info.json` (the space's name and members), read one message at a time.

    {"messages": [{"creator": {"name": "Alice", "email": "…", "user_type": "Human"},
                   "created_date": "Friday, January 5, 2024 at 9:15:02 AM UTC",
                   "text": "Good morning", "annotations": […], "topic_id": "…", "message_id": "…"},
                  {"creator": {…}, "created_date": "…", "attached_files": [{"original_name": "IMG_1.jpg",
                   "export_name": "File-IMG_1.jpg"}]},
                  {"creator": {…}, "created_date": "…", "message_state": "DELETED", "deleted_date": "…"}]}

Attached files are media, named after their original name, with the text after a line break; a deleted message is
deleted; annotations (mentions, links, formatting) only describe the text, which is kept as written. Takeout's
dates are in words, in UTC: they are shown in the machine's zone (or `--tz`). A direct message is titled after
the other people in it, a space after its name.
"""

import calendar
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path

from gptisyou.errors import ParseError
from gptisyou.messages import Message
from gptisyou.sources.jsonstream import items
from gptisyou.sources.textfile import TextSource, head_text
from gptisyou.sources.types import Chat, ParseReport, Progress, ReadOptions, shown

MESSAGES, GROUP_INFO = "messages.json", "group_info.json"
_DATE = re.compile(
    r"^(?:[^\W\d_]+,\s*)?(?P<month>[^\W\d_]+)\s+(?P<day>\d{1,2}),\s*(?P<year>\d{4})\s+(?:at\s+)?"
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<ampm>[AaPp][Mm])?\s*(?P<zone>UTC|GMT)?$"
)
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}  # C locale: English


def sniff(path: Path) -> bool:
    """A `messages.json` that opens with a list of messages with a creator and a created date."""
    if path.name != MESSAGES:
        return False
    head = head_text(TextSource(path), 1 << 14).lstrip("\ufeff \t\r\n")
    return head.startswith("{") and '"messages"' in head and '"creator"' in head and '"created_date"' in head


def chats(
    path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None = None
) -> Iterator[tuple[Chat, Iterator[Message]]]:
    """The `Source` interface: the folder's one conversation, its key the folder's name (Takeout's group id)."""
    folder = path.parent.name or path.stem
    yield Chat(key=f"googlechat:{folder}", title=_title(path) or folder), _messages(path, options, progress)


def _title(path: Path) -> str | None:
    """The space's name, or the names of the people in a direct message, from `group_info.json` beside it."""
    try:
        info = json.loads(path.with_name(GROUP_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    if isinstance(info.get("name"), str) and info["name"].strip():
        return info["name"].strip()
    members = info.get("members") if isinstance(info.get("members"), list) else []
    names = [member.get("name") for member in members if isinstance(member, dict) and member.get("name")]
    return ", ".join(names) or None


def _messages(path: Path, options: ReadOptions, progress: Progress | None) -> Iterator[Message]:
    for number, entry in enumerate(items(path, "messages.item", progress), start=1):
        if not isinstance(entry, dict):
            raise ParseError(path, None, f"message {number}: not an object")
        yield _message(entry, number, path, options)


def _message(entry: dict, number: int, path: Path, options: ReadOptions) -> Message:
    moment = _moment(entry.get("created_date"), number, path, options)
    creator = entry.get("creator") if isinstance(entry.get("creator"), dict) else {}
    sender = str(creator.get("name") or creator.get("email") or "Unknown")
    text = entry.get("text") if isinstance(entry.get("text"), str) else ""
    if entry.get("message_state") == "DELETED" or "deleted_date" in entry:
        return Message(sender, moment, text or "(deleted)", "deleted", line=number, source="googlechat")
    files = entry.get("attached_files") if isinstance(entry.get("attached_files"), list) else []
    names = [str(item.get("original_name") or item.get("export_name")) for item in files if isinstance(item, dict)]
    if names:
        named = "\n".join([names[0], *([text] if text else [])])
        return Message(sender, moment, named, "media", names[0], line=number, source="googlechat")
    return Message(sender, moment, text, "text", line=number, source="googlechat")


def _moment(value, number: int, path: Path, options: ReadOptions) -> datetime:
    """Takeout's "Friday, January 5, 2024 at 9:15:02 AM UTC" (narrow spaces and all) as local time."""
    words = " ".join(str(value or "").replace("\u202f", " ").replace("\u00a0", " ").split())
    found = _DATE.match(words)
    unreadable = ParseError(path, None, f"message {number}: no readable 'created_date' ({words[:60]!r})")
    if found is None or found["month"].lower() not in _MONTHS:
        raise unreadable
    hour = int(found["H"])
    if found["ampm"]:
        hour = hour % 12 + (12 if found["ampm"].lower() == "pm" else 0)
    try:
        day = date(int(found["year"]), _MONTHS[found["month"].lower()], int(found["day"]))
        moment = datetime.combine(day, time(hour, int(found["M"]), int(found["S"] or 0)))
    except ValueError:
        raise unreadable from None
    return shown(moment.replace(tzinfo=UTC), options.tz) if found["zone"] else moment
