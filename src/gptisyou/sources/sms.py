"""SMS and MMS from SMS Backup & Restore (Android): one XML file of `<sms>` and `<mms>` records, many chats.

A chat is the set of numbers a record is exchanged with (its `address`; a group MMS joins them with `~`). What a
record becomes:

- `<sms>`: `type` 1 is received, from the contact (`contact_name`, else the number); 2 (sent), 4 (outbox),
  5 (failed) and 6 (queued) were written by the phone's owner, named with `--me` (default "Me"); 3 is a draft,
  never sent, and is left out.
- `<mms>`: `msg_box` 1 is received, from the number its `<addr type="137">` names (the sender, which in a group
  is not the `address`); 2 and 4 are the owner's. Its `text/plain` parts joined are the text; any other part
  but the SMIL layout makes it media, named after the part's file.
- `"null"` is no value. A number is named after the contact the file gives it anywhere, so a group's members get
  their names from their one-to-one records.
- The app sometimes writes a record twice: an exact duplicate (same chat, time, direction and text) is left out
  and counted in a warning.
- A file cut off mid-record (a backup interrupted, a copy cut short) keeps every complete record before the cut;
  a warning names the line.

The file is read as a stream (expat) into a private temporary spool, one table of records, so memory stays
flat however large the backup; then each chat is read back in time order.
"""

import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from gptisyou.errors import InputError, ParseError
from gptisyou.messages import Message
from gptisyou.sources.textfile import TextSource, head_text
from gptisyou.sources.types import Chat, ParseReport, Progress, ReadOptions, from_epoch

OWNER = "Me"  # the phone's owner, unless --me names them
_RECEIVED_SMS, _DRAFT_SMS = "1", "3"
_RECEIVED_MMS = "1"
_FROM = "137"  # the <addr> type of an MMS's sender
_CHUNK = 1 << 20


def sniff(path: Path) -> bool:
    if path.suffix.lower() == ".zip":
        return False
    head = head_text(TextSource(path), 1 << 14)
    return "<smses" in head or ("<?xml" in head and ("<sms " in head or "<mms " in head))


def chats(
    path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None = None
) -> Iterator[tuple[Chat, Iterator[Message]]]:
    """The `Source` interface: each chat of the backup, its messages in time order."""
    owner = options.me or OWNER
    with tempfile.TemporaryDirectory(prefix="gptisyou-sms-") as folder:  # 0700: the owner's alone
        spool = _Spool(Path(folder) / "records.db")
        _read(path, spool, report, progress)
        for key, title in spool.chats():
            yield Chat(key=f"sms:{key}", title=title), spool.messages(key, owner, options)
        spool.close()


@dataclass
class _Record:
    chat: str
    date_ms: int
    sent: bool
    text: str
    line: int
    sender_number: str | None = None  # who wrote a received record
    contact: str | None = None
    attachment: str | None = None
    media: bool = False
    parts: list[str] = field(default_factory=list)


class _Spool:
    """The records of one backup, in a temporary SQLite file, with the names the backup gives numbers."""

    def __init__(self, file: Path) -> None:
        self.db = sqlite3.connect(file)
        self.db.execute(
            "CREATE TABLE records (chat TEXT, date_ms INTEGER, sent INTEGER, text TEXT, line INTEGER,"
            " sender_number TEXT, media INTEGER, attachment TEXT, UNIQUE (chat, date_ms, sent, text, media))"
        )
        self.db.execute("CREATE TABLE chats (key TEXT PRIMARY KEY, title TEXT, first_line INTEGER)")
        self.db.execute("CREATE TABLE names (number TEXT PRIMARY KEY, name TEXT)")
        self.duplicates = 0

    def add(self, record: _Record) -> None:
        stored = self.db.execute(
            "INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (record.chat, record.date_ms, record.sent, record.text, record.line, record.sender_number, record.media,
             record.attachment),
        )  # fmt: skip
        self.duplicates += stored.rowcount == 0
        title = record.contact or record.chat.replace("~", ", ")
        self.db.execute("INSERT OR IGNORE INTO chats VALUES (?, ?, ?)", (record.chat, title, record.line))
        if record.contact and "~" not in record.chat and "," not in record.contact:
            self.db.execute("INSERT OR IGNORE INTO names VALUES (?, ?)", (record.chat, record.contact))

    def chats(self) -> list[tuple[str, str]]:
        return self.db.execute("SELECT key, title FROM chats ORDER BY first_line").fetchall()

    def messages(self, chat: str, owner: str, options: ReadOptions) -> Iterator[Message]:
        rows = self.db.execute(
            "SELECT r.date_ms, r.sent, r.text, r.line, r.sender_number, n.name, r.media, r.attachment FROM records r"
            " LEFT JOIN names n ON n.number = r.sender_number WHERE r.chat = ? ORDER BY r.date_ms, r.line",
            (chat,),
        )
        for date_ms, sent, text, line, number, name, media, attachment in rows:
            sender = owner if sent else (options.contact_name(number or "") or name or number or "Unknown")
            yield Message(sender, from_epoch(date_ms / 1000, options.tz), text, "media" if media else "text",
                          attachment, False, line, "sms")  # fmt: skip

    def close(self) -> None:
        self.db.close()


