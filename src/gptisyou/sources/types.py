"""What every source shares: the `Source` interface the registry and the import speak to, the options of a
read, and the report a parser fills in while it reads."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Literal, Protocol

from gptisyou.messages import Message

DateOrder = Literal["dmy", "mdy", "ymd"]
DATE_ORDERS: tuple[DateOrder, ...] = ("dmy", "mdy", "ymd")
DEFAULT_MAX_UNZIPPED_MB = 1024

Progress = Callable[[int, int], None]  # (bytes read, bytes total)


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read an export, where the user knows better than the file."""

    date_order: DateOrder | None = None  # None: decided from the dates
    max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_MB * 1_000_000  # a chat inside a zip, unpacked
    me: str | None = None  # the owner's name where an export only says "sent" (SMS, iMessage)
    columns: tuple[tuple[str, str], ...] = ()  # a table's (our field, its column) pairs, from --columns
    tz: tzinfo | None = None  # the zone moments stored in UTC are shown in (--tz); None: the machine's
    contacts: tuple[tuple[str, str], ...] = ()  # (phone number or address, name) from --contacts
    keep_partial: bool = False  # import the complete records of a file that breaks off (--keep-partial)
    scratch: Path | None = None  # where a reader puts temporary copies, named "<pid>-<kind>-…" (see scratch_dir)

    def contact_name(self, handle: str) -> str | None:
        """The name --contacts gives a phone number (compared by its digits) or an e-mail address."""
        wanted = _handle_key(handle)
        return next((name for known, name in self.contacts if _handle_key(known) == wanted), None)


def _handle_key(handle: str) -> str:
    digits = "".join(char for char in handle if char.isdigit())
    return digits[-9:] if "@" not in handle and len(digits) >= 6 else handle.strip().lower()


def shown(moment: datetime, tz: tzinfo | None) -> datetime:
    """An aware moment as the naive local time a person reads it in: in `tz`, else in the machine's zone."""
    return moment.astimezone(tz).replace(tzinfo=None)


def from_epoch(seconds: float, tz: tzinfo | None) -> datetime:
    """A Unix time as the naive local time a person reads it in (`shown`), in one conversion: called a million
    times by an SMS backup."""
    return datetime.fromtimestamp(seconds, tz).replace(tzinfo=None) if tz else datetime.fromtimestamp(seconds)


@dataclass(frozen=True, slots=True)
class Chat:
    """One chat of an export: a source-side key and a title. A stable key (an app's chat id) finds the same chat
    in a later export; a key made from a file name is not stable, and the chat is found by its messages, or by
    its title and people."""

    key: str
    title: str
    stable: bool = True

    def __post_init__(self) -> None:
        """A title from a file may be any JSON value, or hold a lone UTF-16 half (`"\\ud83d"`): a chat's key and
        title are text that SQLite can store, the lone half as U+FFFD."""
        for name in ("key", "title"):
            value = getattr(self, name)
            text = "" if value is None else str(value)
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            if text is not value:
                object.__setattr__(self, name, text)


@dataclass
class ParseReport:
    """What the parser decided and what a user should know; filled in while parsing."""

    date_order: DateOrder | None = None
    date_order_reason: str = ""
    warnings: list[str] = field(default_factory=list)
    suspicious_lines: list[int] = field(default_factory=list)  # first few line numbers
    suspicious_count: int = 0

    def note_suspicious(self, line: int) -> None:
        self.suspicious_count += 1
        if len(self.suspicious_lines) < 5:
            self.suspicious_lines.append(line)


class Source(Protocol):
    """An export format: one module per platform in `sources/`, listed in the registry (`sources.SOURCES`)."""

    def sniff(self, path: Path) -> bool:
        """Whether `path` is this format, from its first few KB only."""
        ...

    def chats(
        self, path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None = None
    ) -> Iterator[tuple[Chat, Iterator[Message]]]:
        """Each chat of the export and its messages in order, streamed: one export may hold many chats, so read
        each chat's messages before asking for the next chat. Each message's `line` is its line (or record
        number) in the export, increasing within a chat.

        Raises:
            InputError: a file this format cannot read.
            ParseError: a record that cannot be read, with file and line.
        """
        ...
