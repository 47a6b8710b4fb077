"""Export readers, one module per platform, each a `types.Source`: a cheap `sniff` and `chats`.

`detect` picks the reader for a file; a file no reader accepts gets a one-line error that says what it looks
like instead, so a user who passes the wrong file knows why.
"""

import re
from pathlib import Path
from types import ModuleType

from gptisyou.errors import InputError
from gptisyou.sources import (
    discord,
    googlechat,
    imessage,
    lineapp,
    messenger,
    signal,
    slack,
    sms,
    table,
    telegram,
    whatsapp,
)
from gptisyou.sources.textfile import TextSource, check_is_text, head_text

# (name, module): tried in order by `detect`
SOURCES: tuple[tuple[str, ModuleType], ...] = (
    ("signal", signal),  # signal-export's chat.md and data.json: before WhatsApp, whose headers chat.md's resemble
    ("whatsapp", whatsapp),
    ("telegram", telegram),
    ("messenger", messenger),  # Facebook Messenger and Instagram: one format
    ("discord", discord),
    ("googlechat", googlechat),  # Google Takeout's Google Chat/Groups/*/messages.json
    ("sms", sms),  # SMS Backup & Restore XML
    ("line", lineapp),  # LINE's .txt: date lines, then tab-separated time, sender and text
    ("table", table),  # any CSV or JSON Lines with a sender, a time and a text: tried last
)
# databases and archives of several files: sniffed before a file is checked to be text (or a WhatsApp zip)
BINARY_SOURCES: tuple[tuple[str, ModuleType], ...] = (("imessage", imessage), ("slack", slack))


def detect(path: Path) -> tuple[str, ModuleType]:
    """The (name, module) of the source that reads `path`.

    Raises:
        InputError: a missing, empty, binary or unsupported file, or a zip archive without a chat.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    for name, module in BINARY_SOURCES:
        if module.sniff(path):
            return name, module
    if path.suffix.lower() == ".zip":
        whatsapp.chat_source(path)  # raises for an archive without a chat
    else:
        check_is_text(TextSource(path))
    for name, module in SOURCES:
        if module.sniff(path):
            return name, module
    raise InputError(f"{path}: {_what_it_looks_like(path)}")


_JSON_START = re.compile(r'\{|\[\s*[\[{"\]]')


def _what_it_looks_like(path: Path) -> str:
    if path.suffix.lower() == ".zip":
        return "no supported chat export in this zip archive"
    head = head_text(TextSource(path)).lstrip("\ufeff \t\r\n")
    if _JSON_START.match(head):  # not "[31/12/2023, 21:05:09] Name:" (WhatsApp on iOS)
        return "a JSON file, but not an export of Telegram, Messenger, Instagram or Discord that gptisyou reads"
    return "not a WhatsApp chat export (no line starts with a message header such as '31/12/2023, 21:05 - Name: ')"
