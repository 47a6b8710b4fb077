"""The SQLite workspace: chats, people, messages and the history of imports (quiz answers, corrections and
what went to providers have their own small classes in `records`, on the same connection).

One file per workspace (WAL, 0600, created with its directory 0700). Schema changes are an ordered list of
migrations applied once each and recorded in `_migrations`. Readers get `Message`s back; the import itself
lives in `ingest`, which writes through `transaction()`.
"""

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Self

from gptisyou.errors import InputError
from gptisyou.messages import Message
from gptisyou.store.workspace import database_path, ensure_private_dir

if TYPE_CHECKING:  # records reads the store: imported where it is asked for
    from gptisyou.store.records import Corrections, QuizAnswers, RemoteObjects

# How long a write waits for another process's write (a long import) before giving up.
BUSY_TIMEOUT_S = 600.0


def _initial_schema(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE chats (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,           -- from the export's file name, e.g. "Alex"
            source TEXT NOT NULL,          -- the source module that read it, e.g. "whatsapp"
            created_at TEXT NOT NULL
        );
        CREATE TABLE people (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            name TEXT NOT NULL,            -- display name exactly as in the export
            UNIQUE (chat_id, name)
        );
        CREATE TABLE imports (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            file_name TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            date_order TEXT,
            messages_read INTEGER NOT NULL,
            messages_added INTEGER NOT NULL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            sender_id INTEGER REFERENCES people(id),   -- NULL for system lines
            ts TEXT NOT NULL,                          -- ISO 8601, naive local time as exported
            text TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('text', 'media', 'system', 'deleted')),
            attachment TEXT,
            edited INTEGER NOT NULL DEFAULT 0,
            words INTEGER NOT NULL DEFAULT 0,
            -- identity: hash of (sender, ts, text, kind) plus the ordinal among exact duplicates in one export,
            -- so a re-import, or a newer export of the same chat, adds only what is new
            content_hash INTEGER NOT NULL,
            ordinal INTEGER NOT NULL,
            import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
            line INTEGER NOT NULL                      -- line in that import's file
        );
        -- identity and time order in one index: imports arrive in time order, so inserts append to it
        CREATE UNIQUE INDEX messages_identity ON messages (chat_id, ts, content_hash, ordinal);
        """,
    )


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # not executescript(): it commits first, and a migration must run inside the caller's transaction
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _remote_objects(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE remote_objects (      -- what was sent to, or made at, a hosted provider: `forget --remote` finds it
            id INTEGER PRIMARY KEY,
            provider TEXT NOT NULL,        -- the API's base URL
            kind TEXT NOT NULL CHECK (kind IN ('file', 'job', 'model')),
            remote_id TEXT NOT NULL,
            persona TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}',  -- JSON: base model, status, file name...
            created_at TEXT NOT NULL,
            deleted_at TEXT,
            UNIQUE (provider, kind, remote_id)
        );
        """,
    )


def _quiz_answers(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE quiz_answers (        -- the blind test: which of two replies did the persona really write?
            id INTEGER PRIMARY KEY,
            run TEXT NOT NULL,             -- the run directory's path
            question INTEGER NOT NULL,     -- the held-out moment's number in the run's evaluation
            picked_real INTEGER NOT NULL,  -- 1 when the person picked the real reply
            via TEXT NOT NULL,             -- terminal | web
            answered_at TEXT NOT NULL
        );
        """,
    )


def _chat_keys(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        ALTER TABLE chats ADD COLUMN source_key TEXT;  -- the export's own id of the chat, where it has a stable one
        CREATE INDEX chats_by_key ON chats (source, source_key);
        """,
    )


def _aliases(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE aliases (             -- people --merge: names that are one person across chats and apps
            name TEXT PRIMARY KEY,         -- a participant's name as an export writes it
            person TEXT NOT NULL           -- the one name the person goes by (a persona for --as)
        );
        """,
    )


def _counted_quiz_answers(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        -- web answers from before one-time tokens could be forged (any number, any count): they no longer count
        ALTER TABLE quiz_answers ADD COLUMN counted INTEGER NOT NULL DEFAULT 1;
        UPDATE quiz_answers SET counted = 0 WHERE via = 'web';
        """,
    )


