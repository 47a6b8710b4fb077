"""The persona's memory: its own past replies, found by what they answered, to show beside a conversation.

A model of 270M parameters knows nothing of a person's friends, work or running jokes; shown a few of the
person's real replies to similar messages, it can take topics, names and habits from them instead of from its
priors. An exchange is another person's turn and the persona's reply to it. They are ranked by BM25 over an
in-memory SQLite FTS5 index of both texts, queried with the words of the conversation's recent messages.

What may be recalled is the caller's choice of sessions: training recalls from the training period and never
from the window's own conversation (the answer would be in plain sight); evaluation recalls from the training
period only, never from the held-out one; a chat with the clone recalls from everything in the workspace.
"""

import itertools
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from gptisyou.data.conversations import Session, Turn
from gptisyou.data.dataset import DatasetConfig, Example, PersonaData, build, is_target
from gptisyou.data.render import Spoken
from gptisyou.store.database import Store

MEMORY_TOKENS = 128  # the most a window's or a prompt's recalled exchanges take of its tokens
RECENT_TURNS = 8  # the turns of a conversation whose words find what to recall when replying
_QUERY_WORDS = 32  # the newest distinct words of the conversation that make the query
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Exchange:
    """Another person's turn and the persona's reply to it, with the conversation (session) both belong to."""

    said: Turn
    reply: Turn
    chat_id: int
    conversation: tuple[datetime, datetime]  # the session's first and last moment

    def spoken(self) -> tuple[Spoken, Spoken]:
        return Spoken(self.said.sender, self.said.text), Spoken(self.reply.sender, self.reply.text)

    def within(self, chat_id: int, moment: datetime) -> bool:
        """Whether `moment` in chat `chat_id` falls inside this exchange's conversation."""
        return chat_id == self.chat_id and self.conversation[0] <= moment <= self.conversation[1]


class Memory:
    """The persona's exchanges in `sessions`, searchable by words."""

    def __init__(self, sessions: Iterable[Session], persona: str) -> None:
        self.exchanges = [exchange for session in sessions for exchange in _exchanges(session, persona)]
        # built once, then only read: a server may read it from another thread than the one that built it
        self._index = sqlite3.connect(":memory:", check_same_thread=False)
        self._index.execute("CREATE VIRTUAL TABLE exchanges USING fts5(said, reply)")
        self._index.executemany(
            "INSERT INTO exchanges (rowid, said, reply) VALUES (?, ?, ?)",
            ((row, exchange.said.text, exchange.reply.text) for row, exchange in enumerate(self.exchanges)),
        )

    @classmethod
    def of_training_period(cls, data: PersonaData) -> "Memory":
        """What training and evaluation may recall: the training period's exchanges, never the held-out ones."""
        return cls(data.train, data.persona)

    def recall(
        self, messages: Sequence[str], count: int, outside: tuple[int, datetime] | None = None
    ) -> list[Exchange]:
        """Up to `count` exchanges whose words are most like `messages` (the other people's recent turns), oldest
        first; with `outside` = (chat id, moment), none from the conversation that moment belongs to."""
        query = _query(messages)
        if not query or count <= 0:
            return []
        found = []
        rows = self._index.execute("SELECT rowid FROM exchanges WHERE exchanges MATCH ? ORDER BY rank", (query,))
        for (row,) in rows:
            exchange = self.exchanges[row]
            if outside is None or not exchange.within(*outside):
                found.append(exchange)
            if len(found) == count:
                break
        return sorted(found, key=lambda exchange: exchange.reply.start)

    def for_example(self, example: Example, persona: str, count: int) -> list[Exchange]:
        """What a training or held-out window is shown: never an exchange of its own conversation."""
        messages = [turn.text for turn in example.turns if turn.sender != persona]
        return self.recall(messages, count, outside=(example.chat_id, example.turns[0].start))


def _exchanges(session: Session, persona: str) -> Iterable[Exchange]:
    for said, reply in itertools.pairwise(session.turns):
        if said.sender != persona and said.has_words and is_target(reply, persona):
            yield Exchange(said, reply, session.chat_id, (session.start, session.end))


def _query(texts: Iterable[str]) -> str:
    """An FTS5 query matching any of the newest distinct words of `texts` (each quoted: no operators)."""
    words = [word for text in texts for word in _WORD.findall(text.lower()) if len(word) > 1]
    newest = list(dict.fromkeys(reversed(words)))[:_QUERY_WORDS]
    return " OR ".join(f'"{word}"' for word in newest)


def remembered(store: Store, persona: str) -> Memory:
    """Everything the persona wrote in the workspace, for a clone to recall while talking."""
    return Memory(every_session(store, persona), persona)


def every_session(store: Store, persona: str) -> list[Session]:
    """The sessions of all the persona's chats, none held out, as written (no pseudonyms)."""
    return build(store, DatasetConfig(persona, val_fraction=0, redact=False)).train
