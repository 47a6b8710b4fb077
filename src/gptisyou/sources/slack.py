"""Slack: the workspace export zip (Workspace settings → Import/Export Data): `users.json`, `channels.json`
(and `dms.json`, `groups.json`, `mpims.json` where the export has them), and a folder per conversation of one
JSON file per day.

- Each conversation folder is a chat: a channel is titled `#name`; a direct message after its members.
- A person is their user id, named as `users.json` has them (display name, else real name, else user name), else
  as the profile a message of theirs carries, else by the id: one person keeps one name everywhere.
- Join, leave, topic, purpose and rename subtypes, and bot messages, are system lines. Files are media, named
  after the first file, with the text after a line break; `edited` marks an edit. Thread replies are messages
  of their conversation, in time order.
- Slack's markup is read as a person saw it: `<@U123>` → `@name`, `<https://…|label>` → `label`,
  `<#C123|general>` → `#general`, and `&amp;`, `&lt;`, `&gt;` → `&`, `<`, `>`.
- `ts` is seconds since the epoch, shown in the machine's time zone.
"""

import html
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from gptisyou.errors import InputError, ParseError
from gptisyou.messages import Message
from gptisyou.sources.types import Chat, ParseReport, Progress, ReadOptions, from_epoch

_LISTS = ("channels.json", "groups.json", "dms.json", "mpims.json")
_SYSTEM_SUBTYPES = {"channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name",
                    "channel_archive", "channel_unarchive", "group_join", "group_leave", "group_topic",
                    "group_purpose", "group_name", "bot_message", "bot_add", "bot_remove", "pinned_item",
                    "tombstone"}  # fmt: skip
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def sniff(path: Path) -> bool:
    """A zip with `users.json` and a list of conversations at its top."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    return "users.json" in names and any(name in names for name in _LISTS)


def chats(
    path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None = None
) -> Iterator[tuple[Chat, Iterator[Message]]]:
    """The `Source` interface: each conversation of the export with its messages in time order."""
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > options.max_unzipped_bytes:
            raise InputError(f"{path}: unpacks to {unpacked / 1e6:,.0f} MB, more than --max-unzipped-mb allows")
        days = _day_files(archive)
        entries = {folder: [e for name in names for e in _read(archive, name, path)] for folder, names in days.items()}
        people = _people(archive, path, entries)
        titles = _titles(archive, path, people)
    done = 0
    for folder, folder_entries in entries.items():
        key, title = titles.get(folder, (folder, f"#{folder}"))
        ordered = sorted(folder_entries, key=lambda entry: float(entry.get("ts") or 0))
        messages = [_message(entry, n, people, options) for n, entry in enumerate(ordered, start=done + 1)]
        done += len(messages)
        if progress:
            progress(done, sum(len(e) for e in entries.values()))
        yield Chat(key=f"slack:{key}", title=title), iter(messages)


def _day_files(archive: zipfile.ZipFile) -> dict[str, list[str]]:
    """Conversation folder → its day files, in date order."""
    folders: dict[str, list[str]] = {}
    for name in sorted(archive.namelist()):
        parts = PurePosixPath(name).parts
        if len(parts) == 2 and parts[1].endswith(".json"):
            folders.setdefault(parts[0], []).append(name)
    return folders


def _read(archive: zipfile.ZipFile, name: str, path: Path) -> list:
    try:
        value = json.loads(archive.read(name).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ParseError(path, None, f"{name} is not valid JSON ({str(error).splitlines()[0]})") from None
    return value if isinstance(value, list) else []


def _people(archive: zipfile.ZipFile, path: Path, entries: dict[str, list]) -> dict[str, str]:
    """User id → the name they are shown under."""
    people = {}
    for user in _read(archive, "users.json", path):
        profile = user.get("profile") or {}
        people[user.get("id")] = profile.get("display_name") or user.get("real_name") or user.get("name")
    for folder_entries in entries.values():
        for entry in folder_entries:
            profile = entry.get("user_profile") or {}
            name = profile.get("display_name") or profile.get("real_name") or profile.get("name")
            if entry.get("user") and name and not people.get(entry["user"]):
                people[entry["user"]] = name
    return {user: name for user, name in people.items() if user and name}


def _titles(archive: zipfile.ZipFile, path: Path, people: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Conversation folder → (its id, its title), from the export's lists of conversations."""
    titles = {}
    for listing in _LISTS:
        if listing not in archive.namelist():
            continue
        for conversation in _read(archive, listing, path):
            folder = conversation.get("name") or conversation.get("id")
            if listing in ("channels.json", "groups.json"):
                title = f"#{conversation.get('name')}"
            else:
                title = ", ".join(people.get(member, member) for member in conversation.get("members") or [])
            titles[folder] = (conversation.get("id") or folder, title or folder)
    return titles


def _message(entry: dict, number: int, people: dict[str, str], options: ReadOptions) -> Message:
    timestamp = from_epoch(float(entry.get("ts") or 0), options.tz)
    user = entry.get("user")
    sender = (
        people.get(user)
        or user
        or entry.get("username")
        or (f"bot:{entry['bot_id']}" if entry.get("bot_id") else "Unknown")
    )
    text = readable(entry.get("text") or "", people)
    if entry.get("subtype") in _SYSTEM_SUBTYPES or entry.get("type") != "message":
        return Message(None, timestamp, text or str(entry.get("subtype")), "system", line=number, source="slack")
    edited = bool(entry.get("edited"))
    if files := entry.get("files"):
        name = files[0].get("name") or files[0].get("title")
        placeholder = name or "document omitted"
        return Message(sender, timestamp, placeholder + (f"\n{text}" if text else ""), "media", name, edited, number,
                       "slack")  # fmt: skip
    return Message(sender, timestamp, text, "text", None, edited, number, "slack")


def readable(text: str, people: dict[str, str]) -> str:
    """Slack's markup as a reader saw it: mentions by name, links by their label."""

    def shown(match: re.Match) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return "@" + (label or people.get(target[1:], target[1:]))
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])  # <!here>, <!channel>
        return label or target

    return html.unescape(_LINK.sub(shown, text))
