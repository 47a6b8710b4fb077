import sqlite3
import stat

import pytest

from gptisyou.store.database import MIGRATIONS, Store


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_blank_workspace_gets_the_full_schema(workspace):
    with Store.open(workspace) as store:
        tables = {name for (name,) in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = [row[1] for row in store.db.execute("PRAGMA table_info(messages)")]
        indexes = {row[1]: row[2] for row in store.db.execute("PRAGMA index_list(messages)")}
        foreign = {(row[2], row[3]) for row in store.db.execute("PRAGMA foreign_key_list(messages)")}
        applied = [name for (name,) in store.db.execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert tables == {
        "_migrations",
        "chats",
        "people",
        "imports",
        "messages",
        "remote_objects",
        "quiz_answers",
        "aliases",
        "corrections",
    }
    assert columns == [
        "id",
        "chat_id",
        "sender_id",
        "ts",
        "text",
        "kind",
        "attachment",
        "edited",
        "words",
        "content_hash",
        "ordinal",
        "import_id",
        "line",
    ]
    assert indexes == {"messages_identity": 1}  # unique
    assert foreign == {("chats", "chat_id"), ("people", "sender_id"), ("imports", "import_id")}
    assert applied == [migration.__name__ for migration in MIGRATIONS]


def test_migrations_run_once(workspace):
    Store.open(workspace).close()
    with Store.open(workspace) as store:
        assert store.db.execute("SELECT COUNT(*) FROM _migrations").fetchone() == (len(MIGRATIONS),)


def test_workspace_is_private(workspace):
    with Store.open(workspace) as store:
        store.db.execute("CREATE TABLE scratch (x)")  # makes SQLite create its -wal and -shm files
        files = sorted(workspace.iterdir())
        assert {path.name for path in files} >= {"workspace.db", "workspace.db-wal"}
        assert {path.name: _mode(path) for path in files} == {path.name: 0o600 for path in files}
    assert _mode(workspace) == 0o700


def test_kind_is_checked_by_the_database(workspace):
    with Store.open(workspace) as store:
        store.db.execute("INSERT INTO chats (title, source, created_at) VALUES ('t', 'whatsapp', 'now')")
        store.db.execute(
            "INSERT INTO imports (chat_id, file_name, sha256, imported_at, messages_read, messages_added)"
            " VALUES (1, 'f', 's', 'now', 0, 0)"
        )
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            store.db.execute(
                "INSERT INTO messages (chat_id, ts, text, kind, content_hash, ordinal, import_id, line)"
                " VALUES (1, '2020-01-01T00:00:00', 'x', 'sticker', 0, 0, 1, 1)"
            )


def test_remote_objects_are_recorded_merged_and_marked_deleted(workspace):
    with Store.open(workspace) as store:
        store.remote.record("https://api.example/v1", "job", "ftjob-1", "Ann", model="m", status="queued")
        store.remote.record("https://api.example/v1", "job", "ftjob-1", "Ann", status="succeeded")
        store.remote.record("https://api.example/v1", "file", "file-1", "Bob")
        [job] = store.remote.objects("Ann")
        assert (job.kind, job.remote_id, job.detail) == ("job", "ftjob-1", {"model": "m", "status": "succeeded"})
        store.remote.deleted("https://api.example/v1", "file", "file-1")
        assert [o.remote_id for o in store.remote.objects(include_deleted=False)] == ["ftjob-1"]
        assert store.remote.objects(kind="file")[0].deleted_at is not None


def test_an_older_workspace_is_upgraded_in_place(workspace):
    import sqlite3

    from gptisyou.store.database import _initial_schema
    from gptisyou.store.workspace import database_path

    workspace.mkdir(parents=True)
    db = sqlite3.connect(database_path(workspace))
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    _initial_schema(db)
    db.execute("INSERT INTO _migrations VALUES ('_initial_schema', '2026-11-01')")
    db.execute("INSERT INTO chats (title, source, created_at) VALUES ('Alex', 'whatsapp', '2026-11-01')")
    db.commit()
    db.close()
    with Store.open(workspace) as store:
        assert [chat.title for chat in store.chats()] == ["Alex"]
        assert store.remote.objects() == []


# --- several commands at once -------------------------------------------------------------------------------------


def _writing(workspace) -> sqlite3.Connection:
    """A connection in the middle of a write transaction, as an import holds one while it reads its file."""
    writer = sqlite3.connect(workspace / "workspace.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO chats (title, source, created_at) VALUES ('busy', 'whatsapp', '2026-01-01')")
    return writer


def test_readers_never_wait_for_a_writer(run, workspace):
    Store.open(workspace).close()
    writer = _writing(workspace)
    try:
        for command in ("chats", "people", "runs"):
            result = run(command)
            assert result.exit_code == 0, result.output
            assert "locked" not in result.output
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_concurrent_imports_wait_for_each_other_and_all_succeed(workspace, tmp_path):
    import subprocess
    import sys
    import time
    from datetime import datetime, timedelta

    from gptisyou.messages import Message
    from gptisyou.sources import whatsapp_writer

    exports = []
    for index in range(4):
        start = datetime(2024, 1, 1) + timedelta(days=index)
        messages = [Message(f"P{index}" if i % 2 else "Me", start + timedelta(minutes=i), f"m{i}") for i in range(400)]
        exports.append(tmp_path / f"WhatsApp Chat with P{index}.txt")
        whatsapp_writer.write_file(messages, exports[-1], whatsapp_writer.VARIANTS[0])
    Store.open(workspace).close()
    writer = _writing(workspace)  # every import has to wait for it, then for each other
    command = [sys.executable, "-m", "gptisyou", "--workspace", str(workspace), "import"]
    processes = [subprocess.Popen([*command, str(export)], stderr=subprocess.PIPE, text=True) for export in exports]
    time.sleep(6)  # longer than SQLite's default 5 s wait: a long import must not make the others fail
    writer.execute("ROLLBACK")
    writer.close()
    errors = [process.communicate(timeout=300)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0], errors
    with Store.open(workspace) as store:
        assert sorted(chat.messages for chat in store.chats()) == [400, 400, 400, 400]


def test_a_message_read_back_says_which_app_it_came_from(workspace, tmp_path):
    from gptisyou.store import ingest
    from tests.sources import exports

    path = exports.telegram_chat(tmp_path / "result.json", [exports.telegram_message(1, "Ann", "hi")])
    with Store.open(workspace) as store:
        ingest.import_file(store, path)
        [message] = store.messages(1)
    assert message.source == "telegram"


def test_corrections_are_kept_to_what_training_can_use(workspace):
    from gptisyou.errors import InputError
    from gptisyou.store.records import CORRECTION_CHARS, CORRECTION_TURNS

    with Store.open(workspace) as store:
        with pytest.raises(InputError, match="the reply marked as unlike the person is empty"):
            store.corrections.add("Ann", [("Bob", "hi")], "   \n ", None, via="web")
        context = [("Bob" if n % 2 else "Ann", f"line {n}") for n in range(1000)]
        first = store.corrections.add("Ann", context, "x" * 20_000, "  ", via="web")
        again = store.corrections.add("Ann", context, "x" * 20_000, "what she'd say", via="terminal")
        [kept] = store.corrections.of("Ann")
    assert first == again == kept.id  # /not-them twice on one reply: one correction, the newer rewrite
    assert (len(kept.context), kept.context[-1], len(kept.reply)) == (
        CORRECTION_TURNS,
        ("Bob", "line 999"),
        CORRECTION_CHARS,
    )
    assert kept.rewrite == "what she'd say"