def _corrections(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE corrections (         -- "they wouldn't say that": a clone's reply the user marked as unlike them
            id INTEGER PRIMARY KEY,
            persona TEXT NOT NULL,
            context TEXT NOT NULL,         -- JSON [[speaker, text], ...]: the conversation before the reply
            reply TEXT NOT NULL,           -- what the clone said
            rewrite TEXT,                  -- what the person would have said, when the user wrote it
            via TEXT NOT NULL,             -- terminal | web
            created_at TEXT NOT NULL
        );
        CREATE INDEX corrections_by_persona ON corrections (persona);
        """,
    )


def _import_fingerprints(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        -- what makes a re-import of the very same file, read the same way, a lookup instead of a parse
        ALTER TABLE imports ADD COLUMN reader TEXT;        -- the file's sha256 with the reading options and version
        ALTER TABLE imports ADD COLUMN file_chats INTEGER; -- how many chats that file holds
        ALTER TABLE imports ADD COLUMN first_ts TEXT;      -- the span of the file's messages of this chat
        ALTER TABLE imports ADD COLUMN last_ts TEXT;
        CREATE INDEX imports_by_reader ON imports (reader);
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _initial_schema,
    _remote_objects,
    _quiz_answers,
    _chat_keys,
    _aliases,
    _counted_quiz_answers,
    _corrections,
    _import_fingerprints,
]


@dataclass(frozen=True, slots=True)
class ChatSummary:
    id: int
    title: str
    source: str
    people: int
    messages: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True, slots=True)
class PersonSummary:
    chat_id: int
    chat_title: str
    name: str
    messages: int  # written by this person: text, media and deleted, not system lines
    words: int
    first: datetime | None
    last: datetime | None


class Store:
    """A workspace's SQLite database. Use as a context manager, or call `close()`."""

    def __init__(self, db: sqlite3.Connection, path: Path):
        self.db = db
        self.path = path

    @classmethod
    def open(cls, workspace: Path) -> Self:
        workspace = Path(workspace)
        ensure_private_dir(workspace)
        path = database_path(workspace)
        if not all(os.access(place, os.W_OK) for place in (workspace, path) if place.exists()):
            raise InputError(
                f"{workspace}: the workspace is read-only; gptisyou writes to it (chmod u+w, or choose "
                "another with --workspace)"
            )
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # SQLite gives -wal/-shm the same mode
        try:
            # a writer (an import) waits for another writer instead of failing; readers never wait in WAL mode
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as error:
            raise InputError(f"{path}: not a gptisyou workspace database ({error})") from None
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        store = cls(db, path)
        if store._pending_migrations():
            store._migrate()
        return store

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def quiz(self) -> "QuizAnswers":
        """The blind test's answers."""
        from gptisyou.store.records import QuizAnswers

        return QuizAnswers(self)

    @property
    def corrections(self) -> "Corrections":
        """Replies marked as unlike the person ("they wouldn't say that")."""
        from gptisyou.store.records import Corrections

        return Corrections(self)

    @property
    def remote(self) -> "RemoteObjects":
        """What went to hosted providers: files, jobs, models."""
        from gptisyou.store.records import RemoteObjects

        return RemoteObjects(self)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: an exception (or Ctrl-C) inside rolls everything back."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _pending_migrations(self) -> bool:
        """Whether the schema is behind, read without taking the write lock that `_migrate` needs."""
        tables = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "_migrations" not in tables:
            return True
        done = {name for (name,) in self.db.execute("SELECT name FROM _migrations")}
        return any(migration.__name__ not in done for migration in MIGRATIONS)

    def _migrate(self) -> None:
        with self.transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {name for (name,) in db.execute("SELECT name FROM _migrations")}
            for migration in MIGRATIONS:
                if migration.__name__ not in done:
                    migration(db)
                    db.execute(
                        "INSERT INTO _migrations VALUES (?, ?)", (migration.__name__, datetime.now().isoformat())
                    )

    # --- reading ---------------------------------------------------------------------------------------------

    def chats(self) -> list[ChatSummary]:
        rows = self.db.execute(
            """
            SELECT c.id, c.title, c.source,
                   (SELECT COUNT(*) FROM people p WHERE p.chat_id = c.id),
                   COUNT(m.id), MIN(m.ts), MAX(m.ts)
            FROM chats c LEFT JOIN messages m ON m.chat_id = c.id
            GROUP BY c.id ORDER BY c.id
            """
        )
        return [ChatSummary(*row[:5], optional_time(row[5]), optional_time(row[6])) for row in rows]

    def chat_ids(self) -> list[int]:
        """The chats' ids, without counting their messages."""
        return [row[0] for row in self.db.execute("SELECT id FROM chats ORDER BY id")]

    def require_chat(self, chat_id: int) -> None:
        """Raises InputError naming the known chats when `chat_id` is not one of them."""
        known = self.chat_ids()
        if chat_id not in known:
            listed = ", ".join(map(str, known)) or "none yet: run gptisyou import"
            raise InputError(f"no chat {chat_id} in the workspace (known: {listed})")

    def chat(self, chat_id: int) -> ChatSummary:
        """Raises InputError naming the known chats when `chat_id` is not one of them."""
        self.require_chat(chat_id)
        return next(chat for chat in self.chats() if chat.id == chat_id)

    def remove_chat(self, chat_id: int) -> None:
        """Delete one chat with its messages, people and import history.

        Raises:
            InputError: `chat_id` names no chat.
        """
        self.require_chat(chat_id)
        with self.transaction() as db:
            db.execute("DELETE FROM messages WHERE chat_id = ?", (chat_id,))
            db.execute("DELETE FROM chats WHERE id = ?", (chat_id,))  # people and imports follow (ON DELETE CASCADE)

    def people(self, chat_id: int | None = None) -> list[PersonSummary]:
        rows = self.db.execute(
            """
            WITH written AS (
                SELECT sender_id, COUNT(*) AS n, SUM(words) AS words, MIN(ts) AS first, MAX(ts) AS last
                FROM messages WHERE sender_id IS NOT NULL AND (:chat IS NULL OR chat_id = :chat) GROUP BY sender_id)
            SELECT c.id, c.title, p.name, COALESCE(w.n, 0), COALESCE(w.words, 0), w.first, w.last
            FROM people p JOIN chats c ON c.id = p.chat_id LEFT JOIN written w ON w.sender_id = p.id
            WHERE :chat IS NULL OR c.id = :chat
            ORDER BY c.id, COALESCE(w.n, 0) DESC, p.name
            """,
            {"chat": chat_id},
        )
        return [PersonSummary(*row[:5], optional_time(row[5]), optional_time(row[6])) for row in rows]

    def messages(self, chat_id: int, last: int | None = None) -> Iterator[Message]:
        """A chat's messages in time order (file order among equal times); only the latest `last` if given. Each
        says which app it came from: the chat's."""
        [source] = self.db.execute("SELECT source FROM chats WHERE id = ?", (chat_id,)).fetchone() or ("unknown",)
        select = """
            SELECT p.name, m.ts, m.text, m.kind, m.attachment, m.edited, m.line, m.import_id
            FROM messages m LEFT JOIN people p ON p.id = m.sender_id WHERE m.chat_id = ?"""
        if last is None:
            rows = self.db.execute(f"{select} ORDER BY m.ts, m.import_id, m.line", (chat_id,))
        else:
            latest = f"{select} ORDER BY m.ts DESC, m.import_id DESC, m.line DESC LIMIT ?"
            rows = self.db.execute(f"SELECT * FROM ({latest}) ORDER BY ts, import_id, line", (chat_id, last))
        for name, ts, text, kind, attachment, edited, line, _import_id in rows:
            yield Message(name, datetime.fromisoformat(ts), text, kind, attachment, bool(edited), line, source)

    def message_rows(self, chat_id: int) -> Iterator[tuple[str | None, str, str, int, str]]:
        """(sender, ISO time, kind, words, text) of a chat's messages in time order: what a pass over millions of
        messages reads, without building a `Message` for each."""
        yield from self.db.execute(
            """SELECT p.name, m.ts, m.kind, m.words, m.text FROM messages m LEFT JOIN people p ON p.id = m.sender_id
               WHERE m.chat_id = ? ORDER BY m.ts, m.import_id, m.line""",
            (chat_id,),
        )

    def text_count(self, chat_ids: list[int]) -> int:
        marks = ", ".join("?" * len(chat_ids))
        query = f"SELECT COUNT(*) FROM messages WHERE kind = 'text' AND chat_id IN ({marks})"
        return self.db.execute(query, chat_ids).fetchone()[0] if chat_ids else 0

    # --- the blind quiz -----------------------------------------------------------------------------------------

    def aliases(self) -> dict[str, str]:
        """Name → the person it belongs to, for every merged name, followed through chains (A → B → C: A is C)."""
        direct = dict(self.db.execute("SELECT name, person FROM aliases"))
        return {name: _person_of(name, direct) for name in direct}

    def chats_shared_by(self, names: list[str]) -> list[tuple[int, str]]:
        """(id, title) of each chat in which two or more of `names` (or names merged into them) take part."""
        aliases = self.aliases()
        people = {_person_of(name, aliases) for name in names}
        rows = self.db.execute("SELECT c.id, c.title, p.name FROM people p JOIN chats c ON c.id = p.chat_id")
        found: dict[tuple[int, str], set[str]] = {}
        for chat_id, title, name in rows:
            if (person := aliases.get(name, name)) in people:
                found.setdefault((chat_id, title), set()).add(person)
        return [chat for chat, present in found.items() if len(present) > 1]

    def merge_people(self, person: str, names: list[str]) -> None:
        """Record that `names` are `person` (written under other names, in other chats or apps). Names merged
        into one of `names` before now belong to `person` too.

        Raises:
            InputError: a name that is no participant of any chat, or a merge that would make a loop.
        """
        known = {name for (name,) in self.db.execute("SELECT DISTINCT name FROM people")} | {person}
        for name in names:
            if name not in known:
                raise InputError(f"no participant '{name}' in any chat (see gptisyou people)")
        root = _person_of(person, self.aliases())
        if root in names:
            raise InputError(
                f"'{person}' is already a name of '{root}': merging '{root}' into it would make a loop "
                f"(merge the other way: gptisyou people --merge '{root}' '{person}')"
            )
        with self.transaction() as db:
            others = [name for name in names if name != root]
            db.executemany(
                "INSERT INTO aliases (name, person) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET person = ?",
                [(name, root, root) for name in others],
            )
            marks = ", ".join("?" * len(others))
            db.execute(f"UPDATE aliases SET person = ? WHERE person IN ({marks})", [root, *others])

    def unmerge_people(self, names: list[str]) -> int:
        """Forget merges of `names` (a merged name, or a person: all of theirs); returns how many were forgotten."""
        with self.transaction() as db:
            marks = ", ".join("?" * len(names))
            return db.execute(
                f"DELETE FROM aliases WHERE name IN ({marks}) OR person IN ({marks})", [*names, *names]
            ).rowcount


def _person_of(name: str, aliases: dict[str, str]) -> str:
    """The person `name` belongs to, through any chain of merges (a loop written by an older version ends it)."""
    seen = {name}
    while name in aliases and aliases[name] not in seen:
        name = aliases[name]
        seen.add(name)
    return name


def now_text() -> str:
    """The time now, as the workspace stores times."""
    return datetime.now().isoformat(timespec="seconds")


def optional_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
