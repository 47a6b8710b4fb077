"""The persona's memory: its past replies found by what they answered, never from the window's own conversation
or from the held-out period."""

from datetime import datetime, timedelta

import pytest

from gptisyou.data.conversations import Session, Turn
from gptisyou.data.dataset import DatasetConfig, build
from gptisyou.data.memory import Memory, remembered
from gptisyou.data.render import Transcript


def _session(chat_id: int, start: datetime, *spoken: tuple[str, str]) -> Session:
    turns = []
    for index, (sender, text) in enumerate(spoken):
        at = start + timedelta(minutes=index)
        turns.append(Turn(sender, tuple(text.split("\n")), at, at, True))
    return Session(chat_id, tuple(turns))


def test_it_recalls_the_persona_s_replies_to_messages_like_the_latest_ones():
    day = datetime(2024, 3, 1, 9)
    memory = Memory(
        [
            _session(1, day, ("Bob", "how was the gym today"), ("Ann", "brutal, leg day")),
            _session(1, day + timedelta(days=1), ("Bob", "pizza tonight?"), ("Ann", "always pizza")),
            _session(2, day + timedelta(days=2), ("Cy", "are you at the gym"), ("Ann", "no, at work")),
        ],
        "Ann",
    )
    assert len(memory.exchanges) == 3  # only the persona's replies, each with the message it answered
    [found] = memory.recall(["so, pizza?"], count=1)
    assert (found.said.text, found.reply.text) == ("pizza tonight?", "always pizza")
    both = memory.recall(["the gym was packed"], count=2)
    assert [exchange.reply.text for exchange in both] == ["brutal, leg day", "no, at work"]  # oldest first
    assert memory.recall(["nothing in common"], count=3) == []
    assert memory.recall(['" OR * NEAR('], count=3) == []  # the user's words are never FTS5 syntax


def test_a_training_window_never_recalls_its_own_conversation(learnable_chat):
    data = build(learnable_chat, DatasetConfig("Ann", redact=False))
    memory = Memory.of_training_period(data)
    recalled = 0
    for example in data.examples:
        session = next(
            s for s in data.train if s.chat_id == example.chat_id and s.start <= example.turns[0].start <= s.end
        )
        for exchange in memory.for_example(example, "Ann", count=3):
            recalled += 1
            assert not session.start <= exchange.reply.start <= session.end
    assert recalled >= 2 * len(data.examples)  # the chat's words recur across days: there is something to recall


@pytest.mark.parametrize("rule", ["spread", "latest"])
def test_evaluation_recalls_nothing_from_the_held_out_conversations(learnable_chat, rule):
    data = build(learnable_chat, DatasetConfig("Ann", redact=False, hold_out=rule))
    held_out = {turn.start for session in data.val for turn in session.turns}
    memory = Memory.of_training_period(data)
    assert memory.exchanges
    assert not any(exchange.reply.start in held_out for exchange in memory.exchanges)
    for session in data.val:  # what a held-out moment recalls
        messages = [turn.text for turn in session.turns if turn.sender != "Ann"]
        assert not any(exchange.reply.start in held_out for exchange in memory.recall(messages, count=3))
    # a chat with the clone remembers everything, the held-out conversations included
    assert any(exchange.reply.start in held_out for exchange in remembered(learnable_chat, "Ann").exchanges)


def test_recalled_exchanges_come_first_as_context_never_as_targets(tiny_base):
    from transformers import AutoTokenizer

    from gptisyou.data.render import IGNORE_INDEX, Spoken

    transcript = Transcript(AutoTokenizer.from_pretrained(tiny_base))
    recalled = [(Spoken("Bob", "w1"), Spoken("Ann", "w2"))] * 3
    memory = transcript.recalled(recalled, budget=len(transcript.recalled(recalled[:2], budget=10_000)))
    assert memory == transcript.recalled(recalled[:2], budget=10_000)  # whole exchanges only, as many as fit
    ids, labels = transcript.training([Spoken("Bob", "w3"), Spoken("Ann", "w4", target=True)], 256, memory)
    assert ids[len(transcript.bos) : len(transcript.bos) + len(memory)] == memory
    assert all(label == IGNORE_INDEX for label in labels[: len(transcript.bos) + len(memory)])
    prompt = transcript.prompt([Spoken("Bob", "w3")], "Ann", 256, memory)
    assert prompt == ids[: len(prompt)]  # generation sees what training saw, memory included
