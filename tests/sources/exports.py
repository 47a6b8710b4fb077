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
