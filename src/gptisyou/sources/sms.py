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
- An emoji some apps write as two character references to its UTF-16 halves (`&#55357;&#56832;`: older SMS
  Backup & Restore versions, Signal and Silence exports), which XML does not allow, is read as the character.
- A file that breaks off mid-record (a backup interrupted, a copy cut short) is refused, naming the line and how
  many records came before the break and after it; with `--keep-partial` the complete records before the break
  are imported and a warning says the same.

The file is read as a stream (expat) into a private temporary spool, one table of records, so memory stays
flat however large the backup; then each chat is read back in time order. The spool lives in the workspace's
scratch folder (it holds every text of the backup) and is removed when the import ends, however it ends.
"""

import os
import re
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
# a character reference to a UTF-16 surrogate, decimal (55296-57343) or hexadecimal (D800-DFFF)
_SURROGATE = re.compile(rb"&#(?:0*(5[5-7][0-9]{3})|[xX]0*([dD][89a-fA-F][0-9a-fA-F]{2}));")
_LAST_SURROGATE = re.compile(_SURROGATE.pattern + rb"$")
_REFERENCE_TAIL = 32  # bytes at a chunk's end that may hold a reference, or a pair, cut in two
_RECORD_TAGS = (b"<sms ", b"<mms ")


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
    with tempfile.TemporaryDirectory(prefix=f"{os.getpid()}-sms-", dir=options.scratch) as folder:  # 0700
        spool = _Spool(Path(folder) / "records.db")
        _read(path, spool, report, progress, options.keep_partial)
        for key, title in spool.chats():
            yield Chat(key=f"sms:{key}", title=title), spool.messages(key, owner, options)
        spool.close()
        if spool.duplicates:
            report.warnings.append(
                f"{path.name}: {spool.duplicates:,} record(s) the backup app wrote twice were left out"
            )


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
    """The records of one backup, in a temporary SQLite file, with the names the backup gives numbers.

    Records are written as they come, without an index to keep up; one index is built once they are all in, and
    each chat is read back through it in time order. A record the app wrote twice (same chat, time, direction,
    text and media) is left out there: its copies are neighbours in that order, the first in the file is kept."""

    BATCH = 5000  # records written at once: one statement a record cost more than the parsing

    def __init__(self, file: Path) -> None:
        self.db = sqlite3.connect(file)
        self.db.execute("PRAGMA journal_mode = OFF")  # a scratch file: nothing to roll back to
        self.db.execute(
            "CREATE TABLE records (chat TEXT, date_ms INTEGER, sent INTEGER, text TEXT, line INTEGER,"
            " sender_number TEXT, media INTEGER, attachment TEXT)"
        )
        self.duplicates = 0
        self.waiting: list[tuple] = []
        self.titles: dict[str, tuple[str, int]] = {}  # chat → (title, first line): the first record's
        self.names: dict[str, str] = {}  # number → the name the first record with one gives it

    def add(self, record: _Record) -> None:
        chat, line, contact = record.chat, record.line, record.contact
        self.waiting.append(
            (
                chat,
                record.date_ms,
                record.sent,
                record.text,
                line,
                record.sender_number,
                record.media,
                record.attachment,
            )
        )
        if chat not in self.titles:
            self.titles[chat] = (contact or chat.replace("~", ", "), line)
        if contact and "~" not in chat and "," not in contact:
            self.names.setdefault(chat, contact)
        if len(self.waiting) >= self.BATCH:
            self._write()

    def finish(self) -> None:
        """Write what is still waiting and index it all: every record added can then be read back."""
        self._write()
        self.db.execute("CREATE INDEX records_in_time ON records (chat, date_ms, line)")

    def _write(self) -> None:
        self.db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self.waiting)
        self.waiting.clear()

    def chats(self) -> list[tuple[str, str]]:
        return [(chat, title) for chat, (title, _) in sorted(self.titles.items(), key=lambda item: item[1][1])]

    def messages(self, chat: str, owner: str, options: ReadOptions) -> Iterator[Message]:
        rows = self.db.execute(
            "SELECT date_ms, sent, text, line, sender_number, media, attachment FROM records WHERE chat = ?"
            " ORDER BY date_ms, line",
            (chat,),
        )
        senders: dict[str | None, str] = {}  # a number's name, looked up once
        moment, seen = None, set()  # the time of the last record, and what was written at it
        for date_ms, sent, text, line, number, media, attachment in rows:
            if date_ms != moment:
                moment, seen = date_ms, set()
            if (sent, text, media) in seen:
                self.duplicates += 1
                continue
            seen.add((sent, text, media))
            if sent:
                sender = owner
            elif (sender := senders.get(number)) is None:
                name = self.names.get(number) if number is not None else None
                sender = senders[number] = options.contact_name(number or "") or name or number or "Unknown"
            yield Message(
                sender,
                from_epoch(date_ms / 1000, options.tz),
                text,
                "media" if media else "text",
                attachment,
                False,
                line,
                "sms",
            )

    def close(self) -> None:
        self.db.close()


def _read(path: Path, spool: _Spool, report: ParseReport, progress: Progress | None, keep_partial: bool) -> None:
    """Parse the file into the spool; a file that breaks off is refused, or with `keep_partial` keeps what came
    before the break."""
    reader = _Reader(path, spool)
    total = path.stat().st_size
    with open(path, "rb") as stream, spool.db:
        try:
            carry = b""
            while chunk := stream.read(_CHUNK):
                ready, carry = _split_tail(carry + chunk)
                reader.parser.Parse(_whole_characters(ready), False)
                if progress:
                    progress(stream.tell(), total)
            reader.parser.Parse(_whole_characters(carry), True)
        except expat.ExpatError as error:
            _broken_off(path, error, reader, report, keep_partial)
        spool.finish()
    if not reader.records:
        raise InputError(f"{path}: an SMS Backup & Restore file without messages")
    if reader.drafts:
        report.warnings.append(f"{path.name}: {reader.drafts:,} draft(s), never sent, were left out")


def _broken_off(
    path: Path, error: expat.ExpatError, reader: "_Reader", report: ParseReport, keep_partial: bool
) -> None:
    if not reader.records:
        raise ParseError(path, error.lineno, f"not an SMS Backup & Restore file ({_reason(error)})") from None
    read = reader.records + reader.drafts
    lost = max(_record_tags(path), reader.declared) - read
    what = f"the file breaks off ({_reason(error)}): {read:,} complete records before it, {lost:,} after it"
    if not keep_partial:
        raise ParseError(path, error.lineno, f"{what}; nothing was imported (--keep-partial imports the {read:,})")
    report.warnings.append(f"{path.name}:{error.lineno}: {what}; the {read:,} before it were imported")


def _split_tail(data: bytes) -> tuple[bytes, bytes]:
    """`data` cut before a character reference the chunk's end cut in two, or before a high surrogate's reference
    at its end (its low half comes next): the part to parse now, and the part to put before the next chunk."""
    cut = len(data)
    amp = data.rfind(b"&", max(0, cut - _REFERENCE_TAIL))
    if amp >= 0 and b";" not in data[amp:]:
        cut = amp
    last = _LAST_SURROGATE.search(data, max(0, cut - _REFERENCE_TAIL), cut)
    if last and 0xD800 <= _code(last) <= 0xDBFF:
        cut = last.start()
    return data[:cut], data[cut:]


def _whole_characters(data: bytes) -> bytes:
    """References to the two UTF-16 halves of a character as one reference to it; a lone half as U+FFFD."""
    references = list(_SURROGATE.finditer(data))
    pieces, done, index = [], 0, 0
    while index < len(references):
        reference, code = references[index], _code(references[index])
        low = references[index + 1] if index + 1 < len(references) else None
        if 0xD800 <= code <= 0xDBFF and low and low.start() == reference.end() and 0xDC00 <= _code(low) <= 0xDFFF:
            character, end, index = 0x10000 + ((code - 0xD800) << 10) + _code(low) - 0xDC00, low.end(), index + 2
        else:
            character, end, index = 0xFFFD, reference.end(), index + 1
        pieces += [data[done : reference.start()], b"&#%d;" % character]
        done = end
    return b"".join([*pieces, data[done:]])


def _code(reference: re.Match) -> int:
    return int(reference[1]) if reference[1] else int(reference[2], 16)


def _record_tags(path: Path) -> int:
    """How many `<sms ` and `<mms ` tags the file holds, complete or not."""
    count, carry = 0, b""
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            window = carry + chunk  # a tag cut by the chunk's end is whole here, and never counted twice
            count += sum(window.count(tag) for tag in _RECORD_TAGS)
            carry = window[-4:]
    return count


class _Reader:
    """expat handlers: an `<sms>` is whole in its start tag; an `<mms>` is complete at its end tag."""

    def __init__(self, path: Path, spool: _Spool) -> None:
        self.path, self.spool = path, spool
        self.records = self.drafts = 0
        self.declared = 0  # the count the backup's root element gives
        self.mms: _Record | None = None
        self.parser = expat.ParserCreate()
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end

    def _start(self, tag: str, attributes: dict) -> None:
        line = self.parser.CurrentLineNumber
        if tag in ("smses", "allsms"):
            self.declared = int(attributes["count"]) if str(attributes.get("count", "")).isdigit() else 0
        elif tag == "sms":
            if attributes.get("type") == _DRAFT_SMS:
                self.drafts += 1
                return
            sent = attributes.get("type") != _RECEIVED_SMS
            chat = _chat(attributes)
            self._store(
                _Record(
                    chat,
                    _date(attributes, self.path, line),
                    sent,
                    _value(attributes, "body") or "",
                    line,
                    None if sent else chat,
                    _contact(attributes),
                )
            )
        elif tag == "mms":
            sent = attributes.get("msg_box") != _RECEIVED_MMS
            self.mms = _Record(
                _chat(attributes), _date(attributes, self.path, line), sent, "", line, contact=_contact(attributes)
            )
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
    address = _value(attributes, "address") or "unknown"
    if "~" not in address:  # one other person: most records
        return address.strip()
    return "~".join(sorted(number.strip() for number in address.split("~") if number.strip()))


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
