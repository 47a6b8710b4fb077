"""The decisions every bridge shares, without a messenger: the ledger of answered updates, the pauses, what is
kept on disk."""

import asyncio
import random
from datetime import datetime, timedelta

import pytest

from gptisyou.bridges.core import Access, Bridge, BridgeConfig, BridgeState, Incoming, bubble_gaps
from gptisyou.data.conversations import Session, Turn
from gptisyou.errors import InputError
from tests.bridges.conftest import ScriptedClone


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, chat: str, text: str) -> bool:
        self.sent.append((chat, text))
        return True

    async def typing(self, chat: str) -> None:
        pass


def test_the_ledger_confirms_only_what_is_answered_with_nothing_waiting_before_it(tmp_path):
    state = BridgeState(tmp_path / "state.json")
    for update in (5, 6, 7):
        state.taken(update)
    state.done(6)  # answered while 5 still waits in the queue
    assert (state.confirmed, state.answered) == (None, {6})
    restarted = BridgeState.load(tmp_path / "state.json")  # stopped here: 5 and 7 come again, 6 does not
    assert [restarted.is_answered(update) for update in (5, 6, 7)] == [False, True, False]
    state.done(5)
    assert (state.confirmed, state.answered) == (6, set())
    state.done(7)
    assert (state.confirmed, state.resume_from) == (7, 8)


def test_a_damaged_state_file_is_one_line(tmp_path):
    path = tmp_path / "telegram.json"
    path.write_text('{"paired": 3}')
    with pytest.raises(InputError, match=r"telegram.json: not a bridge's state \(delete it to start afresh\)$"):
        BridgeState.load(path)


def test_the_state_is_private_and_keeps_only_the_last_turns(tmp_path, loose_umask):
    async def scenario():
        state = BridgeState(tmp_path / "bridges" / "Sam" / "telegram.json")
        bridge = Bridge(
            "Sam", "Alex", ScriptedClone("yo"), Recorder(), Access(state, ["1"]), BridgeConfig(context_turns=3)
        )
        worker = asyncio.create_task(bridge.work())
        for text in ("one", "two", "three"):
            await bridge.receive(Incoming("1", "1", text))
            while not bridge.queue.empty() or len(state.contexts.get("1", [])) < 2:
                await asyncio.sleep(0.01)
        while state.contexts["1"][-2:] != [("Alex", "three"), ("Sam", "yo")]:
            await asyncio.sleep(0.01)
        bridge.stop()
        await worker
        return state

    state = asyncio.run(scenario())
    assert state.contexts["1"] == [("Sam", "yo"), ("Alex", "three"), ("Sam", "yo")]
    assert oct(state.path.stat().st_mode & 0o777) == "0o600"
    assert oct(state.path.parent.stat().st_mode & 0o777) == "0o700"
    assert BridgeState.load(state.path).contexts == state.contexts


def test_pauses_between_bubbles_are_the_person_s_own_up_to_the_cap():
    start = datetime(2024, 1, 1, 12)
    turns = (
        Turn("Sam", ("a", "b", "c"), start, start + timedelta(seconds=8), True),  # 4 s between bubbles
        Turn("Alex", ("x", "y"), start, start + timedelta(seconds=60), True),  # someone else's
        Turn("Sam", ("d",), start, start, True),  # one bubble: no gap
        Turn("Sam", ("e", "f"), start, start + timedelta(seconds=1), True),
    )
    gaps = bubble_gaps([Session(1, turns)], "Sam")
    assert gaps == [4.0, 1.0]
    bridge = Bridge(
        "Sam",
        "Alex",
        ScriptedClone(),
        Recorder(),
        Access(BridgeState(None)),
        BridgeConfig(max_pause=3),
        gaps=gaps,
        rng=random.Random(0),
    )
    assert {bridge._pause() for _ in range(50)} == {3.0, 1.0}
