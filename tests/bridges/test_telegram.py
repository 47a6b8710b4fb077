"""The Telegram bridge, python-telegram-bot and all, against a fake Bot API server on 127.0.0.1."""

import asyncio
import json
import threading
import time

import pytest

from gptisyou.bridges import core, telegram
from gptisyou.bridges.core import (
    BUSY,
    FAILED,
    MAX_INPUT_CHARS,
    NOT_TEXT,
    REFUSAL,
    Access,
    Bridge,
    BridgeConfig,
    BridgeState,
    disclosure,
)
from gptisyou.errors import InputError
from tests.bridges.conftest import ScriptedClone
from tests.bridges.fake_telegram import FakeTelegram

TOKEN = "123456:SECRET-token-never-shown"
ABOUT = disclosure("Sam")


@pytest.fixture
def fake():
    server = FakeTelegram(TOKEN)
    yield server
    server.close()


class Running:
    """A bridge polling the fake in a thread of its own, as `gptisyou bridge telegram` runs it."""

    def __init__(
        self,
        fake: FakeTelegram,
        state_path,
        clone,
        allowed=("42",),
        owners=(),
        code=None,
        config=BridgeConfig(),
        token=TOKEN,
        bubbles=core.MAX_BUBBLES,
    ) -> None:
        self.lines: list[str] = []
        self.state = BridgeState.load(state_path)
        self.access = Access(self.state, allowed, owners, code, self.lines.append)
        self.fake, self.clone, self.config, self.token, self.bubbles = fake, clone, config, token, bubbles
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    async def _main(self) -> None:
        self.loop, self.stop = asyncio.get_running_loop(), asyncio.Event()
        self.ready.set()

        def make(messenger) -> Bridge:
            return Bridge(
                "Sam",
                "Alex",
                self.clone,
                messenger,
                self.access,
                self.config,
                gaps=[0.01],
                log=self.lines.append,
                bubbles=self.bubbles,
            )

        try:
            await telegram.run(telegram.bot(self.token, self.fake.url), make, self.lines.append, self.stop)
        except BaseException as error:  # noqa: BLE001 - the test reads it
            self.error = error

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(20)
        assert not self.thread.is_alive()


@pytest.fixture
def bridge(fake, tmp_path, clone):
    running = Running(fake, tmp_path / "telegram.json", clone)
    yield running
    running.close()
    assert running.error is None


def test_a_chat_is_told_it_talks_to_an_ai_before_the_first_reply_and_the_bot_is_named_so(fake, bridge, clone):
    fake.says(42, "hey how are you")
    fake.wait_for(lambda f: len(f.texts(42)) == 3)
    assert fake.texts(42) == [ABOUT, "ok", "sure thing"]  # the disclosure, then the reply's two bubbles
    assert "AI imitation of Sam" in ABOUT
    assert "I am not Sam" in ABOUT
    assert fake.bot_name == "Sam (AI)"
    assert [line.text for line in clone.histories[0]] == ["hey how are you"]
    assert any(action["action"] == "typing" for action in fake.actions)

    fake.says(42, "/about")
    fake.wait_for(lambda f: len(f.texts(42)) == 4)
    assert fake.texts(42)[-1] == ABOUT
    fake.says(42, "and again")
    fake.wait_for(lambda f: len(f.texts(42)) == 6)
    assert fake.texts(42).count(ABOUT) == 2  # told once unasked, and when asked
    assert [line.text for line in clone.histories[1]] == ["hey how are you", "ok\nsure thing", "and again"]


def test_a_chat_nobody_let_in_is_refused_once_then_hears_nothing(fake, bridge, clone):
    for text in ("hello?", "anyone there", "/about"):
        fake.says(43, text)
    fake.says(42, "hi")  # a chat let in, after them: every earlier update has been handled
    fake.wait_for(lambda f: len(f.texts(42)) == 3)
    assert fake.texts(43) == [REFUSAL]
    assert len(clone.histories) == 1
    assert any("chat 43 refused" in line for line in bridge.lines)


