"""Import throughput and memory for the JSON and XML sources: a Telegram Desktop export and an SMS Backup &
Restore file of 1 M messages each (generated), against chat-miner's Telegram parser on the same JSON.

    python benchmarks/bench_import_sources.py                  # 1,000,000 messages (and 100,000 for memory)
    python benchmarks/bench_import_sources.py --messages 200000 --skip-peers

Each parser runs in a fresh subprocess; throughput counts the parse only, peak memory is the subprocess's maximum
resident set. Memory is flat when the 1 M-message file needs about what the 100 k one does (ratio ≈ 1): the
reader streams (ijson, expat), where chat-miner's `json.load` holds the whole file.
"""

import argparse
import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import quoteattr

from bench_import import _WORDS, DATA, ensure_peers, measure  # benchmarks/bench_import.py
from bench_import import RUNNERS as WHATSAPP_RUNNERS
from machine import describe  # benchmarks/machine.py

RUNNERS = {
    "gptisyou telegram": """
from pathlib import Path
from xml.sax.saxutils import quoteattr
from gptisyou.sources import telegram
from gptisyou.sources.types import ParseReport, ReadOptions
def parse(path):
    return sum(1 for _, messages in telegram.chats(Path(path), ReadOptions(), ParseReport()) for _ in messages)
""",
    "gptisyou sms": """
from pathlib import Path
from xml.sax.saxutils import quoteattr
from gptisyou.sources import sms
from gptisyou.sources.types import ParseReport, ReadOptions
def parse(path):
    return sum(1 for _, messages in sms.chats(Path(path), ReadOptions(), ParseReport()) for _ in messages)
""",
    "chat-miner telegram": """
import logging
logging.disable(logging.CRITICAL)
from chatminer.chatparsers import TelegramJsonParser
def parse(path):
    parser = TelegramJsonParser(path)
    parser.parse_file()
    return len(parser.parsed_messages._parsed_messages)
""",
}
RUNNERS["gptisyou telegram account"] = RUNNERS["gptisyou telegram"]  # the same reader on the account-wide form
WHATSAPP_RUNNERS.update(RUNNERS)  # `measure` looks runners up there


def _text(rng: random.Random) -> str:
    return " ".join(rng.choices(_WORDS, k=rng.randint(1, 12)))


