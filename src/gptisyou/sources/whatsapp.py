"""WhatsApp exports (.txt, or a .zip holding `_chat.txt` / `WhatsApp Chat with X.txt`) → `Message`s.

Every header variant found in the wild is one regex: Android `d/m/y, H:M - ` and iOS `[d/m/y, H:M:S] `, 12 h
and 24 h clocks with localized AM/PM (U+202F, U+00A0 or `_` before it), separators `/ . -`, 2- or 4-digit years,
y-m-d, bidi marks and stray BOMs. A line without a header continues the message above it, so multi-line
messages stay whole. Day/month order is decided over the file before parsing (a field above 12 decides,
then chronology, then day-first with a warning), unless `date_order` is given.
"""

import itertools
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from gptisyou.errors import InputError, ParseError
from gptisyou.messages import Message
from gptisyou.sources import whatsapp_phrases as phrases
from gptisyou.sources.textfile import (
    TextSource,
    check_is_text,
    check_unzipped_size,
    head_text,
    read_chunks,
    zip_heads,
    zip_members,
)
from gptisyou.sources.types import (
    DEFAULT_MAX_UNZIPPED_MB,
    Chat,
    DateOrder,
    ParseReport,
    Progress,
    ReadOptions,
)

_M = f"[{phrases.MARKS}]*"
_AMPM = r"[AaPp]\.?[ \u00a0\u202f]?[Mm]\.?|vorm\.|nachm\.|π\.?[ \u00a0]?μ\.|μ\.?[ \u00a0]?μ\.|ص|م"
_PRE_AMPM = "오전|오후|上午|下午|午前|午後"
# (?=[…]) before an alternation: one character test rules it out, instead of trying every alternative
_HEADER = rf"""^{_M}(?P<open>\[)?{_M}
    (?P<stamp>
      (?P<d1>\d{{1,4}})(?P<sep>[./-])[ ]?(?P<d2>\d{{1,2}})(?P=sep)[ ]?(?P<d3>\d{{1,4}})\.?
      (?:,[ ]?|[ ])(?:(?=[àku])(?:à[ ]|klo[ ]|um[ ]|às[ ]))?(?:(?=[오上午])(?P<pre>{_PRE_AMPM})[ ]?)?
      (?P<H>\d{{1,2}})[:.](?P<Min>\d{{2}})(?:[:.](?P<S>\d{{2}}))?
      (?:[ \u00a0\u202f_]?(?=[AaPpvnπμصم])(?P<ampm>{_AMPM}))?)\.?
    (?(open)\][ ]?{_M}
      |(?:[ ]{{1,2}}[-\u2013][ ]{_M}
        |(?(S)(?::[ ]|[ ])(?=[^\n:]{{1,80}}:[ ])|(?!))))
    (?:(?P<sender>[^:\n]+(?::(?![ ])[^:\n]*)*):[ ])?"""  # "Name: " up to the line's first ": ", if it has one
HEADER = re.compile(_HEADER, re.MULTILINE | re.VERBOSE)
# One match per message: its header and every following line up to one that starts like a date. A line that
# starts like a date but is no header, or a line at the start of a chunk, comes back alone as `stray`.
_MESSAGES = re.compile(
    rf"""(?P<head>{_HEADER})(?P<body>[^\n]*(?:\n(?!{_M}\[?{_M}\d{{1,4}}[./-]|\Z)[^\n]*)*)\n?
    |(?P<stray>[^\n]*\n?)""",
    re.MULTILINE | re.VERBOSE,
)
# _parse_source unpacks findall's tuples by position: the groups must stay exactly these, in this order
_GROUPS = ("head", "open", "stamp", "d1", "sep", "d2", "d3", "pre", "H", "Min", "S", "ampm", "sender", "body", "stray")
if tuple(sorted(_MESSAGES.groupindex, key=_MESSAGES.groupindex.get)) != _GROUPS or _MESSAGES.groups != len(_GROUPS):
    raise RuntimeError("whatsapp._MESSAGES changed its groups: update _GROUPS and the unpacking in _parse_source")
# A line that starts like a header but is not one: reported, and kept as message text.
_LOOKS_LIKE_HEADER = re.compile(rf"{_M}\[?{_M}\d{{1,4}}[./-] ?\d{{1,2}}[./-] ?\d{{2,4}}\b")