def _read(path: Path, spool: _Spool, report: ParseReport, progress: Progress | None) -> None:
    """Parse the file into the spool; a cut-off file keeps what came before the cut."""
    reader = _Reader(path, spool)
    total = path.stat().st_size
    with open(path, "rb") as stream, spool.db:
        try:
            while chunk := stream.read(_CHUNK):
                reader.parser.Parse(chunk, False)
                if progress:
                    progress(stream.tell(), total)
            reader.parser.Parse(b"", True)
        except expat.ExpatError as error:
            if not reader.records:
                raise ParseError(path, error.lineno, f"not an SMS Backup & Restore file ({_reason(error)})") from None
            report.warnings.append(
                f"{path.name}:{error.lineno}: the file breaks off ({_reason(error)}); the {reader.records:,} "
                "complete records before it were imported"
            )
    if not reader.records:
        raise InputError(f"{path}: an SMS Backup & Restore file without messages")
    if spool.duplicates:
        report.warnings.append(f"{path.name}: {spool.duplicates:,} record(s) the backup app wrote twice were left out")
    if reader.drafts:
        report.warnings.append(f"{path.name}: {reader.drafts:,} draft(s), never sent, were left out")


class _Reader:
    """expat handlers: an `<sms>` is whole in its start tag; an `<mms>` is complete at its end tag."""

    def __init__(self, path: Path, spool: _Spool) -> None:
        self.path, self.spool = path, spool
        self.records = self.drafts = 0
        self.mms: _Record | None = None
        self.parser = expat.ParserCreate()
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end

    def _start(self, tag: str, attributes: dict) -> None:
        line = self.parser.CurrentLineNumber
        if tag == "sms":
            if attributes.get("type") == _DRAFT_SMS:
                self.drafts += 1
                return
            sent = attributes.get("type") != _RECEIVED_SMS
            record = _Record(_chat(attributes), _date(attributes, self.path, line), sent,
                             _value(attributes, "body") or "", line, None if sent else _chat(attributes),
                             _contact(attributes))  # fmt: skip
            self._store(record)
        elif tag == "mms":
            sent = attributes.get("msg_box") != _RECEIVED_MMS
            self.mms = _Record(_chat(attributes), _date(attributes, self.path, line), sent, "", line,
                               contact=_contact(attributes))  # fmt: skip
        elif tag == "part" and self.mms is not None:
            kind = attributes.get("ct", "")
            if kind == "text/plain":
                self.mms.parts.append(_value(attributes, "text") or "")
            elif kind != "application/smil":
                self.mms.media = True
                self.mms.attachment = self.mms.attachment or _value(attributes, "name") or _value(attributes, "cl")
        elif tag == "addr" and self.mms is not None and attributes.get("type") == _FROM and not self.mms.sent:
            self.mms.sender_number = _value(attributes, "address")

    def _end(self, tag: str) -> None:
        if tag == "mms" and self.mms is not None:
            record, self.mms = self.mms, None
            record.sender_number = record.sender_number or (None if record.sent else record.chat)
            words = "\n".join(part for part in record.parts if part)
            placeholder = record.attachment or "media omitted"
            record.text = (
                f"{placeholder}\n{words}" if record.media and words else placeholder if record.media else words
            )
            self._store(record)

    def _store(self, record: _Record) -> None:
        self.spool.add(record)
        self.records += 1


def _value(attributes: dict, name: str) -> str | None:
    value = attributes.get(name)
    return None if value in (None, "null") else value


def _chat(attributes: dict) -> str:
    numbers = (_value(attributes, "address") or "unknown").split("~")
    return "~".join(sorted(number.strip() for number in numbers if number.strip()))


def _contact(attributes: dict) -> str | None:
    name = _value(attributes, "contact_name")
    return None if not name or name == "(Unknown)" else name


def _date(attributes: dict, path: Path, line: int) -> int:
    try:
        return int(attributes["date"])
    except (KeyError, ValueError):
        raise ParseError(path, line, "a record without a readable 'date'") from None


def _reason(error: expat.ExpatError) -> str:
    return expat.ErrorString(error.code)
