"""Small exports of each format, written by the tests themselves: every reader is tested without ../shared."""

import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr


def sms_backup(path: Path, records: list[dict], count: int | None = None) -> Path:
    """An SMS Backup & Restore file of `<sms>` records: each dict holds its attributes (address, date, type, body);
    an attribute value is written as given, so a test can put character references in it."""
    lines = ["<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>",
             f"<smses count=\"{len(records) if count is None else count}\">"]  # fmt: skip
    for record in records:
        attributes = {"protocol": "0", "type": "1", "contact_name": "(Unknown)", "readable_date": "", **record}
        lines.append("  <sms " + " ".join(f"{name}={_attribute(value)}" for name, value in attributes.items()) + " />")
    lines.append("</smses>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _attribute(value) -> str:
    """A quoted XML attribute; character references (`&#…;`) are kept as written."""
    quoted = quoteattr(str(value))
    return quoted.replace("&amp;#", "&#")


def telegram_chat(path: Path, messages: list[dict], chat_id: int | None = 4242, name: str = "Ann") -> Path:
    chat = {"name": name, "type": "personal_chat", **({"id": chat_id} if chat_id is not None else {}),
            "messages": messages}  # fmt: skip
    path.write_text(json.dumps(chat, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def telegram_message(number: int, sender: str, text, date: str = "2024-01-05T10:00:00", **fields) -> dict:
    return {"id": number, "type": "message", "date": date, "date_unixtime": "1704448800", "from": sender,
            "from_id": f"user{abs(hash(sender)) % 1000}", "text": text, **fields}  # fmt: skip


def slack_export(path: Path, days: dict[str, list], users: list[dict] | None = None,
                 channels: list[dict] | None = None) -> Path:  # fmt: skip
    """A Slack export zip: `days` maps `folder/2024-01-05.json` to that day file's entries."""
    users = users if users is not None else [{"id": "U1", "name": "ann", "profile": {"display_name": "Ann"}},
                                             {"id": "U2", "name": "bob", "profile": {"display_name": "Bob"}}]  # fmt: skip
    folders = sorted({name.split("/")[0] for name in days})
    channels = channels if channels is not None else [{"id": f"C{i}", "name": f} for i, f in enumerate(folders)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("users.json", json.dumps(users))
        archive.writestr("channels.json", json.dumps(channels))
        for name, entries in days.items():
            archive.writestr(name, entries if isinstance(entries, str | bytes) else json.dumps(entries))
    return path


def imessage_db(path: Path, messages: list[dict], handles: dict[int, str] | None = None) -> Path:
    """A Messages `chat.db` with the tables and columns the reader uses; each message dict gives its columns
    (text, date in nanoseconds since 2001, is_from_me, handle_id, attributedBody …), all in one chat."""
    import sqlite3

    handles = handles if handles is not None else {1: "+15550001"}
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE handle (ROWID INTEGER PRIMARY KEY, id TEXT)")
        db.execute("CREATE TABLE chat (ROWID INTEGER PRIMARY KEY, chat_identifier TEXT)")
        db.execute("CREATE TABLE chat_message_join (chat_id INTEGER, message_id INTEGER)")
        db.execute("CREATE TABLE message (ROWID INTEGER PRIMARY KEY, date INTEGER, is_from_me INTEGER, handle_id"
                   " INTEGER, text TEXT, associated_message_type INTEGER, attributedBody BLOB, item_type INTEGER,"
                   " cache_has_attachments INTEGER)")  # fmt: skip
        db.executemany("INSERT INTO handle VALUES (?, ?)", handles.items())
        db.execute("INSERT INTO chat VALUES (1, ?)", (next(iter(handles.values()), "chat"),))
        for rowid, message in enumerate(messages, start=1):
            row = {"date": 700_000_000_000_000_000 + rowid * 60_000_000_000, "is_from_me": 0, "handle_id": 1,
                   "text": None, "associated_message_type": 0, "attributedBody": None, "item_type": 0,
                   "cache_has_attachments": 0, **message}  # fmt: skip
            db.execute(f"INSERT INTO message (ROWID, {', '.join(row)}) VALUES (?, {', '.join('?' * len(row))})",
                       (rowid, *row.values()))  # fmt: skip
            db.execute("INSERT INTO chat_message_join VALUES (1, ?)", (rowid,))
    return path