_AM = frozenset({"am", "vorm", "πμ", "ص", "오전", "上午", "午前"})
_PM = frozenset({"pm", "nachm", "μμ", "م", "오후", "下午", "午後"})
_AMPM_NOISE = str.maketrans("", "", ". \u00a0\u202f")
_CHAT_FILE_NAME = re.compile(
    r"^(?:WhatsApp Chat with |WhatsApp Chat - |WhatsApp Chat mit |Discussion WhatsApp avec |Chat de WhatsApp con |"
    r"Conversa do WhatsApp com |Chat WhatsApp con |WhatsApp-chat met |WhatsApp Chat con )(?P<title>.+?)(?: \(\d+\))?$"
)
_SNIFF_LINES = 40
_ZIP_MEMBERS_TRIED = 64  # text files of a zip looked at for the chat: the likeliest names first
_DATES: dict[tuple[str, str, str, str], tuple[int, int, int] | None] = {}
_BLANK_LINES = phrases.MARKS + " \n"


# --- finding the chat text --------------------------------------------------------------------------------------


def chat_source(path: Path) -> TextSource:
    """The text inside `path` that holds the chat: the file itself, or the chat member of a zip archive.

    Raises:
        InputError: a zip archive without a chat text file.
    """
    if path.suffix.lower() != ".zip":
        return TextSource(path)
    texts = [name for name in zip_members(path) if name.lower().endswith(".txt") and "__MACOSX" not in name]
    ranked = sorted(texts, key=lambda name: (Path(name).name != "_chat.txt", not _is_chat_file_name(name), name))
    for name, head in zip_heads(path, ranked[:_ZIP_MEMBERS_TRIED]):
        if _looks_like_chat_text(head):
            return TextSource(path, name)
    raise InputError(
        f"{path}: the zip archive holds no WhatsApp chat (expected _chat.txt or 'WhatsApp Chat with ….txt')"
    )


def sniff(path: Path) -> bool:
    """True when `path` looks like a WhatsApp export; reads the first few KB only."""
    try:
        return _looks_like_chat(chat_source(path))
    except (InputError, OSError):
        return False


def chat_title(path: Path) -> str:
    """A human title for the chat from the export's file name ("WhatsApp Chat with Alex (2).txt" → "Alex")."""
    stem = Path(path).stem
    match = _CHAT_FILE_NAME.match(stem)
    return match["title"] if match else stem


def _is_chat_file_name(name: str) -> bool:
    return bool(_CHAT_FILE_NAME.match(Path(name).stem))


def _looks_like_chat(source: TextSource) -> bool:
    return _looks_like_chat_text(head_text(source))


def _looks_like_chat_text(head: str) -> bool:
    lines = head.split("\n", _SNIFF_LINES)[:_SNIFF_LINES]
    fields = (
        match.group("d1", "d2", "d3", "H", "Min", "S", "ampm", "pre")
        for line in lines
        if (match := HEADER.match(line))
    )
    return any(_header_timestamp(header, "dmy") or _header_timestamp(header, "mdy") for header in fields)


# --- parsing ------------------------------------------------------------------------------------------------------


def chats(
    path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None = None
) -> Iterator[tuple[Chat, Iterator[Message]]]:
    """The `Source` interface: a WhatsApp export holds one chat, titled after its file name."""
    messages = parse(path, options.date_order, report, progress, options.max_unzipped_bytes)
    yield Chat(key=chat_title(path), title=chat_title(path), stable=False), messages


def parse(
    path: Path,
    date_order: DateOrder | None = None,
    report: ParseReport | None = None,
    progress: Progress | None = None,
    max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_MB * 1_000_000,
) -> Iterator[Message]:
    """Stream the messages of a WhatsApp export in file order.

    Raises:
        InputError: empty, binary or non-chat file; zip without a chat, password-protected or unpacking to
            more than `max_unzipped_bytes`.
        ParseError: text before the first message header, or bytes that are not UTF-8.
    """
    source = chat_source(path)
    check_unzipped_size(source, max_unzipped_bytes)
    check_is_text(source)
    report = report if report is not None else ParseReport()
    if date_order is None:
        date_order, report.date_order_reason = _decide_date_order(source, report)
    else:
        report.date_order_reason = "given with --date-order"
    report.date_order = date_order
    yield from _parse_source(source, date_order, report, progress)


