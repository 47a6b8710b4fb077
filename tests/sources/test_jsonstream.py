"""What every JSON reader shares: a byte-order mark is skipped, deep nesting and huge numbers are one-line errors."""

import io
import json

import pytest

from gptisyou.errors import ParseError
from gptisyou.sources import detect, jsonstream
from gptisyou.sources.types import ParseReport, ReadOptions
from tests.sources import exports

DISCORD = {
    "guild": {"id": "1", "name": "Direct Messages"},
    "channel": {"id": "9", "name": "ann"},
    "messages": [
        {
            "id": "1",
            "type": "Default",
            "timestamp": "2024-01-05T10:00:00+00:00",
            "content": "hello [{ there",
            "author": {"id": "5", "name": "ann"},
        }
    ],
}
MESSENGER = {
    "participants": [{"name": "Ann"}, {"name": "Bob"}],
    "thread_path": "inbox/ann_1",
    "messages": [{"sender_name": "Ann", "timestamp_ms": 1704448800000, "content": "hello [{ there"}],
}


def _telegram(tmp_path):
    return exports.telegram_chat(tmp_path / "result.json", [exports.telegram_message(1, "Ann", "hello [{ there")])


def _written(tmp_path, document: dict, name: str):
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


FILES = {
    "telegram": _telegram,
    "discord": lambda tmp_path: _written(tmp_path, DISCORD, "discord.json"),
    "messenger": lambda tmp_path: _written(tmp_path, MESSENGER, "message_1.json"),
}


def _texts(path):
    name, source = detect(path)
    return name, [m.text for _, messages in source.chats(path, ReadOptions(), ParseReport()) for m in messages]


@pytest.mark.parametrize("format_name", FILES)
def test_a_byte_order_mark_is_skipped(tmp_path, format_name):
    path = FILES[format_name](tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert _texts(path) == (format_name, ["hello [{ there"])


@pytest.mark.parametrize("format_name", FILES)
def test_nesting_a_hundred_levels_deep_is_refused_in_one_line(tmp_path, format_name):
    path = FILES[format_name](tmp_path)
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"messages":', b'"deep": ' + b"[" * 100 + b"]" * 100 + b', "messages":', 1))
    with pytest.raises(ParseError, match=r"JSON nested more than 64 levels deep: not a chat export"):
        _texts(path)


@pytest.mark.parametrize("format_name", FILES)
def test_an_integer_of_thousands_of_digits_is_an_error_not_a_crash(tmp_path, format_name):
    """It crashed the process (exit 139) inside ijson's C backend."""
    path = FILES[format_name](tmp_path)
    path.write_bytes(path.read_bytes().replace(b'"messages":', b'"huge": ' + b"9" * 5000 + b', "messages":', 1))
    with pytest.raises(ParseError, match=r"a number too large to read"):
        _texts(path)


def _depth_refused(document: bytes, chunk: int) -> bool:
    class Chunked(io.BytesIO):
        def read(self, size=-1):
            return super().read(min(chunk, size) if size > 0 else chunk)

    checked = jsonstream.Checked(Chunked(document), "doc.json")
    try:
        while checked.read(1 << 16):
            pass
    except ParseError:
        return True
    return False


def _nested(depth: int) -> bytes:
    """Objects and arrays `depth` deep, with strings that hold brackets, quotes and backslashes."""
    tricky = json.dumps('[{ "\\" }] \\\\')
    value = tricky
    for level in range(depth):
        value = f'{{"k{level}": {value}, "s": {tricky}}}' if level % 2 else f"[{tricky}, {value}, [], {{}}]"
    return value.encode()


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 13, 64, 1 << 16])
def test_depth_is_followed_across_chunks_whatever_they_cut(chunk):
    assert not _depth_refused(_nested(20), chunk)
    assert _depth_refused(_nested(65), chunk)
    json.loads(_nested(65))  # the document itself is valid JSON
