"""Signal chats as signal-export writes them (`sigexport`, the common exporter of Signal Desktop) → `Message`s.

It writes one folder per chat, named after the contact or group, holding `chat.md` and, with `--json`, `data.json`:

    [2024-01-05 09:15:02] Alice: Good morning
    [2024-01-05 09:16:40] Me:                           a reply: the quoted message first, as "> " lines,
                                                         then the reply itself
    > Good morning

    morning! ![IMG_1.jpg](./media/IMG_1.jpg)            an attachment after the text
    (- Alice: ❤️ -)                                     reactions: not messages
    [2024-01-05 09:17:00] Alice: (This message was deleted)

    {"date": "2024-01-05T09:15:02", "sender": "Alice", "body": "Good morning  ", "quote": "", "sticker": "",
     "reactions": [], "attachments": [{"name": "IMG_1.jpg", "path": "media/IMG_1.jpg"}], "deleted": false,
     "call": false, "missed": false}                    data.json: one such object per line

`data.json` is read where it is beside `chat.md` (it says everything exactly); either alone is read too. Your own
messages are "Me": `--me` names you. A quoted message is context, not this message's words: it is left out.
"""

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from gptisyou.errors import ParseError
from gptisyou.messages import Message
from gptisyou.sources.textfile import TextSource, check_is_text, head_text, read_lines
from gptisyou.sources.types import Chat, ParseReport, Progress, ReadOptions, shown

MARKDOWN, JSON_LINES = "chat.md", "data.json"
_HEADER = re.compile(r"^\[(?P<date>\d{4}-\d{2}-\d{2}),? (?P<time>\d{2}:\d{2}(?::\d{2})?)\] (?P<sender>[^:\n]+): ?")
_ATTACHMENT = re.compile(r"!?\[(?P<name>[^\]\n]*)\]\((?P<path>[^)\n]*)\)")
_REACTIONS = re.compile(r"\n?\(- .* -\)\s*$")
_STICKER = re.compile(r"\n?\(\( (?P<label>.*) \)\)\s*$")
_DELETED = "(This message was deleted)"
_RECORD_KEYS = frozenset({"date", "sender", "body", "attachments"})


def sniff(path: Path) -> bool:
    """A `chat.md` whose first line is a message header, or a `data.json` whose first line is a message record."""
    if path.name not in (MARKDOWN, JSON_LINES):
        return False
    first = head_text(TextSource(path), 8192).lstrip("\ufeff").split("\n", 1)[0]
    if path.name == MARKDOWN:
        return _HEADER.match(first) is not None
    try:
        record = json.loads(first)
    except ValueError:
        return False
    return isinstance(record, dict) and record.keys() >= _RECORD_KEYS


def chats(
    path: Path, options: ReadOptions, report: ParseReport, progress: Progress | None = None
) -> Iterator[tuple[Chat, Iterator[Message]]]:
    """The `Source` interface: one chat per folder, titled after it; `data.json` where it is, else `chat.md`."""
    exact = path.with_name(JSON_LINES)
    chosen = exact if path.name == MARKDOWN and exact.is_file() and sniff(exact) else path
    source = TextSource(chosen)
    check_is_text(source)
    me = options.me or "Me"
    title = path.parent.name or path.stem
    read = _records if chosen.name == JSON_LINES else _markdown
    yield Chat(key=f"signal:{title}", title=title, stable=False), read(source, me, options, progress)


def _records(source: TextSource, me: str, options: ReadOptions, progress: Progress | None) -> Iterator[Message]:
    for number, text in enumerate(read_lines(source, progress), start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
            moment = datetime.fromisoformat(record["date"])
            sender, body = str(record["sender"]), str(record.get("body") or "")
            attachments = [str(item["name"]) for item in record.get("attachments") or []]
        except (ValueError, KeyError, TypeError) as error:
            raise ParseError(source.label, number, f"not a signal-export message record ({error})") from None
        if moment.tzinfo is not None:
            moment = shown(moment, options.tz)
        yield _message(
            me if sender == "Me" else sender,
            moment,
            body.rstrip(),
            attachments,
            deleted=bool(record.get("deleted")),
            call=bool(record.get("call")),
            sticker=str(record.get("sticker") or ""),
            line=number,
        )


def _markdown(source: TextSource, me: str, options: ReadOptions, progress: Progress | None) -> Iterator[Message]:
    pending: tuple[str, datetime, int, list[str]] | None = None
    for number, text in enumerate(read_lines(source, progress), start=1):
        header = _HEADER.match(text)
        if header is None:
            if pending is None:
                if text.strip():
                    raise ParseError(
                        source.label, number, "text before the first message: not a signal-export chat.md?"
                    )
                continue
            pending[3].append(text)
            continue
        if pending is not None:
            yield _from_markdown(pending, me)
        try:
            moment = datetime.fromisoformat(f"{header['date']}T{header['time']}")
        except ValueError:
            raise ParseError(source.label, number, f"{header['date']} {header['time']} is not a time") from None
        pending = (header["sender"], moment, number, [text[header.end() :]])
    if pending is not None:
        yield _from_markdown(pending, me)


def _from_markdown(pending: tuple[str, datetime, int, list[str]], me: str) -> Message:
    sender, moment, number, parts = pending
    lines = [line for line in parts if not line.startswith("> ")]  # the quoted message
    text = _REACTIONS.sub("", "\n".join(lines).strip())
    sticker = _STICKER.search(text)
    text = _STICKER.sub("", text)
    attachments = [found["name"] for found in _ATTACHMENT.finditer(text)]
    text = _ATTACHMENT.sub("", text).strip()
    return _message(
        me if sender == "Me" else sender,
        moment,
        text,
        attachments,
        deleted=text == _DELETED,
        sticker=sticker["label"] if sticker else "",
        line=number,
    )


def _message(
    sender: str,
    moment: datetime,
    text: str,
    attachments: list[str],
    deleted: bool,
    line: int,
    call: bool = False,
    sticker: str = "",
) -> Message:
    text = "\n".join(part.rstrip() for part in text.split("\n")).strip()
    if deleted:
        return Message(sender, moment, text or _DELETED, "deleted", line=line, source="signal")
    if call:
        return Message(sender, moment, text, "system", line=line, source="signal")
    if attachments or sticker:  # named after its files (or the sticker), with the caption after a line break
        named = "\n".join([*(attachments or [f"sticker {sticker}".strip()]), *([text] if text else [])])
        return Message(
            sender, moment, named, "media", attachments[0] if attachments else None, line=line, source="signal"
        )
    return Message(sender, moment, text, "text", line=line, source="signal")
