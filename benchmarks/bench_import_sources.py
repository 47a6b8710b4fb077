"""Import throughput and memory for the JSON, XML, SQLite and other text sources: a Telegram Desktop export (one
chat, and an account of 8 chats), a Messenger thread, an SMS Backup & Restore file, an iMessage chat.db, a LINE
.txt, a Signal chat (signal-export's data.json) and a Google Chat messages.json of 1 M messages each (generated),
against chat-miner's Telegram and Messenger parsers on the same JSON.

    python benchmarks/bench_import_sources.py                  # 1,000,000 messages (and 100,000 for memory)
    python benchmarks/bench_import_sources.py --messages 200000 --skip-peers --only line signal googlechat

Each parser runs in a fresh subprocess; throughput counts the parse only, peak memory is the subprocess's maximum
resident set. Then the whole `gptisyou import` of each 1 M-message file (start-up, hashing and SQLite included)
into a fresh workspace. Memory is flat when the 1 M-message file needs about what the 100 k one does (ratio ≈ 1): the
reader streams (ijson, expat), where chat-miner's `json.load` holds the whole file.
"""

import argparse
import json
import random
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import quoteattr

from bench_import import _WORDS, DATA, chat_miner, ensure_peers, measure, whole_import  # benchmarks/bench_import.py
from bench_import import RUNNERS as WHATSAPP_RUNNERS
from machine import describe  # benchmarks/machine.py


def _ours(source: str) -> str:
    """The runner of one of gptisyou's readers: every message of every chat it reads."""
    source = {"line": "lineapp"}.get(source, source)
    return f"""
from pathlib import Path
from gptisyou.sources import {source}
from gptisyou.sources.types import ParseReport, ReadOptions
def parse(path):
    return sum(1 for _, messages in {source}.chats(Path(path), ReadOptions(), ParseReport()) for _ in messages)
"""


SOURCES = ("telegram", "sms", "messenger", "imessage", "line", "signal", "googlechat")
RUNNERS = {f"gptisyou {source}": _ours(source) for source in SOURCES}
RUNNERS |= {
    "chat-miner telegram": chat_miner("TelegramJsonParser"),
    "chat-miner messenger": chat_miner("FacebookMessengerParser"),
}
RUNNERS["gptisyou telegram account"] = RUNNERS["gptisyou telegram"]  # the same reader on the account-wide form
WHATSAPP_RUNNERS.update(RUNNERS)  # `measure` looks runners up there


START = datetime(2018, 1, 1, 8)


def _text(rng: random.Random) -> str:
    return " ".join(rng.choices(_WORDS, k=rng.randint(1, 12)))


def _moments(rng: random.Random, count: int, start: datetime = START) -> Iterator[datetime]:
    """The times of `count` messages after `start`, 3 seconds to 5 minutes apart."""
    moment = start
    for _ in range(count):
        moment += timedelta(seconds=rng.choice((3, 10, 40, 300)))
        yield moment


