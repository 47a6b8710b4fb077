"""What the workspace remembers besides the chats, one small class each on the store's connection: the blind
test's answers (`QuizAnswers`), replies marked as unlike the person (`Corrections`) and what went to hosted
providers (`RemoteObjects`). Reach them as `store.quiz`, `store.corrections` and `store.remote`."""

import json
from dataclasses import dataclass
from datetime import datetime

from gptisyou.errors import InputError
from gptisyou.store.database import Store, now_text, optional_time

CORRECTION_TURNS = 16  # of a correction's context: what training shows before the reply, and more
CORRECTION_CHARS = 2000  # of each text of a correction: a turn, never a document


class QuizAnswers:
    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, run: str, question: int, picked_real: bool, via: str) -> None:
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO quiz_answers (run, question, picked_real, via, answered_at) VALUES (?, ?, ?, ?, ?)",
                (run, question, int(picked_real), via, now_text()),
            )

    def of_run(self, run: str) -> list[bool]:
        """Whether each answer for `run` that counts picked the real reply, oldest first."""
        rows = self.store.db.execute(
            "SELECT picked_real FROM quiz_answers WHERE run = ? AND counted ORDER BY id", (run,)
        )
        return [bool(picked) for (picked,) in rows]


@dataclass(frozen=True, slots=True)
class Correction:
    """A clone's reply the user marked as unlike the person, with what the person would have said, if given."""

    id: int
    persona: str
    context: tuple[tuple[str, str], ...]  # (speaker, text), oldest first
    reply: str
    rewrite: str | None
    via: str
    created_at: datetime


class Corrections:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, persona: str, context: list[tuple[str, str]], reply: str, rewrite: str | None, via: str) -> int:
        """Store a correction, kept to what training can use (the last `CORRECTION_TURNS` turns of its context, each
        text to `CORRECTION_CHARS`); returns its id. The same reply in the same context marked again is the same
        correction: its id, with the newer rewrite if one is given.

        Raises:
            InputError: the reply marked is empty.
        """
        reply, rewrite = reply.strip()[:CORRECTION_CHARS], (rewrite or "").strip()[:CORRECTION_CHARS] or None
        if not reply:
            raise InputError("the reply marked as unlike the person is empty: nothing to correct")
        context = [(speaker, text[:CORRECTION_CHARS]) for speaker, text in context[-CORRECTION_TURNS:]]
        shown = json.dumps(context, ensure_ascii=False)
        with self.store.transaction() as db:
            same = db.execute(
                "SELECT id FROM corrections WHERE persona = ? AND context = ? AND reply = ?", (persona, shown, reply)
            ).fetchone()
            if same:
                if rewrite:
                    db.execute("UPDATE corrections SET rewrite = ? WHERE id = ?", (rewrite, same[0]))
                return same[0]
            return db.execute(
                "INSERT INTO corrections (persona, context, reply, rewrite, via, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (persona, shown, reply, rewrite, via, now_text()),
            ).lastrowid

    def of(self, persona: str) -> list[Correction]:
        """The persona's corrections, oldest first."""
        rows = self.store.db.execute(
            "SELECT id, persona, context, reply, rewrite, via, created_at FROM corrections WHERE persona = ? ORDER BY id",
            (persona,),
        )
        return [
            Correction(
                id_,
                who,
                tuple(tuple(line) for line in json.loads(context)),
                reply,
                rewrite,
                via,
                datetime.fromisoformat(created),
            )
            for id_, who, context, reply, rewrite, via, created in rows
        ]

    def remove(self, persona: str, ids: list[int] | None = None) -> int:
        """Delete the persona's corrections `ids` (all of them without); returns how many went.

        Raises:
            InputError: an id that is no correction of the persona's (nothing is deleted then).
        """
        with self.store.transaction() as db:
            if ids is None:
                return db.execute("DELETE FROM corrections WHERE persona = ?", (persona,)).rowcount
            marks = ", ".join("?" * len(ids))
            known = {
                row[0]
                for row in db.execute(
                    f"SELECT id FROM corrections WHERE persona = ? AND id IN ({marks})", [persona, *ids]
                )
            }
            if missing := [number for number in ids if number not in known]:
                raise InputError(
                    f"no correction {', '.join(map(str, missing))} of {persona}'s clone "
                    f"(gptisyou corrections --as {persona} lists them)"
                )
            return db.execute(
                f"DELETE FROM corrections WHERE persona = ? AND id IN ({marks})", [persona, *ids]
            ).rowcount


@dataclass(frozen=True, slots=True)
class RemoteObject:
    provider: str
    kind: str  # file | job | model
    remote_id: str
    persona: str
    detail: dict
    created_at: datetime
    deleted_at: datetime | None


class RemoteObjects:
    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, provider: str, kind: str, remote_id: str, persona: str, **detail) -> None:
        """Remember a file, job or model at a provider; `detail` is merged into what is known of it."""
        self.store.db.execute(
            """INSERT INTO remote_objects (provider, kind, remote_id, persona, detail, created_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (provider, kind, remote_id) DO UPDATE SET detail = json_patch(detail, excluded.detail)""",
            (provider, kind, remote_id, persona, json.dumps(detail), now_text()),
        )

    def deleted(self, provider: str, kind: str, remote_id: str) -> None:
        self.store.db.execute(
            "UPDATE remote_objects SET deleted_at = ? WHERE provider = ? AND kind = ? AND remote_id = ?",
            (now_text(), provider, kind, remote_id),
        )

    def objects(
        self, persona: str | None = None, kind: str | None = None, include_deleted: bool = True
    ) -> list[RemoteObject]:
        """Oldest first."""
        rows = self.store.db.execute(
            """SELECT provider, kind, remote_id, persona, detail, created_at, deleted_at FROM remote_objects
               WHERE (:persona IS NULL OR persona = :persona) AND (:kind IS NULL OR kind = :kind)
                 AND (:deleted OR deleted_at IS NULL)
               ORDER BY id""",
            {"persona": persona, "kind": kind, "deleted": include_deleted},
        )
        return [
            RemoteObject(
                provider,
                kind_,
                remote_id,
                who,
                json.loads(detail),
                datetime.fromisoformat(created),
                optional_time(deleted),
            )
            for provider, kind_, remote_id, who, detail, created, deleted in rows
        ]