def _parse_source(source: TextSource, order: DateOrder, report: ParseReport, progress: Progress | None):
    # the last message read: (sender, timestamp, line) and its text in parts, joined once it is complete, so a
    # message of many lines costs time in proportion to its length (it may go on in the next chunk)
    pending: tuple[str, datetime, int] | None = None
    parts: list[str] = []
    line = 1  # line number of the next match
    clock = _HeaderClock(order, report)
    for chunk in read_chunks(source, progress):
        # the groups of _MESSAGES in order; unused ones are named _
        for head, _, stamp, d1, _, d2, d3, pre, hour, minute, second, ampm, sender, body, stray in _MESSAGES.findall(
            chunk
        ):
            if stamp:
                if stamp == clock.last_stamp:
                    timestamp = clock.last_time
                else:
                    timestamp = clock.read(stamp, (d1, d2, d3, hour, minute, second, ampm, pre))
                if timestamp:
                    if pending is not None:
                        yield _message(*pending, "\n".join(parts))
                    pending, parts = (sender, timestamp, line), [body]
                    line += body.count("\n") + 1
                    continue
                text = f"{head}{body}"  # a header that names no real time is text
            elif stray:
                text = stray.removesuffix("\n")
            else:
                continue  # the empty match at the end of a chunk
            if pending is not None:
                if _LOOKS_LIKE_HEADER.match(text):
                    report.note_suspicious(line)
                parts.append(text)
            elif text.strip(_BLANK_LINES):
                raise ParseError(
                    source.label, line, "text before the first message header: not a WhatsApp chat export"
                )
            line += text.count("\n") + 1
    if pending is None:
        raise ParseError(source.label, None, "no message header found: not a WhatsApp chat export")
    yield _message(*pending, "\n".join(parts))


class _HeaderClock:
    """Header → timestamp for one file, remembering the last header: messages come in bursts within a minute.

    The parse loop checks `last_stamp` itself before calling `read`: this runs once per message.
    """

    def __init__(self, order: DateOrder, report: ParseReport):
        self.order, self.report = order, report
        self.last_stamp: str | None = None
        self.last_time: datetime | None = None

    def read(self, stamp: str, fields: tuple) -> datetime | None:
        """The time of a header from its date-and-time text and its (d1, d2, d3, H, Min, S, ampm, pre) fields."""
        timestamp = _header_timestamp(fields, self.order)
        if timestamp is None and self.order != "ymd":
            timestamp = _header_timestamp(fields, "mdy" if self.order == "dmy" else "dmy")
            if timestamp is not None:
                _warn_once(self.report, "some headers contradict the chosen day/month order; read those the other way")
        self.last_stamp, self.last_time = stamp, timestamp
        return timestamp


def _message(sender: str, timestamp: datetime, line: int, text: str) -> Message:
    text = text.rstrip("\n")
    if not sender:
        sender, text = _split_sender(text)
    elif _has_quote(sender):  # 'Bob "the builder": hi', or 'Alex changed the subject to "Plans: Friday"'
        sender, text = _quoted_sender(f"{sender}: {text}")
    else:
        sender = sender.strip(phrases.MARKS)
    if not sender:
        return Message(None, timestamp, text, "system", line=line)
    kind, attachment, text, edited = phrases.classify(text)
    if kind == "system":  # the encryption notice written in the chat name's sender slot
        sender = None
    return Message(sender, timestamp, text, kind, attachment, edited, line)


def _has_quote(sender: str) -> bool:
    return any(quote in sender for quote in _QUOTES)


_QUOTES = '"“”„«»'


def _quoted_sender(line: str) -> tuple[str | None, str]:
    """(sender, text) of a header line whose "Name: " holds a quote: the first ": " outside every quotation ends the
    name (`Bob "the builder": hi`, `"Dana: Scully": hi`); with none, it is a system line whose quotation holds the
    colon (`Alex changed the subject to "Plans: Friday"`)."""
    first = line.partition("\n")[0]
    cut = first.find(": ")
    while cut > 0:
        if not _inside_quotes(first[:cut]):
            return first[:cut].strip(phrases.MARKS) or None, line[cut + 2 :]
        cut = first.find(": ", cut + 1)
    return None, line


def _inside_quotes(text: str) -> bool:
    """True when `text` ends inside a quotation: "…", “…”, „…“ or «…»."""
    straight, depth = False, 0
    for character in text:
        if character == '"':
            straight = not straight
        elif character in "„«" or (character == "“" and not depth):
            depth += 1
        elif character in "”»" or (character == "“" and depth):
            depth = max(0, depth - 1)
    return straight or depth > 0


def _split_sender(body: str) -> tuple[str | None, str]:
    """(sender, text) of a header line without "Name: "; sender None for a system line such as "Alex added Sam"."""
    first = body.partition("\n")[0]
    if first.endswith(":"):  # an empty message, e.g. a view-once photo
        cut = text_start = len(first) - 1
        text_start += 1
    else:
        cut = first.find(":")
        # "John Doe:." (no space after the colon) is a message; "meeting at 10:30" in a system line is not
        if cut <= 0 or first[cut + 1].isalnum() or first[cut + 1] in " \"'“(":
            return None, body
        text_start = cut + 1
    sender = first[:cut].strip(phrases.MARKS)
    if _inside_quotes(sender):  # the colon is quoted: 'You changed the subject to "Plans:Friday"'
        return None, body
    return sender, body[text_start:]


