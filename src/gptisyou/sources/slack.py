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
- Day files are streamed, one day in memory at a time. An entry that is not a message (no `type: "message"` and
  `ts`) is left out and counted in a warning. A day file of more than `MAX_DAY_ENTRIES` entries, or an export of
  more than `MAX_ENTRIES`, is refused: no real workspace comes near, and a small zip can unpack to millions.
"""

import html
import itertools
import math
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from gptisyou.errors import InputError, ParseError
from gptisyou.messages import Message
from gptisyou.sources.jsonstream import array_items
from gptisyou.sources.types import Chat, ParseReport, Progress, ReadOptions, from_epoch

MAX_DAY_ENTRIES = 100_000  # entries in one conversation's day file
MAX_ENTRIES = 10_000_000  # entries in the whole export

_LISTS = ("channels.json", "groups.json", "dms.json", "mpims.json")
_SYSTEM_SUBTYPES = {
    "channel_join",
    "channel_leave",
    "channel_topic",
    "channel_purpose",
    "channel_name",
    "channel_archive",
    "channel_unarchive",
    "group_join",
    "group_leave",
    "group_topic",
    "group_purpose",
    "group_name",
    "bot_message",
    "bot_add",
    "bot_remove",
    "pinned_item",
    "tombstone",
}
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
        people = _people(archive, path, days)
        titles = _titles(archive, path, people)
        reading = _Reading(
            archive, path, sum(archive.getinfo(n).file_size for d in days.values() for n in d), progress
        )
        for folder, names in days.items():
            key, title = titles.get(folder, (folder, f"#{folder}"))
            yield Chat(key=f"slack:{key}", title=title), reading.messages(names, people, options)
        if reading.not_messages:
            report.warnings.append(
                f"{path.name}: {reading.not_messages:,} entries that are not messages were left out"
            )


class _Reading:
    """The day files of one export, read one at a time, with the bounds on what they may hold."""

    def __init__(self, archive: zipfile.ZipFile, path: Path, total_bytes: int, progress: Progress | None) -> None:
        self.archive, self.path, self.progress = archive, path, progress
        self.total_bytes, self.done_bytes = total_bytes, 0
        self.not_messages = 0

    def messages(self, names: list[str], people: dict[str, str], options: ReadOptions) -> Iterator[Message]:
        """A conversation's messages, day by day, each day in time order."""
        numbers = itertools.count(1)
        for name in names:
            for entry in sorted(self.day(name), key=lambda entry: entry["ts"]):
                yield _message(entry, next(numbers), people, options)

    def day(self, name: str) -> list[dict]:
        """The messages of one day file, each with its `ts` as a number."""
        found = []
        with self.archive.open(name) as member:
            for index, entry in enumerate(array_items(member, f"{self.path}: {name}"), start=1):
                if isinstance(entry, dict) and entry.get("type") == "message" and "ts" in entry:
                    found.append({**entry, "ts": _seconds(entry["ts"], self.path, name, index)})
                else:
                    self.not_messages += 1
        self.done_bytes += self.archive.getinfo(name).file_size
        if self.progress:
            self.progress(self.done_bytes, self.total_bytes)
        return found


def _seconds(ts, path: Path, name: str, index: int) -> float:
    try:
        seconds = float(ts)
        from_epoch(seconds, None)  # a moment that exists
    except (TypeError, ValueError, OverflowError, OSError):
        seconds = math.nan
    if math.isnan(seconds):
        raise ParseError(path, None, f"{name}: entry {index}: no readable 'ts'")
    return seconds


def _day_files(archive: zipfile.ZipFile) -> dict[str, list[str]]:
    """Conversation folder → its day files, in date order."""
    folders: dict[str, list[str]] = {}
    for name in sorted(archive.namelist()):
        parts = PurePosixPath(name).parts
        if len(parts) == 2 and parts[1].endswith(".json"):
            folders.setdefault(parts[0], []).append(name)
    return folders


def _listing(archive: zipfile.ZipFile, name: str, path: Path) -> Iterator[dict]:
    """The objects of one of the export's lists (`users.json`, `channels.json`, a day file)."""
    with archive.open(name) as member:
        yield from (item for item in array_items(member, f"{path}: {name}") if isinstance(item, dict))


def _people(archive: zipfile.ZipFile, path: Path, days: dict[str, list[str]]) -> dict[str, str]:
    """User id → the name they are shown under: from `users.json`, else from the profile their messages carry.
    Reading every day file, this also holds the export to the bounds on its entries."""
    people = {}
    for user in _listing(archive, "users.json", path):
        profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
        people[user.get("id")] = profile.get("display_name") or user.get("real_name") or user.get("name")
    counted = 0
    for name in (name for names in days.values() for name in names):
        for index, entry in enumerate(_listing(archive, name, path), start=1):
            counted += 1
            if index > MAX_DAY_ENTRIES or counted > MAX_ENTRIES:
                raise ParseError(
                    path,
                    None,
                    f"{name}: more than {MAX_DAY_ENTRIES:,} entries in one day or "
                    f"{MAX_ENTRIES:,} in all: not a Slack export gptisyou reads",
                )
            profile = entry.get("user_profile") if isinstance(entry.get("user_profile"), dict) else {}
            shown = profile.get("display_name") or profile.get("real_name") or profile.get("name")
            if isinstance(entry.get("user"), str) and shown and not people.get(entry["user"]):
                people[entry["user"]] = shown
    return {user: str(name) for user, name in people.items() if isinstance(user, str) and user and name}


def _titles(archive: zipfile.ZipFile, path: Path, people: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Conversation folder → (its id, its title), from the export's lists of conversations."""
    titles = {}
    for listing in _LISTS:
        if listing not in archive.namelist():
            continue
        for conversation in _listing(archive, listing, path):
            folder = str(conversation.get("name") or conversation.get("id"))
            if listing in ("channels.json", "groups.json"):
                title = f"#{conversation.get('name')}"
            else:
                members = conversation.get("members") if isinstance(conversation.get("members"), list) else []
                title = ", ".join(people.get(member, str(member)) for member in members)
            titles[folder] = (str(conversation.get("id") or folder), title or folder)
    return titles


def _message(entry: dict, number: int, people: dict[str, str], options: ReadOptions) -> Message:
    timestamp = from_epoch(entry["ts"], options.tz)
    user = entry.get("user")
    sender = (
        people.get(user)
        or user
        or entry.get("username")
        or (f"bot:{entry['bot_id']}" if entry.get("bot_id") else "Unknown")
    )
    text = readable(entry.get("text") or "", people)
    if entry.get("subtype") in _SYSTEM_SUBTYPES:
        return Message(None, timestamp, text or str(entry.get("subtype")), "system", line=number, source="slack")
    edited = bool(entry.get("edited"))
    if files := entry.get("files"):
        name = files[0].get("name") or files[0].get("title")
        placeholder = name or "document omitted"
        return Message(
            sender, timestamp, placeholder + (f"\n{text}" if text else ""), "media", name, edited, number, "slack"
        )
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
