"""Reading a large JSON export as a stream of parser events (ijson), one object at a time.

An export's messages sit in arrays next to a few small fields (a chat's name, a channel). `Events` walks the
file once: a source reads the small fields as they pass and takes the objects of each messages array one by
one, so memory holds one message, never the file. Broken JSON becomes a one-line `ParseError` that says after
how many objects it broke.

Every reader opens its file with `opened`, which checks the bytes on their way to the parser: a leading byte-order
mark is skipped, and nesting deeper than `MAX_DEPTH` is refused (no chat export comes close, and ijson's memory
grows with the square of the depth). Numbers are read as floats, so an integer too large for 64 bits is an error
of the file, not a crash of the parser.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from gptisyou.errors import ParseError
from gptisyou.sources.types import Progress

MAX_DEPTH = 64  # objects and arrays inside each other; a chat export needs about ten
_PROGRESS_EVERY = 4096  # events, or messages built
_BOM = b"\xef\xbb\xbf"
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'"[]{}')
_TO_PARENTHESES = bytes.maketrans(b"[{]}", b"(())")


class Checked:
    """A JSON file's bytes as the parser reads them: the byte-order mark skipped, the nesting depth followed.

    The depth is followed at the speed of bytes methods, not of a Python loop: escaped backslashes and quotes are
    taken out, then everything but quotes and brackets; a pair of adjacent quotes is a string without brackets
    (or the gap between two strings), so taking those out leaves quotes only around the rare brackets in text.
    """

    def __init__(self, stream: BinaryIO, path: Path | str) -> None:
        self._stream, self._path = stream, path
        self._started = False
        self._held = b""  # a backslash at the end of a chunk escapes the first byte of the next
        self._in_string = False  # where the previous chunk left off
        self._open = 0  # objects and arrays open at the end of what was read

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        if not self._started and chunk:  # ijson's first read asks for no bytes
            self._started = True
            chunk = chunk.removeprefix(_BOM)
        self._follow_depth(chunk)
        return chunk

    def tell(self) -> int:
        return self._stream.tell()

    @property
    def open(self) -> int:
        """Objects and arrays open after the bytes read so far."""
        return self._open

    def _follow_depth(self, chunk: bytes) -> None:
        chunk = self._held + chunk
        backslashes = len(chunk) - len(chunk.rstrip(b"\\"))
        chunk, self._held = (chunk[:-1], b"\\") if backslashes % 2 else (chunk, b"")
        if b"\\" in chunk:
            chunk = chunk.replace(b"\\\\", b"").replace(b'\\"', b"")
        skeleton = chunk.translate(None, _NOT_STRUCTURE)
        skeleton = ((b'"' if self._in_string else b"") + skeleton).replace(b'""', b"")
        quotes = skeleton.count(b'"')
        self._in_string = quotes % 2 == 1
        if quotes:
            skeleton = b"".join(skeleton.split(b'"')[::2])  # the brackets outside strings
        brackets = skeleton.translate(_TO_PARENTHESES)
        levels = 0
        while b"()" in brackets and levels <= MAX_DEPTH:  # each pass takes away the innermost level
            brackets, levels = brackets.replace(b"()", b""), levels + 1
        closed = brackets.count(b")")  # what is left: closings of earlier openings, then openings
        deepest = self._open + levels  # an upper bound, exact where nothing of before is closed
        self._open = max(0, self._open - closed) + (len(brackets) - closed)
        if max(deepest, self._open) > MAX_DEPTH:
            raise ParseError(self._path, None, f"JSON nested more than {MAX_DEPTH} levels deep: not a chat export")


@contextmanager
def opened(path: Path) -> Iterator[Checked]:
    """A JSON file to hand to ijson, checked on the way (see the module's docstring)."""
    with open(path, "rb") as stream:
        yield Checked(stream, path)


def array_items(stream: BinaryIO, shown_as: str) -> Iterator[object]:
    """The items of the JSON array `stream` holds (a member of a zip, say), one at a time, checked on the way;
    nothing when it holds something else. Errors name the file as `shown_as`."""
    yield from built_items(Checked(stream, shown_as), "item", shown_as, "entry")


def built_items(
    stream: Checked, prefix: str, shown_as: Path | str, unit: str, on_item: Callable[[int], None] | None = None
) -> Iterator[object]:
    """The values at `prefix`, built by ijson's C backend, counted; broken JSON says after which `unit` it broke."""
    import ijson

    built = 0
    try:
        for item in ijson.items(stream, prefix, use_float=True):
            built += 1
            if on_item:
                on_item(built)
            yield item
    except ijson.JSONError as broken:
        raise ParseError(shown_as, None, f"not valid JSON after {unit} {built}: {reason(broken)}") from None


def reason(broken: Exception) -> str:
    reason = str(broken).split("\n", 1)[0] or "the file ends too early"
    return "a number too large to read" if "integer overflow" in reason else reason


class Events:
    """The (prefix, event, value) triples of one JSON file, and how many objects `objects` has built so far."""

    def __init__(self, stream: Checked, path: Path, progress: Progress | None = None) -> None:
        import ijson

        self.path, self.built = path, 0
        self._stream, self._total, self._progress = stream, path.stat().st_size, progress
        self._events = self._checked(ijson.parse(stream, use_float=True))

    def __iter__(self) -> Iterator[tuple[str, str, object]]:
        return self._events

    def objects(self, array: str) -> Iterator[dict]:
        """The objects of the array at prefix `array` that has just started, built one at a time, until it ends."""
        import ijson

        item = array + ".item"
        builder = None
        for prefix, event, value in self._events:
            if builder is None and event == "end_array" and prefix == array:
                return
            if builder is None and event == "start_map" and prefix == item:
                builder = ijson.ObjectBuilder()
            if builder is not None:
                builder.event(event, value)
                if event == "end_map" and prefix == item:
                    self.built += 1
                    yield builder.value
                    builder = None

    def value(self, at: str, event: str) -> object:
        """The whole value at prefix `at` whose first event (`start_map`, `start_array`) has just been read."""
        import ijson

        builder = ijson.ObjectBuilder()
        builder.event(event, None)
        depth = 1
        for _, inner, value in self._events:
            builder.event(inner, value)
            depth += inner in ("start_map", "start_array")
            depth -= inner in ("end_map", "end_array")
            if depth == 0:
                return builder.value
        return builder.value

    def _checked(self, events):
        import ijson

        try:
            for count, event in enumerate(events, start=1):
                if self._progress and count % _PROGRESS_EVERY == 0:
                    self._progress(self._stream.tell(), self._total)
                yield event
        except ijson.JSONError as broken:
            raise ParseError(self.path, None, f"not valid JSON after message {self.built}: {reason(broken)}") from None
        if self._progress:
            self._progress(self._total, self._total)


def items(path: Path, prefix: str, progress: Progress | None = None) -> Iterator[dict]:
    """The objects at `prefix` (`messages.item`), built by ijson's C backend: several times faster than walking
    the events in Python, for a file whose one array of messages is all that matters."""
    with opened(path) as stream:
        yield from messages_of(stream, path, prefix, progress)


def messages_of(stream: Checked, path: Path, prefix: str, progress: Progress | None) -> Iterator[dict]:
    """The messages at `prefix` in the file `stream` reads, with the bytes read told to `progress` as they go."""
    total = path.stat().st_size

    def report(built: int) -> None:
        if progress and built % _PROGRESS_EVERY == 0:
            progress(stream.tell(), total)

    yield from built_items(stream, prefix, path, "message", report)
    if progress:
        progress(total, total)


@contextmanager
def events_of(path: Path, progress: Progress | None = None) -> Iterator[Events]:
    with opened(path) as stream:
        yield Events(stream, path, progress)
