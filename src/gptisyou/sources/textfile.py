"""Opening an export's text, plain or inside a zip, as a stream of line-aligned chunks.

Shared by the text-based sources: encoding and binary detection, zip member choice, progress by bytes read.
Reading in large chunks lets a source find message boundaries with one regex pass in C instead of a Python
loop per line, while memory stays flat in the file size.
"""

import codecs
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gptisyou.errors import InputError, ParseError
from gptisyou.sources.types import Progress

CHUNK_BYTES = 1 << 20
_SNIFF_BYTES = 64 * 1024
_ENCRYPTED = 0x1  # general-purpose flag bit 0 of a zip entry


@dataclass(frozen=True, slots=True)
class TextSource:
    """A chat text file: a plain file, or one member of a zip archive."""

    path: Path
    member: str | None = None  # name inside the zip archive at `path`

    @property
    def label(self) -> str:
        return f"{self.path} ({self.member})" if self.member else str(self.path)


def head_bytes(source: TextSource, size: int = _SNIFF_BYTES) -> bytes:
    with _open_binary(source) as (raw, _total):
        return raw.read(size)


def head_text(source: TextSource, size: int = _SNIFF_BYTES) -> str:
    """The first `size` bytes decoded leniently, for sniffing only."""
    data = head_bytes(source, size)
    return data.decode(_encoding_of(data), errors="replace")


def zip_heads(path: Path, names: list[str], size: int = _SNIFF_BYTES) -> Iterator[tuple[str, str]]:
    """(name, its first `size` bytes decoded leniently) of members of a zip archive, opened once for them all."""
    try:
        with zipfile.ZipFile(path) as archive:
            for name in names:
                with archive.open(name) as member:
                    data = member.read(size)
                yield name, data.decode(_encoding_of(data), errors="replace")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as error:
        raise InputError(f"{path}: damaged zip archive ({error})") from None


def zip_members(path: Path) -> list[str]:
    """Names of the files in a zip archive.

    Raises:
        InputError: a damaged or password-protected archive.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as error:
        raise InputError(f"{path}: not a readable zip archive ({error})") from None
    if any(info.flag_bits & _ENCRYPTED for info in members):
        raise InputError(f"{path}: the zip archive is password-protected; unzip it yourself and import the chat file")
    return [info.filename for info in members]


def check_unzipped_size(source: TextSource, max_bytes: int) -> None:
    """Raise a one-line InputError when a zip member would unpack to more than `max_bytes` (a zip bomb, or an
    export far larger than any chat): the size is the archive's own record, which reading never exceeds."""
    if source.member is None:
        return
    with zipfile.ZipFile(source.path) as archive:
        size = archive.getinfo(source.member).file_size
    if size > max_bytes:
        raise InputError(
            f"{source.label}: unpacks to {size / 1e6:,.0f} MB, over the {max_bytes / 1e6:,.0f} MB limit "
            "(--max-unzipped-mb raises it)"
        )


def check_is_text(source: TextSource) -> None:
    """Raise a one-line InputError for an empty or binary file."""
    head = head_bytes(source, 8192)
    if not head.strip():
        raise InputError(f"{source.label}: empty file, no messages to import")
    if b"\x00" in head and not _encoding_of(head).startswith("utf-16"):
        raise InputError(f"{source.label}: binary file, not a chat export")


def read_lines(source: TextSource, progress: Progress | None = None) -> Iterator[str]:
    """Each line of the text, without its line break, split at "\\n" alone (a U+2028 inside a line stays in it),
    streamed from `read_chunks`."""
    for chunk in read_chunks(source, progress):
        yield from chunk.removesuffix("\n").split("\n")


def read_chunks(source: TextSource, progress: Progress | None = None) -> Iterator[str]:
    """Yield the decoded text in chunks that each end at a line break (the last one may not).

    Line breaks are normalised to "\\n" (CRLF and CR exports read the same as LF ones); a UTF-8 or UTF-16 BOM
    at the start is dropped.

    Raises:
        ParseError: bytes that are not valid text in the detected encoding, with the line where they start.
    """
    with _open_binary(source) as (raw, total):
        decoder = codecs.getincrementaldecoder(_encoding_of(raw.peek(_SNIFF_BYTES)[:512]))(errors="strict")
        carry = ""
        lines_done = 0
        while True:
            data = raw.read(CHUNK_BYTES)
            try:
                block = carry + decoder.decode(data, final=not data)
            except UnicodeDecodeError as error:
                line = lines_done + carry.count("\n") + data[: error.start].count(b"\n") + 1
                raise ParseError(source.label, line, "not UTF-8 text (invalid byte sequence)") from None
            if "\r" in block:
                block = _normalise_line_breaks(block, final=not data)
            cut = block.rfind("\n") + 1 if data else len(block)
            carry = block[cut:]
            if cut:
                lines_done += block.count("\n", 0, cut)
                yield block[:cut]
            if progress:
                progress(_position(raw, total), total)
            if not data:
                break


def _normalise_line_breaks(block: str, final: bool) -> str:
    if block.endswith("\r") and not final:  # the "\n" of a CRLF may start the next block
        return _normalise_line_breaks(block[:-1], final) + "\r"
    return block.replace("\r\n", "\n").replace("\r", "\n")


@contextmanager
def _open_binary(source: TextSource) -> Iterator[tuple[BinaryIO, int]]:
    try:
        if source.member is None:
            with open(source.path, "rb") as raw:
                yield raw, source.path.stat().st_size
        else:
            with zipfile.ZipFile(source.path) as archive, archive.open(source.member) as member:
                yield io.BufferedReader(member), archive.getinfo(source.member).file_size
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        raise InputError(f"{source.label}: damaged zip archive ({error})") from None
    except IsADirectoryError:
        raise InputError(f"{source.label}: is a directory, not an export file") from None
    except PermissionError:
        raise InputError(f"{source.label}: permission denied") from None


def _encoding_of(head: bytes) -> str:
    """The text encoding the first bytes show: a UTF-16 BOM, UTF-16 without one (every other byte zero in the
    ASCII range a chat's digits and punctuation are in), else UTF-8."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    pairs = len(head) // 2
    if pairs >= 8:
        even_zeros, odd_zeros = head[0 : pairs * 2 : 2].count(0), head[1 : pairs * 2 : 2].count(0)
        if odd_zeros > 0.6 * pairs and even_zeros < 0.1 * pairs:
            return "utf-16-le"
        if even_zeros > 0.6 * pairs and odd_zeros < 0.1 * pairs:
            return "utf-16-be"
    return "utf-8-sig"


def _position(raw: BinaryIO, total: int) -> int:
    try:
        return min(raw.tell(), total)
    except (OSError, ValueError):
        return 0
