"""LINE chat exports (the `.txt` of "Export chat history", in English or Japanese) → `Message`s.

    [LINE] Chat history with Alice          or  [LINE] Aliceとのトーク履歴          (either may be missing)
    Saved on: 2024/01/10, 21:05             or  保存日時 (a full-width colon) 2024/01/10 21:05

    2024/01/05(Fri)                         or  2024.01.05 金曜日, Fri, 01/05/2024: one date line per day
    09:15	Alice	Good morning                 time, sender and text, tab-separated; 9:15 AM, 午前9:15
    09:16	Bob	"Hi                              a message of several lines, in quotes ("" for a quote in it)
    how are you?"
    09:17	Alice	[Sticker]                    stickers, photos, videos, files, voice messages: media
    09:18	Alice unsent a message.            a line without a sender: the app's own (an unsent one: deleted)

Both people are named, so no `--me` is needed. A line that fits no shape continues the message above it, as a
line break inside it does.
"""

import itertools
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from gptisyou.errors import ParseError
from gptisyou.messages import Message
from gptisyou.sources.textfile import TextSource, check_is_text, head_text, read_lines
from gptisyou.sources.types import Chat, ParseReport, Progress, ReadOptions

_TITLE = re.compile(r"^\ufeff?\[LINE\]\s*(?:Chat history with (?P<en>.+)|(?P<ja>.+)とのトーク履歴)\s*$")
_SAVED = re.compile(r"^(?:Saved on|保存日時)\s*[:\uff1a]")
_DATE = re.compile(
    r"^\ufeff?(?:(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})(?:\s*\([^)]{1,12}\)|\s+\S{1,12})?"
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+(?P<m2>\d{1,2})/(?P<d2>\d{1,2})/(?P<y2>\d{4}))\s*$"
)
_TIME = re.compile(r"^(?:(?P<pre>午前|午後)\s*)?(?P<H>\d{1,2}):(?P<M>\d{2})(?:\s*(?P<ampm>[AaPp][Mm]))?\t")
_MEDIA = frozenset(
    (
        *("[Sticker]", "[Photo]", "[Video]", "[File]", "[Voice message]", "[Album]", "[Contact]", "[Location]"),
        *(
            "[GIF]",
            "[スタンプ]",
            "[写真]",
            "[動画]",
            "[ファイル]",
            "[ボイスメッセージ]",
            "[アルバム]",
            "[連絡先]",
            "[位置情報]",
        ),
    )
)
_UNSENT = re.compile(
    r"^(?P<name>.+?) unsent a message\.?$|^(?P<ja>.+?)がメッセージの送信を取り消しました$|送信を取り消しました$"
)


def sniff(path: Path) -> bool:
    """A `[LINE]` title, or a date line followed by a tab-separated message line, in the first lines."""
    lines = head_text(TextSource(path), 8192).splitlines()[:30]
    if lines and _TITLE.match(lines[0]):
        return True
    return any(_DATE.match(a) and _TIME.match(b) and b.count("\t") >= 2 for a, b in itertools.pairwise(lines))


def chats(
    path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None = None
) -> Iterator[tuple[Chat, Iterator[Message]]]:
    """The `Source` interface: a LINE export holds one chat, titled as its first line says (else its file's name)."""
    source = TextSource(path)
    check_is_text(source)
    first = head_text(source, 4096).splitlines()[:1]
    titled = _TITLE.match(first[0]) if first else None
    title = (titled["en"] or titled["ja"]) if titled else path.stem
    yield Chat(key=f"line:{title}", title=title, stable=False), parse(source, progress)


def parse(source: TextSource, progress: Progress | None = None) -> Iterator[Message]:
    """The messages of a LINE export in order.

    Raises:
        ParseError: a message before the first date line, or a date that is no date.
    """
    day: date | None = None
    pending: list | None = None  # [sender, moment, line, parts, quoted]
    for number, text in enumerate(read_lines(source, progress), start=1):
        if pending is not None and pending[4]:  # inside a quoted message: up to the line that closes it
            pending[3].append(text)
            pending[4] = not _closes(text)
            continue
        if (dated := _DATE.match(text)) is not None:
            if pending is not None:
                yield _message(pending)
                pending = None
            day = _day(dated, source, number)
            continue
        if (timed := _TIME.match(text)) is None:
            if pending is not None:
                pending[3].append(text)
            elif text.strip() and not (number <= 3 and (_TITLE.match(text) or _SAVED.match(text))):
                raise ParseError(source.label, number, "text before the first date line: not a LINE export?")
            continue
        if day is None:
            raise ParseError(source.label, number, "a message before the first date line")
        if pending is not None:
            yield _message(pending)
        moment = datetime.combine(day, _time(timed, source, number))
        fields = text[timed.end() :].split("\t", 1)
        sender, body = (fields[0], fields[1]) if len(fields) == 2 else (None, fields[0])
        quoted = body.startswith('"') and not _closes(body[1:])
        pending = [sender, moment, number, [body], quoted]
    if pending is not None:
        yield _message(pending)


def _closes(text: str) -> bool:
    """Whether a line ends a quoted message: a closing quote that is not one of a doubled pair."""
    stripped = text.rstrip()
    return stripped.endswith('"') and (len(stripped) - len(stripped.rstrip('"'))) % 2 == 1


def _message(pending: list) -> Message:
    sender, moment, number, parts, _ = pending
    while len(parts) > 1 and not parts[-1].strip():  # the blank line before the next day's date line
        parts.pop()
    text = "\n".join(parts)
    if len(parts) > 1 and text.startswith('"') and text.rstrip().endswith('"'):
        text = text.strip()[1:-1].replace('""', '"')
    if sender is None:
        unsent = _UNSENT.search(text)
        if unsent is not None:
            return Message(unsent["name"] or unsent["ja"], moment, text, "deleted", line=number, source="line")
        return Message(None, moment, text, "system", line=number, source="line")
    if _UNSENT.search(text):
        return Message(sender, moment, text, "deleted", line=number, source="line")
    kind = "media" if text.strip() in _MEDIA else "text"
    return Message(sender, moment, text, kind, line=number, source="line")


def _day(found: re.Match, source: TextSource, number: int) -> date:
    year, month, day = (found["y"], found["m"], found["d"]) if found["y"] else (found["y2"], found["m2"], found["d2"])
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise ParseError(source.label, number, f"{found[0].strip()!r} is not a date") from None


def _time(found: re.Match, source: TextSource, number: int):
    hour, minute = int(found["H"]), int(found["M"])
    afternoon = found["pre"] == "午後" or (found["ampm"] or "").lower() == "pm"
    if found["pre"] or found["ampm"]:
        hour = hour % 12 + (12 if afternoon else 0)
    if hour > 23 or minute > 59:
        raise ParseError(source.label, number, f"{found[0].strip()!r} is not a time")
    return datetime.min.replace(hour=hour, minute=minute).time()
