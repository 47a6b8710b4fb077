"""The messages of many chats in one JSON file, built by ijson's C backend in one pass, grouped by chat.

An account-wide export holds its chats in arrays, each chat an object whose small fields (`name`, `id`) come
before its `messages`. Following the parser's events in Python to see where one chat ends costs twice what
building the messages in C does, so the bytes are cut instead. `_Cuts` hands the parser its file in pieces that
end just before each `"messages"` key, and the C parser reads the next piece only once it has given out every
message of the last one: a message belongs to the chat whose piece was read last. The chat's fields are read
backwards from its key, up to the brace that opens the chat.

The cut is exact on valid JSON: an unescaped quote followed by `messages"` and a colon can only open a key. The
depth at the key (followed by `_Checked` as it hands the bytes on) tells a chat's key from any other. Other chat
arrays (`left_chats`) are read under the first one's name: the parser does not mind a key given twice.
"""

import json
from collections.abc import Callable, Iterator
from itertools import groupby
from pathlib import Path
from typing import BinaryIO

from gptisyou.errors import ParseError
from gptisyou.sources.jsonstream import _built, _Checked
from gptisyou.sources.types import Progress

_FIELDS_WITHIN = 1 << 16  # bytes before a chat's messages that hold its fields
_PROGRESS_EVERY = 4096  # messages
_SPACE = b" \t\r\n"


class _Cuts:
    """A file read in pieces that each begin at a key: `chat` is the fields of the chat its last piece is in."""

    def __init__(self, stream: BinaryIO, path: Path, depth: int, renamed: dict[bytes, bytes]) -> None:
        self._stream, self._path = stream, path
        self._chat_depth, self._renamed = depth, renamed
        self._keys = (b'"messages"', *renamed)
        self._longest = max(len(key) for key in self._keys)
        self._pending = b""  # read, not yet handed on
        self._handed = b""  # the last bytes handed on: a chat's fields, backslashes before a key
        self._ended = False
        self.depth: Callable[[], int] = lambda: 0  # objects and arrays open before the next piece
        self.chat: dict | None = None
        self.chats = 0

    def tell(self) -> int:
        return self._stream.tell() - len(self._pending)

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson's first read asks for no bytes
            return b""
        size = size if size > 0 else 1 << 16
        while not self._ended and len(self._pending) < 2 * self._longest:
            self._more(size)
        piece = self._at_key() + self._up_to_next_key(size)
        self._handed = (self._handed + piece)[-_FIELDS_WITHIN:]
        return piece

    def _more(self, size: int) -> None:
        chunk = self._stream.read(size)
        self._ended = not chunk
        self._pending += chunk

    def _at_key(self) -> bytes:
        """The key the pending bytes begin with, if they begin with one that matters; a chat starts at its own."""
        key = next((key for key in self._keys if self._pending.startswith(key)), None)
        if key is None or not self._is_key(len(key)):
            return b""
        self._pending = self._pending[len(key) :]
        depth = self.depth()
        if key == b'"messages"' and depth == self._chat_depth:
            self.chat, self.chats = self._fields(), self.chats + 1
        elif key in self._renamed and depth == 1:
            return self._renamed[key]
        return key

    def _is_key(self, end: int) -> bool:
        """Whether the quoted word ending at `end` opens a key: its quote unescaped, a colon after it."""
        backslashes = _backslashes_before(self._handed, len(self._handed))
        while not self._ended and not self._pending[end:].lstrip(_SPACE):
            self._more(1 << 16)
        return backslashes % 2 == 0 and self._pending[end:].lstrip(_SPACE)[:1] == b":"

    def _up_to_next_key(self, size: int) -> bytes:
        """Pending bytes up to the next candidate key (kept back to begin the next piece), at most about `size`."""
        while not self._ended and len(self._pending) < size:
            self._more(size)
        end = min((found for key in self._keys if (found := self._pending.find(key, 1)) > 0), default=None)
        if end is None:  # a key cut off at the end of what was read begins the next piece
            end = len(self._pending) if self._ended else max(1, len(self._pending) - self._longest)
        piece, self._pending = self._pending[:end], self._pending[end:]
        return piece

    def _fields(self) -> dict:
        """The small fields of the chat whose `messages` key comes next: read back to the brace opening it."""
        start = _opening_brace(self._handed)
        if start is None:
            raise ParseError(self._path, None, "a chat whose fields before its messages take over 64 KB")
        try:
            fields = json.loads(self._handed[start:] + b'"messages": null}')
        except ValueError:
            raise ParseError(self._path, None, f"not valid JSON in the fields of chat {self.chats + 1}") from None
        return {key: value for key, value in fields.items() if not isinstance(value, (dict, list))}


def _opening_brace(data: bytes) -> int | None:
    """Where the innermost object still open at the end of `data` begins (outside strings), or None."""
    nested, position = 0, len(data) - 1
    while position >= 0:
        byte = data[position]
        if byte == 0x22:  # a quote closing a string, read backwards: skip to the quote that opened it
            position = _string_start(data, position)
            if position is None:
                return None
        elif byte in b"}]":
            nested += 1
        elif byte in b"{[":
            if nested == 0:
                return position if byte == 0x7B else None
            nested -= 1
        position -= 1
    return None


def _string_start(data: bytes, closing: int) -> int | None:
    position = data.rfind(b'"', 0, closing)
    while position >= 0 and _backslashes_before(data, position) % 2:
        position = data.rfind(b'"', 0, position)
    return position if position >= 0 else None


def _backslashes_before(data: bytes, position: int) -> int:
    count = 0
    while count < position and data[position - count - 1] == 0x5C:
        count += 1
    return count


def chat_items(
    path: Path, prefix: str, depth: int, renamed: dict[bytes, bytes], progress: Progress | None = None
) -> Iterator[tuple[dict, Iterator[tuple[int, dict]]]]:
    """Each chat that has messages: its small fields, and its (number through the file, message) pairs.

    `prefix` is where messages sit (`chats.list.item.messages.item`), `depth` how many objects and arrays are
    open at a chat's `messages` key, `renamed` the other top-level keys holding chats and the name to read them
    under. A chat without messages is not given."""
    total = path.stat().st_size
    with open(path, "rb") as raw:
        cuts = _Cuts(raw, path, depth, renamed)
        checked = _Checked(cuts, path)
        cuts.depth = lambda: checked.open

        def report(built: int) -> None:
            if progress and built % _PROGRESS_EVERY == 0:
                progress(checked.tell(), total)

        numbered = enumerate(_built(checked, prefix, path, "message", report), start=1)
        for _, messages in groupby(numbered, key=lambda _: cuts.chats):
            yield cuts.chat or {}, messages
    if progress:
        progress(total, total)