def telegram_export(path: Path, count: int, seed: int = 0, chats: int = 1) -> Path:
    """A result.json: plain and entity-list texts, photos, service entries. One chat, or with `chats` > 1 an
    account-wide export of that many chats sharing the `count` messages."""
    if path.exists():
        return path
    rng, moment = random.Random(seed), datetime(2018, 1, 1, 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        if chats == 1:
            _telegram_chat(out, rng, moment, count, 42)
        else:
            out.write('{"about": "Here is the data you requested.", "chats": {"about": "All chats.", "list": [\n')
            for number in range(chats):
                _telegram_chat(out, rng, moment, count // chats, 700_000_000 + number)
                out.write(",\n" if number < chats - 1 else "\n")
            out.write("]}}\n")
    return path


def _telegram_chat(out, rng: random.Random, moment: datetime, count: int, chat_id: int) -> None:
    out.write(f'{{\n "name": "Sam",\n "type": "personal_chat",\n "id": {chat_id},\n "messages": [\n')
    for number in range(1, count + 1):
        moment += timedelta(seconds=rng.choice((3, 10, 40, 300)))
        sender = rng.choice(("Sam", "Alex Martin"))
        entry = {"id": number, "type": "message", "date": moment.isoformat(),
                 "date_unixtime": str(int(moment.timestamp())), "from": sender, "from_id": f"user{len(sender)}"}  # fmt: skip
        roll = rng.random()
        if roll < 0.05:
            entry["text"] = [{"type": "link", "text": "https://example.com"}, " " + _text(rng)]
        elif roll < 0.08:
            entry |= {"photo": "photos/photo_1.jpg", "text": ""}
        else:
            entry["text"] = _text(rng)
        out.write("  " + json.dumps(entry, ensure_ascii=False) + ("," if number < count else "") + "\n")
    out.write(" ]\n}")


def sms_export(path: Path, count: int, seed: int = 0) -> Path:
    """An SMS Backup & Restore file: SMS with a few dozen contacts and some MMS with a text part."""
    if path.exists():
        return path
    rng, moment = random.Random(seed), datetime(2018, 1, 1, 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<smses count=\"{count}\">\n")
        for _ in range(count):
            moment += timedelta(seconds=rng.choice((3, 10, 40, 300)))
            contact = rng.randrange(40)
            address, name, date = f"+4477009{contact:05d}", f"Contact {contact}", int(moment.timestamp() * 1000)
            kind, body = rng.choice(("1", "2")), quoteattr(_text(rng))
            if rng.random() < 0.05:
                out.write(f'  <mms date="{date}" msg_box="{kind}" address="{address}" contact_name="{name}">\n'
                          f'    <parts><part seq="0" ct="text/plain" text={body} /></parts>\n'
                          f'    <addrs><addr address="{address}" type="137" charset="106" /></addrs>\n  </mms>\n')  # fmt: skip
            else:
                out.write(f'  <sms protocol="0" address="{address}" date="{date}" type="{kind}" subject="null" '
                          f'body={body} contact_name="{name}" />\n')  # fmt: skip
        out.write("</smses>\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--skip-peers", action="store_true", help="measure gptisyou alone")
    args = parser.parse_args()
    small = max(args.messages // 10, 1000)
    files = {
        "telegram": (telegram_export(DATA / f"telegram-{args.messages}.json", args.messages),
                     telegram_export(DATA / f"telegram-{small}.json", small)),
        "telegram account": (telegram_export(DATA / f"telegram-account-{args.messages}.json", args.messages, chats=8),
                             telegram_export(DATA / f"telegram-account-{small}.json", small, chats=8)),
        "sms": (sms_export(DATA / f"sms-{args.messages}.xml", args.messages), sms_export(DATA / f"sms-{small}.xml", small)),
    }  # fmt: skip
    peers = None if args.skip_peers else ensure_peers()
    print(f"\n{args.messages:,} messages per export (memory also at {small:,}); machine: {describe()}\n")
    print(f"{'parser':<22} {'MB':>6} {'seconds':>8} {'messages/s':>11} {'peak MB':>8} {'peak MB small':>14}")
    rows = {}
    for source, (big, little) in files.items():
        contenders = [(f"gptisyou {source}", sys.executable)]
        if source == "telegram" and peers:
            contenders.append(("chat-miner telegram", peers))
        for name, python in contenders:
            result, small_result = measure(name, python, big), measure(name, python, little)
            if "error" in result:
                print(f"{name:<22} failed: {result['error']}")
                continue
            rows[name] = result
            print(f"{name:<22} {big.stat().st_size / 1e6:>6.0f} {result['seconds']:>8.1f} "
                  f"{result['messages'] / result['seconds']:>11,.0f} {result['peak_mb']:>8.0f} "
                  f"{small_result.get('peak_mb', float('nan')):>14.0f}")  # fmt: skip
    if {"gptisyou telegram", "gptisyou telegram account"} <= rows.keys():
        speeds = {name: rows[name]["messages"] / rows[name]["seconds"] for name in rows}
        ratio = speeds["gptisyou telegram account"] / speeds["gptisyou telegram"]
        print(
            f"\nTelegram account-wide (8 chats) against one chat: {ratio:.2f}x the messages/s (target ≥ 0.8x) "
            f"{'ok' if ratio >= 0.8 else 'MISSED'}"
        )
    if "chat-miner telegram" in rows:
        ratio = rows["chat-miner telegram"]["seconds"] / rows["gptisyou telegram"]["seconds"]
        print(f"\nTelegram throughput vs chat-miner: {ratio:.2f}x; "
              f"peak memory {rows['gptisyou telegram']['peak_mb']:.0f} MB against {rows['chat-miner telegram']['peak_mb']:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