def telegram_export(path: Path, count: int, seed: int = 0, chats: int = 1) -> Path:
    """A result.json: plain and entity-list texts, photos, service entries. One chat, or with `chats` > 1 an
    account-wide export of that many chats sharing the `count` messages."""
    if path.exists():
        return path
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        if chats == 1:
            _telegram_chat(out, rng, count, 42)
        else:
            out.write('{"about": "Here is the data you requested.", "chats": {"about": "All chats.", "list": [\n')
            for number in range(chats):
                _telegram_chat(out, rng, count // chats, 700_000_000 + number)
                out.write(",\n" if number < chats - 1 else "\n")
            out.write("]}}\n")
    return path


def _telegram_chat(out, rng: random.Random, count: int, chat_id: int) -> None:
    out.write(f'{{\n "name": "Sam",\n "type": "personal_chat",\n "id": {chat_id},\n "messages": [\n')
    for number, moment in enumerate(_moments(rng, count), start=1):
        sender = rng.choice(("Sam", "Alex Martin"))
        entry = {
            "id": number,
            "type": "message",
            "date": moment.isoformat(),
            "date_unixtime": str(int(moment.timestamp())),
            "from": sender,
            "from_id": f"user{len(sender)}",
        }
        roll = rng.random()
        if roll < 0.05:
            entry["text"] = [{"type": "link", "text": "https://example.com"}, " " + _text(rng)]
        elif roll < 0.08:
            entry |= {"photo": "photos/photo_1.jpg", "text": ""}
        else:
            entry["text"] = _text(rng)
        out.write("  " + json.dumps(entry, ensure_ascii=False) + ("," if number < count else "") + "\n")
    out.write(" ]\n}")


def messenger_export(path: Path, count: int, seed: int = 0) -> Path:
    """A Meta `message_1.json`: newest first, names and texts written as Meta writes UTF-8 (mojibake), some
    photos and shares, the title after the messages."""
    if path.exists():
        return path
    rng, moment = random.Random(seed), START
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = lambda text: text.encode("utf-8").decode("latin-1")  # noqa: E731
    with open(path, "w", encoding="utf-8") as out:
        out.write('{\n  "participants": [{"name": "Sam"}, {"name": "' + meta("Zoë Martin") + '"}],\n  "messages": [\n')
        moment += timedelta(seconds=count * 60)
        for number in range(count):
            moment -= timedelta(seconds=rng.choice((3, 10, 40, 300)))
            entry = {
                "sender_name": rng.choice(("Sam", meta("Zoë Martin"))),
                "timestamp_ms": int(moment.timestamp() * 1000),
            }
            roll = rng.random()
            if roll < 0.04:
                entry["photos"] = [{"uri": "messages/inbox/sam_1/photos/1.jpg", "creation_timestamp": 1}]
            elif roll < 0.06:
                entry |= {"share": {"link": "https://example.com"}, "content": "https://example.com"}
            else:
                entry["content"] = meta(_text(rng) + (" é" if roll > 0.9 else ""))
            out.write("    " + json.dumps(entry) + ("," if number < count - 1 else "") + "\n")
        out.write(
            '  ],\n  "title": "' + meta("Zoë Martin") + '",\n  "is_still_participant": true,\n'
            '  "thread_path": "inbox/zoemartin_1"\n}\n'
        )
    return path


def imessage_db(path: Path, count: int, seed: int = 0) -> Path:
    """A Messages `chat.db`: 40 conversations, the texts in the `text` column, some tapbacks."""
    import sqlite3

    if path.exists():
        return path
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE handle (ROWID INTEGER PRIMARY KEY, id TEXT)")
        db.execute("CREATE TABLE chat (ROWID INTEGER PRIMARY KEY, chat_identifier TEXT)")
        db.execute(
            "CREATE TABLE chat_message_join (chat_id INTEGER, message_id INTEGER, PRIMARY KEY (chat_id, message_id))"
        )
        db.execute(
            "CREATE TABLE message (ROWID INTEGER PRIMARY KEY, date INTEGER, is_from_me INTEGER, handle_id"
            " INTEGER, text TEXT, associated_message_type INTEGER, attributedBody BLOB, item_type INTEGER,"
            " cache_has_attachments INTEGER)"
        )
        db.executemany("INSERT INTO handle VALUES (?, ?)", [(n, f"+4477009{n:05d}") for n in range(1, 41)])
        db.executemany("INSERT INTO chat VALUES (?, ?)", [(n, f"+4477009{n:05d}") for n in range(1, 41)])
        db.executemany("INSERT INTO message VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _imessage_rows(rng, count))
        db.execute("INSERT INTO chat_message_join SELECT handle_id, ROWID FROM message")
        db.execute(
            "CREATE INDEX chat_message_join_idx_message_id_only ON chat_message_join (message_id)"
        )  # as Apple's
    return path


def _imessage_rows(rng: random.Random, count: int):
    """Rows of `message`, one at a time: a list of a million would stay in this process's peak memory, which
    the measured subprocesses inherit."""
    date = 600_000_000_000_000_000
    for rowid in range(1, count + 1):
        date += rng.choice((3, 10, 40, 300)) * 1_000_000_000
        tapback = 2000 if rng.random() < 0.02 else 0
        yield rowid, date, rng.random() < 0.5, rng.randrange(1, 41), _text(rng), tapback, None, 0, 0


def sms_export(path: Path, count: int, seed: int = 0) -> Path:
    """An SMS Backup & Restore file: SMS with a few dozen contacts and some MMS with a text part."""
    if path.exists():
        return path
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<smses count=\"{count}\">\n")
        for moment in _moments(rng, count):
            contact = rng.randrange(40)
            address, name, date = f"+4477009{contact:05d}", f"Contact {contact}", int(moment.timestamp() * 1000)
            kind, body = rng.choice(("1", "2")), quoteattr(_text(rng))
            if rng.random() < 0.05:
                out.write(
                    f'  <mms date="{date}" msg_box="{kind}" address="{address}" contact_name="{name}">\n'
                    f'    <parts><part seq="0" ct="text/plain" text={body} /></parts>\n'
                    f'    <addrs><addr address="{address}" type="137" charset="106" /></addrs>\n  </mms>\n'
                )
            else:
                out.write(
                    f'  <sms protocol="0" address="{address}" date="{date}" type="{kind}" subject="null" '
                    f'body={body} contact_name="{name}" />\n'
                )
        out.write("</smses>\n")
    return path


def line_export(path: Path, count: int, seed: int = 0) -> Path:
    """A LINE .txt: a date line per day, tab-separated messages, some stickers and quoted messages of two lines."""
    if path.exists():
        return path
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    day = None
    with open(path, "w", encoding="utf-8") as out:
        out.write("[LINE] Chat history with Sam\nSaved on: 2024/01/10, 21:05\n")
        for moment in _moments(rng, count):
            if moment.date() != day:
                day = moment.date()
                out.write(f"\n{day:%Y/%m/%d}({day:%a})\n")
            roll = rng.random()
            text = "[Sticker]" if roll < 0.04 else f'"{_text(rng)}\n{_text(rng)}"' if roll < 0.08 else _text(rng)
            out.write(f"{moment:%H:%M}\t{rng.choice(('Sam', 'Alex Martin'))}\t{text}\n")
    return path


def signal_export(path: Path, count: int, seed: int = 0) -> Path:
    """signal-export's data.json: one record per line, some attachments and deleted messages."""
    if path.exists():
        return path
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for moment in _moments(rng, count):
            roll = rng.random()
            record = {
                "date": moment.isoformat(),
                "sender": rng.choice(("Me", "Alex Martin")),
                "body": _text(rng) + "  ",
                "quote": "",
                "sticker": "",
                "reactions": [],
                "attachments": [{"name": "IMG_1.jpg", "path": "media/IMG_1.jpg"}] if roll < 0.04 else [],
                "deleted": roll > 0.99,
                "call": False,
                "missed": False,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def googlechat_export(path: Path, count: int, seed: int = 0) -> Path:
    """Takeout's messages.json of one conversation: dates in words, some attached files."""
    if path.exists():
        return path
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    people = ({"name": "Sam", "email": "sam@example.com"}, {"name": "Alex Martin", "email": "alex@example.com"})
    with open(path, "w", encoding="utf-8") as out:
        out.write('{\n  "messages": [\n')
        for number, moment in enumerate(_moments(rng, count)):
            entry = {
                "creator": rng.choice(people),
                "created_date": f"{moment:%A, %B} {moment.day}, {moment:%Y at %-I:%M:%S}\u202f{moment:%p} UTC",
                "text": _text(rng),
                "topic_id": f"t{number}",
                "message_id": f"m{number}",
            }
            if rng.random() < 0.04:
                entry["attached_files"] = [{"original_name": "IMG_1.jpg", "export_name": "File-IMG_1.jpg"}]
            out.write("    " + json.dumps(entry, ensure_ascii=False) + ("," if number < count - 1 else "") + "\n")
        out.write("  ]\n}\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--skip-peers", action="store_true", help="measure gptisyou alone")
    parser.add_argument("--only", nargs="+", choices=(*SOURCES, "telegram account"), help="these sources alone")
    args = parser.parse_args()
    small = max(args.messages // 10, 1000)
    made = {  # each source's export of `count` messages, written the first time (in benchmarks/.data/)
        "telegram": lambda count: telegram_export(DATA / f"telegram-{count}.json", count),
        "telegram account": lambda count: telegram_export(DATA / f"telegram-account-{count}.json", count, chats=8),
        "sms": lambda count: sms_export(DATA / f"sms-{count}.xml", count),
        "messenger": lambda count: messenger_export(DATA / f"messenger-{count}.json", count),
        "imessage": lambda count: imessage_db(DATA / f"imessage-{count}.db", count),
        "line": lambda count: line_export(DATA / f"line-{count}.txt", count),
        "signal": lambda count: signal_export(DATA / f"signal-{count}" / "data.json", count),
        "googlechat": lambda count: googlechat_export(DATA / f"googlechat-{count}" / "messages.json", count),
    }
    files = {
        source: (make(args.messages), make(small)) for source, make in made.items() if source in (args.only or made)
    }
    peers = None if args.skip_peers else ensure_peers()
    print(f"\n{args.messages:,} messages per export (memory also at {small:,}); machine: {describe()}\n")
    print(f"{'parser':<26} {'MB':>6} {'seconds':>8} {'messages/s':>11} {'peak MB':>8} {'peak MB small':>14}")
    rows = {}
    for source, (big, little) in files.items():
        contenders = [(f"gptisyou {source}", sys.executable)]
        if source in ("telegram", "messenger") and peers:
            contenders.append((f"chat-miner {source}", peers))
        for name, python in contenders:
            result, small_result = measure(name, python, big), measure(name, python, little)
            if "error" in result:
                print(f"{name:<26} failed: {result['error']}")
                continue
            rows[name] = result
            print(
                f"{name:<26} {big.stat().st_size / 1e6:>6.0f} {result['seconds']:>8.1f} "
                f"{result['messages'] / result['seconds']:>11,.0f} {result['peak_mb']:>8.0f} "
                f"{small_result.get('peak_mb', float('nan')):>14.0f}"
            )
    print(f"\n{'whole gptisyou import':<26} {'seconds':>8} {'messages/s':>11} {'peak MB':>8}")
    for source, (big, _) in files.items():
        result = whole_import(big)
        print(
            f"{source:<26} {result['seconds']:>8.1f} {args.messages / result['seconds']:>11,.0f} {result['peak_mb']:>8.0f}"
        )
    if {"gptisyou telegram", "gptisyou telegram account"} <= rows.keys():
        speeds = {name: rows[name]["messages"] / rows[name]["seconds"] for name in rows}
        ratio = speeds["gptisyou telegram account"] / speeds["gptisyou telegram"]
        print(
            f"\nTelegram account-wide (8 chats) against one chat: {ratio:.2f}x the messages/s (target ≥ 0.8x) "
            f"{'ok' if ratio >= 0.8 else 'MISSED'}"
        )
    for source in ("telegram", "messenger"):
        ours, theirs = rows.get(f"gptisyou {source}"), rows.get(f"chat-miner {source}")
        if ours and theirs:
            print(
                f"{source.capitalize()} throughput vs chat-miner: {theirs['seconds'] / ours['seconds']:.2f}x; "
                f"peak memory {ours['peak_mb']:.0f} MB against {theirs['peak_mb']:.0f} MB"
            )


if __name__ == "__main__":
    main()
