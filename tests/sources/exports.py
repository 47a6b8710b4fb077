"""Small exports of each format, written by the tests themselves: every reader is tested without ../shared."""

import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr


def sms_backup(path: Path, records: list[dict | str], count: int | None = None) -> Path:
    """An SMS Backup & Restore file of `<sms>` records: each dict holds its attributes (address, date, type, body);
    an attribute value is written as given, so a test can put character references in it. A string is written
    as it is (an `<mms>` element, say: see `mms`)."""
    lines = [
        "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>",
        f'<smses count="{len(records) if count is None else count}">',
    ]
    for record in records:
        if isinstance(record, str):
            lines.append("  " + record)
            continue
        attributes = {"protocol": "0", "type": "1", "contact_name": "(Unknown)", "readable_date": "", **record}
        lines.append("  <sms " + " ".join(f"{name}={_attribute(value)}" for name, value in attributes.items()) + " />")
    lines.append("</smses>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def mms(
    address: str, date: int, msg_box: int, sender: str | None, parts: list[dict], contact_name: str = "(Unknown)"
) -> str:
    """An `<mms>` element: `parts` as `<part>` attributes (ct, text, cl, name), the sender as `<addr type="137">`."""
    attributes = {"date": date, "msg_box": msg_box, "address": address, "contact_name": contact_name, "m_type": 132}
    head = " ".join(f"{name}={_attribute(value)}" for name, value in attributes.items())
    written = "".join(
        "<part " + " ".join(f"{k}={_attribute(v)}" for k, v in {"seq": n, **part}.items()) + " />"
        for n, part in enumerate([{"ct": "application/smil", "text": "<smil/>"}, *parts], start=-1)
    )
    addresses = [
        *([(sender, 137)] if sender else []),
        *((number, 151) for number in address.split("~") if number != sender),
    ]
    addrs = "".join(f'<addr address="{number}" type="{kind}" charset="106" />' for number, kind in addresses)
    return f"<mms {head}><parts>{written}</parts><addrs>{addrs}</addrs></mms>"


def _attribute(value) -> str:
    """A quoted XML attribute; character references (`&#…;`) are kept as written."""
    quoted = quoteattr(str(value))
    return quoted.replace("&amp;#", "&#")


def telegram_chat(path: Path, messages: list[dict], chat_id: int | None = 4242, name: str = "Ann") -> Path:
    chat = {
        "name": name,
        "type": "personal_chat",
        **({"id": chat_id} if chat_id is not None else {}),
        "messages": messages,
    }
    path.write_text(json.dumps(chat, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def telegram_message(number: int, sender: str, text, date: str = "2024-01-05T10:00:00", **fields) -> dict:
    return {
        "id": number,
        "type": "message",
        "date": date,
        "date_unixtime": "1704448800",
        "from": sender,
        "from_id": f"user{abs(hash(sender)) % 1000}",
        "text": text,
        **fields,
    }


def slack_export(
    path: Path, days: dict[str, list], users: list[dict] | None = None, channels: list[dict] | None = None
) -> Path:
    """A Slack export zip: `days` maps `folder/2024-01-05.json` to that day file's entries."""
    users = (
        users
        if users is not None
        else [
            {"id": "U1", "name": "ann", "profile": {"display_name": "Ann"}},
            {"id": "U2", "name": "bob", "profile": {"display_name": "Bob"}},
        ]
    )
    folders = sorted({name.split("/")[0] for name in days})
    channels = channels if channels is not None else [{"id": f"C{i}", "name": f} for i, f in enumerate(folders)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("users.json", json.dumps(users))
        archive.writestr("channels.json", json.dumps(channels))
        for name, entries in days.items():
            archive.writestr(name, entries if isinstance(entries, str | bytes) else json.dumps(entries))
    return path


def attributed_body(text: str) -> bytes:
    """An NSAttributedString holding `text`, archived in typedstream format as Messages stores `attributedBody`:
    the header, the class chain NSAttributedString → NSObject, then an NSString of the UTF-8 bytes."""
    data = text.encode("utf-8")
    length = bytes([len(data)]) if len(data) < 0x80 else b"\x81" + len(data).to_bytes(2, "little")
    return (
        b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x12NSAttributedString\x00\x84\x84\x08NSObject"
        b"\x00\x85\x92\x84\x84\x84\x08NSString\x01\x94\x84\x01+" + length + data + b"\x86\x86"
    )


def imessage_db(path: Path, messages: list[dict], handles: dict[int, str] | None = None) -> Path:
    """A Messages `chat.db` with the tables and columns the reader uses; each message dict gives its columns
    (text, date in nanoseconds since 2001, is_from_me, handle_id, attributedBody …), all in one chat."""
    import sqlite3

    handles = handles if handles is not None else {1: "+15550001"}
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE handle (ROWID INTEGER PRIMARY KEY, id TEXT)")
        db.execute("CREATE TABLE chat (ROWID INTEGER PRIMARY KEY, chat_identifier TEXT)")
        db.execute("CREATE TABLE chat_message_join (chat_id INTEGER, message_id INTEGER)")
        db.execute(
            "CREATE TABLE message (ROWID INTEGER PRIMARY KEY, date INTEGER, is_from_me INTEGER, handle_id"
            " INTEGER, text TEXT, associated_message_type INTEGER, attributedBody BLOB, item_type INTEGER,"
            " cache_has_attachments INTEGER)"
        )
        db.executemany("INSERT INTO handle VALUES (?, ?)", handles.items())
        db.execute("INSERT INTO chat VALUES (1, ?)", (next(iter(handles.values()), "chat"),))
        for rowid, message in enumerate(messages, start=1):
            row = {
                "date": 700_000_000_000_000_000 + rowid * 60_000_000_000,
                "is_from_me": 0,
                "handle_id": 1,
                "text": None,
                "associated_message_type": 0,
                "attributedBody": None,
                "item_type": 0,
                "cache_has_attachments": 0,
                **message,
            }
            db.execute(
                f"INSERT INTO message (ROWID, {', '.join(row)}) VALUES (?, {', '.join('?' * len(row))})",
                (rowid, *row.values()),
            )
            db.execute("INSERT INTO chat_message_join VALUES (1, ?)", (rowid,))
    return path


def discord_channel(
    path: Path,
    messages: list[dict],
    guild: str = "Direct Messages",
    channel: str = "Ann",
    channel_id: str | None = "1064990764406419508",
) -> Path:
    """A DiscordChatExporter JSON file of one channel (`guild` "Direct Messages" for a DM or group DM)."""
    export = {
        "guild": {"id": "0", "name": guild, "iconUrl": ""},
        "channel": {"type": "DirectGroupTextChat", "name": channel, **({"id": channel_id} if channel_id else {})},
        "dateRange": {"after": None, "before": None},
        "messages": messages,
        "messageCount": len(messages),
    }
    path.write_text(json.dumps(export, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def discord_message(
    number: int,
    author: str,
    content: str = "",
    kind: str = "Default",
    nickname: str | None = None,
    timestamp: str = "2020-07-18T17:52:00+00:00",
    **fields,
) -> dict:
    return {
        "id": str(1000 + number),
        "type": kind,
        "timestamp": timestamp,
        "timestampEdited": None,
        "isPinned": False,
        "content": content,
        "author": {
            "id": str(abs(hash(author)) % 10_000),
            "name": author,
            "discriminator": "0000",
            "nickname": nickname or author,
            "isBot": False,
        },
        "attachments": [],
        "embeds": [],
        "stickers": [],
        "reactions": [],
        "mentions": [],
        **fields,
    }