def test_pairing_lets_one_chat_in_with_a_one_time_code(fake, tmp_path, clone):
    running = Running(fake, tmp_path / "telegram.json", clone, allowed=(), code="314159")
    try:
        fake.says(43, "/pair 000000")
        fake.says(43, "/pair 314159")
        fake.says(43, "hi there")
        fake.says(44, "/pair 314159")  # used up
        fake.wait_for(lambda f: len(f.texts(43)) == 4 and len(f.texts(44)) == 1)
    finally:
        running.close()
    assert fake.texts(43) == [REFUSAL, ABOUT, "ok", "sure thing"]
    assert fake.texts(44) == [REFUSAL]
    assert BridgeState.load(tmp_path / "telegram.json").paired == {"43"}  # kept across restarts


def test_in_a_group_it_speaks_only_when_mentioned_or_replied_to(fake, tmp_path, clone):
    running = Running(fake, tmp_path / "telegram.json", clone, allowed=("-100",))
    try:
        fake.says(42, "talking among ourselves", chat=-100, group=True)
        fake.says(44, "what do you think", chat=-100, group=True, mention=True)
        fake.says(42, "really?", chat=-100, group=True, reply_to_bot=True)
        fake.wait_for(lambda f: len(f.texts(-100)) == 5)
    finally:
        running.close()
    assert fake.texts(-100) == [ABOUT, "ok", "sure thing", "ok", "sure thing"]
    assert [line.text for line in clone.histories[0]] == ["what do you think"]  # without the @mention
    assert "talking among ourselves" not in json.dumps([[line.text for line in h] for h in clone.histories])


def test_a_chat_past_its_rate_gets_one_note_then_silence(fake, tmp_path, clone):
    running = Running(fake, tmp_path / "telegram.json", clone, config=BridgeConfig(per_minute=2))
    try:
        for number in range(5):
            fake.says(42, f"message {number}")
        fake.wait_for(lambda f: len(f.texts(42)) == 6)
        fake.says(44, "x")  # another chat, not let in: its refusal shows every update before it was handled
        fake.wait_for(lambda f: len(f.texts(44)) == 1)
    finally:
        running.close()
    notes = [text for text in fake.texts(42) if text.startswith("Slow down")]
    assert len(notes) == 1
    assert len(clone.histories) == 2


def test_forget_clears_the_chat_s_context_here_and_on_disk(fake, bridge, clone, tmp_path):
    fake.says(42, "remember this")
    fake.wait_for(lambda f: len(f.texts(42)) == 3)
    assert "remember this" in (tmp_path / "telegram.json").read_text()
    fake.says(42, "/forget")
    fake.says(42, "fresh start")
    fake.wait_for(lambda f: len(f.texts(42)) == 6)
    assert fake.texts(42)[3].startswith("Forgotten")
    assert [line.text for line in clone.histories[-1]] == ["fresh start"]
    assert "remember this" not in (tmp_path / "telegram.json").read_text()


def test_a_restart_answers_nothing_twice(fake, tmp_path, clone):
    first = Running(fake, tmp_path / "telegram.json", clone)
    fake.says(42, "one")
    fake.wait_for(lambda f: len(f.texts(42)) == 3)
    first.close()
    fake.says(42, "two")  # while it was down
    polls_before = len(fake.offsets)
    second = Running(fake, tmp_path / "telegram.json", clone)
    try:
        fake.wait_for(lambda f: len(f.texts(42)) == 5)
    finally:
        second.close()
    assert fake.texts(42) == [ABOUT, "ok", "sure thing", "ok", "sure thing"]  # no second disclosure either
    assert [history[-1].text for history in clone.histories] == ["one", "two"]
    assert fake.offsets[polls_before] == 2  # it asked from the first update it had not answered


