"""Reading a JSON export's small fields and its messages without walking the parser's events in Python.

Following ijson's events in Python costs more than twice what building the messages in its C backend does, so
the fields that place the messages are found in the bytes instead. `_Cuts` reads the file in pieces that each
begin at a key that matters (a quoted word and a colon: exact on valid JSON, where an unescaped quote followed
by a word and a quote can only open a string), and tells its depth from `Checked`, which follows the nesting of
the bytes it hands on. Two uses:

- `chat_items`: an account-wide export holds its chats in arrays, each chat an object whose fields (`name`, `id`)
  come before its `messages`. The C parser reads the next piece only once it has given out every message of the
  last one, so a message belongs to the chat whose `messages` key was passed last. The chat's fields are read
  backwards from that key, up to the brace that opens the chat. Other chat arrays (`left_chats`) are read under
  the first one's name: the parser does not mind a key given twice.
- `top_fields`: a thread's `title` may follow its messages (Meta's export); one pass over the bytes, without the
  parser, finds the top-level fields wanted, before the C parser builds the messages in a second.
"""

import json
import re
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import BinaryIO

from gptisyou.errors import ParseError
from gptisyou.sources.jsonstream import Checked, messages_of
from gptisyou.sources.types import Progress

_RECENT = 1 << 16  # bytes kept of what was handed on: a chat's fields before its messages lie within them
_VALUE_WITHIN = 1 << 20  # bytes a wanted top-level field's value may take
_NOT_SPACE = re.compile(rb"[^ \t\r\n]")
_MESSAGES = b'"messages"'


class _Cuts:
    """A file handed on in pieces that each begin at a key that matters; `at_key` says what one found means."""

    def __init__(self, stream: BinaryIO, path: Path, keys: tuple[bytes, ...]) -> None:
        self._stream, self.path, self._keys = stream, path, keys
        self._longest = max(len(key) for key in keys)
        self.pending = b""  # read, not yet handed on
        self.recent = b""  # the last bytes handed on
        self._ended = False
        self.checked = Checked(self, path)  # what the parser reads: it follows the depth of what was handed on

    def tell(self) -> int:
        return self._stream.tell() - len(self.pending)

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson's first read asks for no bytes
            return b""
        size = size if size > 0 else 1 << 16
        while not self._ended and len(self.pending) < 2 * self._longest:
            self.more(size)
        piece = self._at_key() + self._up_to_next_key(size)
        self.recent = (self.recent + piece)[-_RECENT:]
        return piece

    def at_key(self, key: bytes, depth: int) -> bytes:
        """What to hand on for `key`, found at `depth` (objects and arrays open around it)."""
        return key

    def more(self, size: int = 1 << 16) -> bool:
        chunk = self._stream.read(size)
        self._ended = not chunk
        self.pending += chunk
        return bool(chunk)

    def _at_key(self) -> bytes:
        key = next((key for key in self._keys if self.pending.startswith(key)), None)
        if key is None or not self._is_key(len(key)):
            return b""
        self.pending = self.pending[len(key) :]
        return self.at_key(key, self.checked.open)

    def _is_key(self, end: int) -> bool:
        """Whether the quoted word ending at `end` opens a key: its quote unescaped, a colon after it."""
        if _backslashes_before(self.recent, len(self.recent)) % 2:
            return False
        while (after := _NOT_SPACE.search(self.pending, end)) is None and self.more():
            pass
        return after is not None and after.group() == b":"

    def _up_to_next_key(self, size: int) -> bytes:
        """Pending bytes up to the next key that matters (kept back to begin the next piece), about `size` at most."""
        while not self._ended and len(self.pending) < size:
            self.more(size)
        end = min((found for key in self._keys if (found := self.pending.find(key, 1)) > 0), default=None)
        if end is None:  # a key cut off at the end of what was read begins the next piece
            end = len(self.pending) if self._ended else max(1, len(self.pending) - self._longest)
        piece, self.pending = self.pending[:end], self.pending[end:]
        return piece


class _ChatCuts(_Cuts):
    """An account's chats: `chats` counts the chats passed, `chat` holds the fields of the last."""

    def __init__(self, stream: BinaryIO, path: Path, depth: int, renamed: dict[bytes, bytes]) -> None:
        super().__init__(stream, path, (_MESSAGES, *renamed))
        self._chat_depth, self._renamed = depth, renamed
        self.chat: dict = {}
        self.chats = 0

    def at_key(self, key: bytes, depth: int) -> bytes:
        if key == _MESSAGES and depth == self._chat_depth:
            self.chat, self.chats = self._fields(), self.chats + 1
        elif key in self._renamed and depth == 1:
            return self._renamed[key]
        return key

    def _fields(self) -> dict:
        """The fields of the chat whose `messages` key comes next: read back to the brace opening it."""
        start = _opening_brace(self.recent)
        if start is None:
            raise ParseError(self.path, None, f"chat {self.chats + 1}: its fields before its messages take over 64 KB")
        try:
            fields = json.loads(self.recent[start:] + b'"messages": null}')
        except ValueError:
            raise ParseError(self.path, None, f"not valid JSON in the fields of chat {self.chats + 1}") from None
        del fields["messages"]
        return {key: value for key, value in fields.items() if not isinstance(value, (dict, list))}


class _TopFields(_Cuts):
    """The values of some top-level keys, wherever they sit around the messages."""

    def __init__(self, stream: BinaryIO, path: Path, keys: tuple[str, ...]) -> None:
        super().__init__(stream, path, tuple(f'"{key}"'.encode() for key in keys))
        self.fields: dict = {}

    def at_key(self, key: bytes, depth: int) -> bytes:
        if depth == 1:
            name = key[1:-1].decode()
            self.fields[name] = self._value(name)
        return key

    def _value(self, name: str) -> object:
        """The JSON value after the colon that follows the key just passed."""
        decoder = json.JSONDecoder()
        while True:
            text = self.pending.decode("utf-8", "replace").lstrip(" \t\r\n").removeprefix(":")
            try:
                return decoder.raw_decode(text.lstrip(" \t\r\n"))[0]
            except ValueError:
                if len(self.pending) > _VALUE_WITHIN:
                    raise ParseError(
                        self.path, None, f"its field '{name}' takes over 1 MB: not a chat export"
                    ) from None
                if not self.more():
                    raise ParseError(self.path, None, f"not valid JSON in its field '{name}'") from None


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
    with open(path, "rb") as raw:
        cuts = _ChatCuts(raw, path, depth, renamed)
        numbered = enumerate(messages_of(cuts.checked, path, prefix, progress), start=1)
        for _, messages in groupby(numbered, key=lambda _: cuts.chats):
            yield cuts.chat, messages


def top_fields(path: Path, keys: tuple[str, ...]) -> dict:
    """The values of `keys` in the file's top-level object (those it has), read from the bytes alone."""
    with open(path, "rb") as raw:
        cuts = _TopFields(raw, path, keys)
        while cuts.checked.read(1 << 16):
            pass
    return cuts.fields
