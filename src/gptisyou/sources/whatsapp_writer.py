"""Writing messages in WhatsApp's export format, in the header variants phones produce.

The inverse of `whatsapp.parse`: the demo turns sample conversations into a real export with it, the tests
render random messages in every variant and parse them back, and the import benchmark builds its 100 MB file.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from gptisyou.messages import Message

_LRM = "\u200e"


@dataclass(frozen=True, slots=True)
class Variant:
    """One header style: `header` is a format string over the fields of `_fields`."""

    name: str
    header: str
    date_order: str  # what the parser must decide: dmy, mdy or ymd
    seconds: bool  # the header carries seconds
    ios: bool = False  # iOS style: media placeholders and notices carry a U+200E mark
    am: str = "AM"
    pm: str = "PM"
    newline: str = "\n"
    edited_marker: str = "<This message was edited>"


VARIANTS: tuple[Variant, ...] = (
    Variant("android-dmy-24h", "{d:02}/{m:02}/{Y}, {H:02}:{M:02} - ", "dmy", False),
    Variant("android-mdy-12h", "{m}/{d}/{y:02}, {h}:{M:02}\u202f{ampm} - ", "mdy", False),
    Variant("android-mdy-12h-crlf", "{m}/{d}/{y:02}, {h}:{M:02} {ampm} - ", "mdy", False, newline="\r\n"),
    Variant("android-ymd-24h", "{Y}-{m:02}-{d:02}, {H:02}:{M:02} - ", "ymd", False),
    Variant(
        "android-de-dots",
        "{d:02}.{m:02}.{y:02}, {H:02}:{M:02} - ",
        "dmy",
        False,
        edited_marker="<Diese Nachricht wurde bearbeitet>",
    ),
    Variant(
        "android-es-12h", "{d}/{m}/{Y}, {h}:{M:02}\u00a0{ampm} - ", "dmy", False, am="a.\u00a0m.", pm="p.\u00a0m."
    ),
    Variant("android-fr", "{d:02}/{m:02}/{Y} à {H:02}:{M:02} - ", "dmy", False),
    Variant("ios-dmy-24h", "[{d:02}/{m:02}/{Y}, {H:02}:{M:02}:{S:02}] ", "dmy", True, ios=True),
    Variant("ios-mdy-12h", "[{m}/{d}/{y:02}, {h}:{M:02}:{S:02}\u202f{ampm}] ", "mdy", True, ios=True),
    Variant("ios-dmy-dashes", "[{d:02}-{m:02}-{y:02} {H:02}:{M:02}:{S:02}] ", "dmy", True, ios=True),
)
VARIANTS_BY_NAME = {variant.name: variant for variant in VARIANTS}


def render(message: Message, variant: Variant) -> str:
    """One message as the export writes it, ending with the variant's line break."""
    header = variant.header.format(**_fields(message.timestamp, variant))
    mark = _LRM if variant.ios and message.kind != "text" else ""
    text = message.text + (f" {variant.edited_marker}" if message.edited else "")
    body = text if message.sender is None else f"{message.sender}: {mark}{text}"
    return f"{mark}{header}{body}".replace("\n", variant.newline) + variant.newline


def write(messages: Iterable[Message], out: TextIO, variant: Variant) -> None:
    out.writelines(render(message, variant) for message in messages)


def write_file(messages: Iterable[Message], path: Path, variant: Variant) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        write(messages, out, variant)


def _fields(timestamp: datetime, variant: Variant) -> dict:
    hour_12 = timestamp.hour % 12 or 12
    return {
        "d": timestamp.day,
        "m": timestamp.month,
        "Y": timestamp.year,
        "y": timestamp.year % 100,
        "H": timestamp.hour,
        "h": hour_12,
        "M": timestamp.minute,
        "S": timestamp.second,
        "ampm": variant.am if timestamp.hour < 12 else variant.pm,
    }
