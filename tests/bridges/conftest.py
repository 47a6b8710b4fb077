import threading

import pytest

from gptisyou.engine.responder import Line, Sampling


class ScriptedClone:
    """A clone that answers with `reply` (bubbles split by line breaks) and remembers what it was shown; with a
    `gate`, each reply waits for it."""

    persona = "Sam"

    def __init__(self, reply: str = "ok\nsure thing", gate: threading.Event | None = None) -> None:
        self.text, self.gate = reply, gate
        self.histories: list[list[Line]] = []
        self.started = threading.Event()

    def reply(self, history, sampling: Sampling = Sampling()) -> str:
        self.histories.append(list(history))
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(20)
        return self.text


@pytest.fixture
def clone():
    return ScriptedClone()