def _header_timestamp(fields: tuple, order: DateOrder) -> datetime | None:
    """The time a header's (d1, d2, d3, H, Min, S, ampm, pre) fields name, or None if there is no such time."""
    d1, d2, d3, hour, minute, second, ampm, pre = fields
    date = _calendar_date(d1, d2, d3, order)
    if date is None:
        return None
    hour = int(hour)
    if marker := ampm or pre:
        marker = marker.translate(_AMPM_NOISE).lower()
        if marker in _AM and hour == 12:
            hour = 0
        elif marker in _PM and hour < 12:
            hour += 12
    try:
        return datetime(*date, hour, int(minute), int(second or 0))
    except ValueError:
        return None


def _calendar_date(d1: str, d2: str, d3: str, order: DateOrder) -> tuple[int, int, int] | None:
    """(year, month, day) of a header's date fields, or None when they name no real day."""
    key = (d1, d2, d3, order)
    if key in _DATES:
        return _DATES[key]
    if len(_DATES) > 10_000:  # a chat has a few thousand distinct days: bound the cache anyway
        _DATES.clear()
    _DATES[key] = date = _compute_calendar_date(d1, d2, d3, order)
    return date


def _compute_calendar_date(d1: str, d2: str, d3: str, order: DateOrder) -> tuple[int, int, int] | None:
    if len(d1) == 4:
        year, month, day = int(d1), int(d2), int(d3)
    elif len(d3) in (2, 4):
        year = int(d3) + 2000 if len(d3) == 2 else int(d3)
        day, month = (int(d1), int(d2)) if order != "mdy" else (int(d2), int(d1))
    else:
        return None
    try:
        datetime(year, month, day)
    except ValueError:
        return None
    return year, month, day


# --- day/month order ----------------------------------------------------------------------------------------------


def _decide_date_order(source: TextSource, report: ParseReport) -> tuple[DateOrder, str]:
    """Scan headers until a field above 12 shows the order; fall back to chronology, then to the export's locale
    (WhatsApp in US English writes `m/d/yy` with a 12-hour clock), then to day-first."""
    dates: list[tuple[int, int, int]] = []  # distinct consecutive (first, second, year) of non-ymd headers
    saw_ymd = False
    us_style = None  # every header so far `1/5/24, 9:05 PM`-like: slashes, a two-digit year, AM/PM
    for chunk in read_chunks(source):
        for match in HEADER.finditer(chunk):
            if len(match["d1"]) == 4:
                saw_ymd = True
                continue
            first, second = int(match["d1"]), int(match["d2"])
            if first > 12 >= second:
                return "dmy", f"day-first: {match['d1']}{match['sep']}{match['d2']} has a day above 12"
            if second > 12 >= first:
                return "mdy", f"month-first: {match['d1']}{match['sep']}{match['d2']} has a day above 12"
            looks_us = (
                match["sep"] == "/" and len(match["d3"]) == 2 and match["ampm"] in ("AM", "PM") and not match["open"]
            )
            us_style = looks_us if us_style is None else us_style and looks_us
            entry = (first, second, int(match["d3"]))
            if not dates or dates[-1] != entry:
                dates.append(entry)
    if not dates:
        return "ymd", "year-first dates" if saw_ymd else "no dates"
    backwards = {order: _backward_steps(dates, order) for order in ("dmy", "mdy")}
    if backwards["mdy"] < backwards["dmy"]:
        return "mdy", "month-first: only that order keeps the dates in chronological order"
    if backwards["dmy"] < backwards["mdy"]:
        return "dmy", "day-first: only that order keeps the dates in chronological order"
    if us_style:
        return "mdy", "month-first: written as WhatsApp in US English writes dates (m/d/yy, 12-hour clock)"
    report.warnings.append(
        f"{source.label}: cannot tell whether dates are day/month or month/day; assumed day-first "
        "(use --date-order mdy if that is wrong)"
    )
    return "dmy", "assumed day-first (undecidable)"


def _backward_steps(dates: list[tuple[int, int, int]], order: DateOrder) -> int:
    keys = [(year, first, second) if order == "mdy" else (year, second, first) for first, second, year in dates]
    return sum(later < earlier for earlier, later in itertools.pairwise(keys))


def _warn_once(report: ParseReport, warning: str) -> None:
    if warning not in report.warnings:
        report.warnings.append(warning)