def test_a_message_still_waiting_when_it_stops_is_answered_after_the_restart(fake, tmp_path):
    gate = threading.Event()
    first = Running(fake, tmp_path / "telegram.json", ScriptedClone("first reply", gate), allowed=("42", "44"))
    fake.says(42, "one")
    fake.wait_for(lambda f: len(f.texts(42)) == 1)  # told it is an AI; the reply is being written
    fake.says(44, "two")  # waits in the queue
    fake.wait_for(lambda f: len(f.texts(44)) == 1)
    first.loop.call_soon_threadsafe(first.stop.set)  # stop: after the reply in flight
    gate.set()
    first.close()
    assert fake.texts(44) == [ABOUT]  # not answered before the stop
    clone = ScriptedClone("after the restart")
    second = Running(fake, tmp_path / "telegram.json", clone, allowed=("42", "44"))
    try:
        fake.wait_for(lambda f: len(f.texts(44)) == 2)
    finally:
        second.close()
    assert fake.texts(42) == [ABOUT, "first reply"]  # once
    assert fake.texts(44) == [ABOUT, "after the restart"]
    assert [history[-1].text for history in clone.histories] == ["two"]


def test_huge_empty_marked_up_and_sticker_messages(fake, bridge, clone):
    fake.says(42, "x" * 10_000)
    fake.wait_for(lambda f: len(f.texts(42)) == 3)
    assert len(clone.histories[0][-1].text) == MAX_INPUT_CHARS
    fake.says(42, "   ")
    fake.says(42, None, sticker=True)
    fake.wait_for(lambda f: len(f.texts(42)) == 4)
    assert fake.texts(42)[-1] == NOT_TEXT
    fake.says(42, "<b>bold</b> *star* [link](http://x)")
    fake.wait_for(lambda f: len(f.texts(42)) == 6)
    assert clone.histories[-1][-1].text == "<b>bold</b> *star* [link](http://x)"
    assert all("parse_mode" not in message for message in fake.sent)  # replies are plain text, never markup
    assert len(clone.histories) == 2  # nothing generated for the empty message or the sticker


def test_one_reply_at_a_time_and_a_bounded_queue(fake, tmp_path):
    gate = threading.Event()
    clone = ScriptedClone("done", gate)
    running = Running(
        fake, tmp_path / "telegram.json", clone, allowed=("42", "44", "43"), config=BridgeConfig(queue=1)
    )
    try:
        fake.says(42, "first")
        assert clone.started.wait(10)  # generating: the queue is empty again
        fake.says(44, "second")  # waits in the queue
        fake.says(43, "third")  # the queue is full
        fake.wait_for(lambda f: BUSY in f.texts(43))
        assert len(clone.histories) == 1
        gate.set()
        fake.wait_for(lambda f: f.texts(44)[-1:] == ["done"])
    finally:
        gate.set()
        running.close()
    assert [history[-1].text for history in clone.histories] == ["first", "second"]


def test_the_owner_can_stop_it_and_nobody_else(fake, tmp_path, clone):
    running = Running(fake, tmp_path / "telegram.json", clone, allowed=("42",), owners=("44",))
    fake.says(42, "/stop")
    fake.wait_for(lambda f: "Only my owner can stop me." in f.texts(42))
    fake.says(44, "/stop")
    running.thread.join(20)
    assert not running.thread.is_alive()
    assert running.error is None
    assert fake.texts(44)[-1] == "Stopping."


def test_network_trouble_is_retried_and_the_token_never_shows(fake, tmp_path, clone, monkeypatch):
    monkeypatch.setattr(telegram, "FIRST_BACKOFF_S", 0.01)
    fake.fail_next = 3  # Bad Gateway on getMe and the first polls
    running = Running(fake, tmp_path / "telegram.json", clone)
    try:
        fake.says(42, "hi")
        fake.wait_for(lambda f: len(f.texts(42)) == 3, timeout=30)
    finally:
        running.close()
    assert running.error is None
    assert any(line.startswith("network trouble (NetworkError); again in") for line in running.lines)
    wrong = Running(fake, tmp_path / "telegram.json", clone, token="999:wrong-token")
    wrong.thread.join(20)
    assert isinstance(wrong.error, InputError)
    assert str(wrong.error) == "Telegram refused the bot token (TELEGRAM_BOT_TOKEN or --token-file)"
    for shown in [*running.lines, *wrong.lines, str(wrong.error)]:
        assert "SECRET" not in shown
        assert "wrong-token" not in shown


