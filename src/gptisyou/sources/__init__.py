"""Export readers, one module per platform, each `parse(path, ...) -> Iterator[Message]` plus a cheap `sniff`.

`detect` picks the reader for a file; a file no reader accepts gets a one-line error that says what it looks
like instead, so a user who passes the wrong file knows why.
"""

import json
from pathlib import Path
from types import ModuleType

from gptisyou.errors import InputError
from gptisyou.sources import whatsapp
from gptisyou.sources.textfile import TextSource, check_is_text, head_text

# (name, module): tried in order by `detect`
SOURCES: tuple[tuple[str, ModuleType], ...] = (("whatsapp", whatsapp),)


def detect(path: Path) -> tuple[str, ModuleType]:
    """The (name, module) of the source that reads `path`.

    Raises:
        InputError: a missing, empty, binary or unsupported file, or a zip archive without a chat.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() == ".zip":
        whatsapp.chat_source(path)  # raises for an archive without a chat
    else:
        check_is_text(TextSource(path))
    for name, module in SOURCES:
        if module.sniff(path):
            return name, module
    raise InputError(f"{path}: {_what_it_looks_like(path)}")


def _what_it_looks_like(path: Path) -> str:
    if path.suffix.lower() == ".zip":
        return "no supported chat export in this zip archive"
    head = head_text(TextSource(path)).lstrip()
    if head[:1] in "[{":
        try:
            json.loads(head_text(TextSource(path), 1 << 20))
            return (
                "a JSON file, not a WhatsApp export (Telegram, Discord and other JSON exports are not supported yet)"
            )
        except ValueError:
            pass
    return "not a WhatsApp chat export (no line starts with a message header such as '31/12/2023, 21:05 - Name: ')"
