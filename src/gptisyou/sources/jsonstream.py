"""Reading a large JSON export as a stream of parser events (ijson), one object at a time.

An export's messages sit in arrays next to a few small fields (a chat's name, a channel). `Events` walks the
file once: a source reads the small fields as they pass and takes the objects of each messages array one by
one, so memory holds one message, never the file. Broken JSON becomes a one-line `ParseError` that says after
how many objects it broke.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gptisyou.errors import ParseError
from gptisyou.sources.types import Progress

_PROGRESS_EVERY = 4096  # events


class Events:
    """The (prefix, event, value) triples of one JSON file, and how many objects `objects` has built so far."""

    def __init__(self, stream, path: Path, progress: Progress | None = None) -> None:
        import ijson

        self.path, self.built = path, 0
        self._stream, self._total, self._progress = stream, path.stat().st_size, progress
        self._events = self._checked(ijson.parse(stream))

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
            reason = str(broken).split("\n", 1)[0] or "the file ends too early"
            raise ParseError(self.path, None, f"not valid JSON after message {self.built}: {reason}") from None
        if self._progress:
            self._progress(self._total, self._total)


def items(path: Path, prefix: str, progress: Progress | None = None) -> Iterator[dict]:
    """The objects at `prefix` (`messages.item`), built by ijson's C backend: several times faster than walking
    the events in Python, for a file whose one array of messages is all that matters."""
    import ijson

    total, built = path.stat().st_size, 0
    with open(path, "rb") as stream:
        try:
            for built, item in enumerate(ijson.items(stream, prefix), start=1):
                if progress and built % _PROGRESS_EVERY == 0:
                    progress(stream.tell(), total)
                yield item
        except ijson.JSONError as broken:
            reason = str(broken).split("\n", 1)[0] or "the file ends too early"
            raise ParseError(path, None, f"not valid JSON after message {built}: {reason}") from None
    if progress:
        progress(total, total)


@contextmanager
def events_of(path: Path, progress: Progress | None = None) -> Iterator[Events]:
    with open(path, "rb") as stream:
        yield Events(stream, path, progress)