def test_a_bot_that_cannot_be_named_an_ai_does_not_start(fake, tmp_path, clone):
    fake.refuse_names = True
    running = Running(fake, tmp_path / "telegram.json", clone)
    running.thread.join(20)
    assert isinstance(running.error, InputError)
    assert "(AI)" in str(running.error)
    assert "sendMessage" not in fake.calls


def test_a_refused_disclosure_leaves_the_chat_untold_and_unanswered_until_it_is_delivered(fake, bridge, clone):
    fake.refuse_sends = 1  # Telegram refuses the disclosure
    fake.says(42, "hello?")
    fake.wait_for(lambda f: f.calls.count("sendMessage") == 1)
    fake.says(43, "x")  # a stranger after it: its refusal shows the first message was handled
    fake.wait_for(lambda f: len(f.texts(43)) == 1)
    assert fake.texts(42) == []  # no reply went out without the disclosure
    assert clone.histories == []
    assert "42" not in bridge.state.disclosed
    assert any("refused the AI disclosure" in line for line in bridge.lines)
    fake.says(42, "still there?")  # the next message: told first, then answered
    fake.wait_for(lambda f: len(f.texts(42)) == 3)
    assert fake.texts(42) == [ABOUT, "ok", "sure thing"]
    assert [line.text for line in clone.histories[0]] == ["still there?"]


def test_a_pairing_code_allows_a_few_tries_per_chat_and_in_all(fake, tmp_path, clone):
    running = Running(fake, tmp_path / "telegram.json", clone, allowed=(), code="314159")
    try:
        for guess in range(1000, 1000 + core.PAIRING_TRIES_PER_CHAT):
            fake.says(43, f"/pair {guess:06d}")
        fake.says(43, "/pair 314159")  # the right code, too late for this chat
        fake.says(44, "/pair 314159")
        fake.wait_for(lambda f: len(f.texts(44)) == 1)
    finally:
        running.close()
    assert fake.texts(43) == [REFUSAL]
    assert fake.texts(44) == [ABOUT]
    assert BridgeState.load(tmp_path / "telegram.json").paired == {"44"}
    wrong = [line for line in running.lines if "wrong pairing code" in line]
    assert wrong[-1] == "chat 43: 5 wrong pairing codes; refused until the bridge restarts"
    assert len(wrong) == core.PAIRING_TRIES_PER_CHAT


def test_the_pairing_code_is_withdrawn_after_too_many_tries_in_all_and_expires(tmp_path):
    now = [0.0]
    lines: list[str] = []
    code = "123456"
    access = Access(BridgeState(tmp_path / "s.json"), pairing_code=code, clock=lambda: now[0], log=lines.append)
    for chat in range(core.PAIRING_TRIES):
        assert not access.pair("000000", str(chat))
    assert not access.pair(code, "999")
    assert "20 wrong pairing codes in all: the code is withdrawn (restart with --pair)" in lines
    fresh = Access(BridgeState(tmp_path / "t.json"), pairing_code=code, clock=lambda: now[0], log=lines.append)
    now[0] = core.PAIRING_MINUTES * 60 + 1
    assert not fresh.pair(code, "1")
    assert "the pairing code expired after 10 minutes: restart with --pair for a new one" in lines


