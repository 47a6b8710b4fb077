"""Dataset build speed: messages/s from a workspace of 1M messages to a written, redacted OpenAI JSONL file.

    python benchmarks/bench_dataset.py                # 1,000,000 messages
    python benchmarks/bench_dataset.py --messages 100000

The workspace is built once through the real path (a WhatsApp export written with the project's writer, then
`gptisyou import`) and kept in benchmarks/.data/. Each format is then built from it and timed; the baseline in the
same run is reading the messages back from the store, the floor for any build. Target (issue #5): the whole build
in seconds, not minutes.
"""

import argparse
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from machine import describe  # benchmarks/machine.py

from gptisyou.data import formats as dataset_formats
from gptisyou.data.dataset import DatasetConfig, build
from gptisyou.messages import Message
from gptisyou.sources import whatsapp_writer
from gptisyou.store.database import Store

DATA = Path(__file__).resolve().parent / ".data"
_WORDS = (
    "hey",
    "ok",
    "yes",
    "no",
    "maybe",
    "tonight",
    "dinner",
    "at",
    "8",
    "call",
    "me",
    "+44 20 7946 0958",
    "or",
    "mail",
    "ann@example.com",
    "😂",
    "lol",
    "sure",
    "see",
    "you",
    "there",
)


def ensure_workspace(count: int) -> Path:
    workspace = DATA / f"workspace-{count}"
    if (workspace / "workspace.db").exists():
        return workspace
    export = DATA / f"WhatsApp Chat with Bob ({count}).txt"
    rng, at = random.Random(0), datetime(2015, 1, 1, 8, 0)
    DATA.mkdir(parents=True, exist_ok=True)
    with open(export, "w", encoding="utf-8") as out:
        for _ in range(count):
            at += timedelta(seconds=rng.choice((20, 60, 120, 600)) if rng.random() > 0.02 else 30_000)
            text = " ".join(rng.choices(_WORDS, k=rng.randint(1, 12)))
            sender = "Ann" if rng.random() < 0.5 else "Bob"
            out.write(whatsapp_writer.render(Message(sender, at, text), whatsapp_writer.VARIANTS[0]))
    print(f"importing {count:,} messages into {workspace} …", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "gptisyou", "--workspace", str(workspace), "import", str(export)], check=True
    )
    return workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    workspace = ensure_workspace(args.messages)
    with Store.open(workspace) as store:
        start = time.perf_counter()
        count = sum(1 for chat in store.chats() for _ in store.messages(chat.id))
        read_s = time.perf_counter() - start
        print(f"\n{count:,} messages; machine: {describe()}\n")
        print(f"{'step':<34} {'seconds':>8} {'messages/s':>12} {'vs reading':>11}")
        print(f"{'read back from the store':<34} {read_s:>8.1f} {count / read_s:>12,.0f} {1:>10.1f}x")
        for format_name, redact in (("openai", True), ("legacy", True), ("local", False)):
            with tempfile.TemporaryDirectory() as folder:
                start = time.perf_counter()
                data = build(store, DatasetConfig("Ann", redact=redact))
                rows = dataset_formats.write_jsonl(
                    dataset_formats.records(data, format_name), Path(folder) / "out.jsonl"
                )
                seconds = time.perf_counter() - start
            label = f"build + write {format_name}{' (redacted)' if redact else ''}"
            print(
                f"{label:<34} {seconds:>8.1f} {count / seconds:>12,.0f} {seconds / read_s:>10.1f}x  ({rows:,} examples)"
            )


if __name__ == "__main__":
    main()