def test_a_malformed_update_is_skipped_without_its_text(fake, bridge, clone, caplog):
    fake.raw(
        {
            "message": {
                "message_id": 1,
                "text": "secret words",
                "from": {"id": 42, "is_bot": False, "first_name": "Alex"},
            }
        }
    )
    fake.says(42, "hi")
    fake.wait_for(lambda f: len(f.texts(42)) == 3)
    assert bridge.error is None
    assert "skipped 1 update(s) Telegram sent that gptisyou cannot read" in bridge.lines
    assert "secret words" not in "\n".join(bridge.lines) + caplog.text
    fake.says(42, "again")  # the bad update is passed over for good
    fake.wait_for(lambda f: len(f.texts(42)) == 5)
    assert fake.offsets[-1] > 1


def test_a_stop_stops_within_seconds_while_the_bot_api_cannot_be_reached(tmp_path, clone):
    class Unreachable:
        url = "http://127.0.0.1:1"

    started = time.monotonic()
    running = Running(Unreachable(), tmp_path / "telegram.json", clone)
    time.sleep(0.5)  # retrying its start
    running.close()
    assert running.error is None
    assert time.monotonic() - started < 10


def test_a_stop_cuts_off_a_reply_the_network_holds_and_the_rest_is_sent_after_the_restart(fake, tmp_path, monkeypatch):
    monkeypatch.setattr(core, "STOP_GRACE_S", 0.5)
    first = Running(fake, tmp_path / "telegram.json", ScriptedClone("one\ntwo\nthree"))
    fake.says(42, "hi")
    fake.wait_for(lambda f: len(f.texts(42)) == 2)  # the disclosure and the first bubble
    fake.fail_next = 10**6  # the API goes down before the second bubble
    started = time.monotonic()
    first.close()
    assert time.monotonic() - started < 5
    fake.fail_next = 0
    clone = ScriptedClone("never")
    second = Running(fake, tmp_path / "telegram.json", clone)
    try:
        fake.wait_for(lambda f: len(f.texts(42)) == 4)
    finally:
        second.close()
    assert fake.texts(42) == [ABOUT, "one", "two", "three"]  # the reply finished, not written again
    assert clone.histories == []


def test_a_reply_is_never_split_into_more_bubbles_than_the_cap(fake, tmp_path):
    running = Running(fake, tmp_path / "telegram.json", ScriptedClone("\n".join(map(str, range(38)))), bubbles=3)
    try:
        fake.says(42, "talk to me")
        fake.says(43, "x")
        fake.wait_for(lambda f: len(f.texts(43)) == 1 and len(f.texts(42)) == 4)
    finally:
        running.close()
    assert fake.texts(42) == [ABOUT, "0", "1", "2"]


class Stumbling(ScriptedClone):
    """Fails, then says nothing twice, then answers."""

    def __init__(self) -> None:
        super().__init__()
        self.replies = [RuntimeError("out of memory"), "", " \n \n", "fine"]

    def reply(self, history, sampling=None) -> str:
        super().reply(history)
        answer = self.replies.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_failed_or_empty_reply_is_said_so_and_the_chat_goes_on(fake, tmp_path):
    running = Running(fake, tmp_path / "telegram.json", Stumbling())
    try:
        for text in ("one", "two", "three", "four"):
            fake.says(42, text)
        fake.wait_for(lambda f: len(f.texts(42)) == 5)
    finally:
        running.close()
    assert fake.texts(42) == [ABOUT, FAILED, FAILED, FAILED, "fine"]  # never silence: the person is not left waiting
    assert running.lines.count("chat 42: no reply (RuntimeError)") == 1
    assert running.lines.count("chat 42: no reply (the clone's was empty)") == 2
    assert not any("out of memory" in line for line in running.lines)


def test_a_name_that_only_mentions_ai_is_renamed_exactly(fake, tmp_path, clone):
    fake.bot_name = "Robin - a real human, not an (AI)"
    running = Running(fake, tmp_path / "telegram.json", clone)
    fake.wait_for(lambda f: "getUpdates" in f.calls)  # polling: named first
    running.close()
    assert fake.bot_name == "Sam (AI)"
    assert 'the bot was named "Robin - a real human, not an (AI)": renamed "Sam (AI)"' in running.lines
