"""Import throughput and memory: gptisyou's WhatsApp parser against chat-miner and whatstk, in one run.

    python benchmarks/bench_import.py              # 100 MB export (and a 10 MB one for the memory check)
    python benchmarks/bench_import.py --size-mb 20 --skip-peers

The peers are installed into their own environment (benchmarks/.peers/) so they never touch the project's.
Every parser runs in a fresh subprocess on the same generated file; throughput counts the parse only (no
interpreter start-up or imports), peak memory is the subprocess's maximum resident set. The whole
`gptisyou import` (parse + SQLite store) is timed as a command, start-up included. Targets (issue #4):
≥ 5x chat-miner's and ≥ 2.5x whatstk's parse throughput, memory flat in file size, and a whole import
faster than either peer's parse alone.
"""

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from machine import describe  # benchmarks/machine.py

from gptisyou.messages import Message
from gptisyou.sources import whatsapp_writer

HERE = Path(__file__).resolve().parent
PEERS = HERE / ".peers"
DATA = HERE / ".data"
PEER_PACKAGES = ["chat-miner", "whatstk"]


def chat_miner(parser: str) -> str:
    """The runner of one of chat-miner's parsers: the messages it parsed, its log silenced."""
    return f"""
import logging
logging.disable(logging.CRITICAL)
from chatminer.chatparsers import {parser}
def parse(path):
    parser = {parser}(path)
    parser.parse_file()
    return len(parser.parsed_messages._parsed_messages)
"""


RUNNERS = {
    "gptisyou": """
from pathlib import Path
from gptisyou.sources import whatsapp
def parse(path):
    return sum(1 for _ in whatsapp.parse(Path(path)))
""",
    "chat-miner": chat_miner("WhatsAppParser"),
    # whatstk as a user calls it: it detects the header format itself, as gptisyou does
    "whatstk": """
from whatstk.whatsapp.parser import df_from_whatsapp
def parse(path):
    return len(df_from_whatsapp(path, max_size=None))
""",
    # whatstk told the exact header format: no detection, its fastest path
    "whatstk (format given)": """
from whatstk.whatsapp.parser import df_from_whatsapp
def parse(path):
    return len(df_from_whatsapp(path, hformat="%d/%m/%Y, %H:%M - %name:", max_size=None))
""",
}
MEASURE = """
import json, resource, sys, time
start = time.perf_counter()
messages = parse(sys.argv[1])
seconds = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "messages": messages, "peak_mb": peak_mb}))
"""

_WORDS = [
    "hey",
    "ok",
    "yes",
    "no",
    "maybe",
    "tomorrow",
    "tonight",
    "dinner",
    "movie",
    "train",
    "late",
    "sorry",
    "haha",
    "lol",
    "thanks",
    "love",
    "you",
    "see",
    "morgen",
    "bis",
    "später",
    "danke",
    "vielleicht",
    "ça",
    "va",
    "merci",
    "demain",
    "oui",
    "non",
    "claro",
    "gracias",
    "mañana",
    "obrigado",
    "amanhã",
    "grazie",
    "domani",
    "dank",
    "je",
    "morgen",
    "😂",
    "❤️",
    "👍",
    "🙈",
    "🎉",
    ":)",
    "?",
]
_PEOPLE = ["Alex Martin", "Sam", "+44 7700 900123", "Zoë 🌀"]


def generate_export(path: Path, size_mb: int, seed: int = 0) -> Path:
    """A realistic Android export of `size_mb` MB: bursts of short messages, multi-line ones, media, deletions."""
    if path.exists() and path.stat().st_size >= size_mb * 1_000_000:
        return path
    rng = random.Random(seed)
    variant = whatsapp_writer.VARIANTS_BY_NAME["android-dmy-24h"]
    timestamp = datetime(2016, 1, 1, 8, 0)
    written, target = 0, size_mb * 1_000_000
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as out:
        while written < target:
            # bursts of replies, now and then a night's or a day's silence: ~14 years in 100 MB
            pause = rng.choice((2, 5, 10, 20, 40, 90)) if rng.random() > 0.01 else rng.randint(21600, 43200)
            timestamp += timedelta(seconds=pause)
            out_text = whatsapp_writer.render(_random_message(rng, timestamp), variant)
            out.write(out_text)
            written += len(out_text.encode())
    return path


def _random_message(rng: random.Random, timestamp: datetime) -> Message:
    sender, roll = rng.choice(_PEOPLE), rng.random()
    if roll < 0.03:
        return Message(sender, timestamp, "<Media omitted>", "media")
    if roll < 0.04:
        return Message(sender, timestamp, "This message was deleted", "deleted")
    lines = [" ".join(rng.choices(_WORDS, k=rng.randint(1, 14))) for _ in range(1 + (roll > 0.94) * 2)]
    return Message(sender, timestamp.replace(second=0), "\n".join(lines))


def ensure_peers() -> Path | None:
    python = PEERS / "bin" / "python"
    if not python.exists():
        print(f"installing {', '.join(PEER_PACKAGES)} into {PEERS} …", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PEER_PACKAGES],
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode != 0:
            print(f"could not install the peers, measuring gptisyou alone:\n{install.stderr[-2000:]}", file=sys.stderr)
            return None
    return python


def measure(name: str, python: Path | str, path: Path) -> dict:
    process = subprocess.run(
        [str(python), "-c", RUNNERS[name] + MEASURE, str(path)], capture_output=True, text=True, check=False
    )
    if process.returncode != 0:
        return {"error": process.stderr.strip().splitlines()[-1] if process.stderr.strip() else "failed"}
    return json.loads(process.stdout.strip().splitlines()[-1])


def whole_import(path: Path) -> dict:
    """One whole `gptisyou import` of `path` into a fresh workspace: {seconds, peak_mb}, start-up included."""
    with tempfile.TemporaryDirectory() as workspace:
        return _command(["--workspace", workspace, "import", str(path)])


def time_whole_import(path: Path) -> tuple[dict, dict, dict]:
    """The whole `gptisyou import` into a fresh workspace, the same import again (nothing new), and the portrait of
    the workspace it made: each {seconds, peak_mb}, start-up included."""
    with tempfile.TemporaryDirectory() as workspace:
        first = _command(["--workspace", workspace, "import", str(path)])
        again = _command(["--workspace", workspace, "import", str(path)])
        return first, again, time_portrait(Path(workspace))


def _command(args: list[str]) -> dict:
    """`gptisyou ARGS` in a fresh process: {seconds, peak_mb}."""
    script = (
        "import resource, sys\nfrom gptisyou.cli import main\n"
        f"sys.argv = ['gptisyou', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)"
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": float(done.stderr.strip().splitlines()[-1])}


def time_portrait(workspace: Path) -> dict:
    """The whole `gptisyou portrait` of the busiest writer, start-up included, with the peak memory of its process."""
    from gptisyou.store.database import Store

    with Store.open(workspace) as store:
        persona = max(store.people(), key=lambda person: person.messages).name
    return _command(["--workspace", str(workspace), "portrait", "--as", persona])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--skip-peers", action="store_true", help="measure gptisyou alone")
    args = parser.parse_args()

    big = generate_export(DATA / f"export-{args.size_mb}MB.txt", args.size_mb)
    small = generate_export(DATA / f"export-{max(args.size_mb // 10, 1)}MB.txt", max(args.size_mb // 10, 1))
    size_mb = big.stat().st_size / 1_000_000
    peers_python = None if args.skip_peers else ensure_peers()

    results = {"gptisyou": measure("gptisyou", sys.executable, big)}
    if peers_python:
        for name in ("chat-miner", "whatstk", "whatstk (format given)"):
            print(f"parsing with {name} …", file=sys.stderr)
            results[name] = measure(name, peers_python, big)
    small_peak = measure("gptisyou", sys.executable, small)["peak_mb"]
    first_import, reimport, portrait = time_whole_import(big)
    import_seconds = first_import["seconds"]

    print(f"\nWhatsApp export: {size_mb:.0f} MB ({big.name}); machine: {describe()}\n")
    print(f"{'parser':<24} {'seconds':>8} {'MB/s':>7} {'peak MB':>8} {'messages':>11}")
    for name, result in results.items():
        if "error" in result:
            print(f"{name:<24} failed: {result['error']}")
            continue
        rate = size_mb / result["seconds"]
        print(f"{name:<24} {result['seconds']:>8.1f} {rate:>7.2f} {result['peak_mb']:>8.0f} {result['messages']:>11,}")
    ours = results["gptisyou"]["seconds"]
    print()
    for name, target in (("chat-miner", 5.0), ("whatstk", 2.5), ("whatstk (format given)", 2.5)):
        if "seconds" in results.get(name, {}):
            ratio = results[name]["seconds"] / ours
            print(f"throughput vs {name}: {ratio:.1f}x (target ≥ {target}x) {'ok' if ratio >= target else 'MISSED'}")
    print(
        f"memory: gptisyou peak {small_peak:.0f} MB on {small.stat().st_size / 1e6:.0f} MB, "
        f"{results['gptisyou']['peak_mb']:.0f} MB on {size_mb:.0f} MB "
        f"(ratio {results['gptisyou']['peak_mb'] / small_peak:.2f}: flat means ≈ 1)"
    )
    peer_parses = [
        results[name]["seconds"] for name in ("chat-miner", "whatstk") if "seconds" in results.get(name, {})
    ]
    fastest = results.get("whatstk (format given)", {}).get("seconds")
    verdict = (
        f" vs fastest peer parse {min(peer_parses):.1f} s: {min(peer_parses) / import_seconds:.2f}x"
        if peer_parses
        else ""
    )
    print(
        f"whole `gptisyou import` (parse + SQLite, start-up included): {import_seconds:.1f} s{verdict}, "
        f"{size_mb / import_seconds:.1f} MB/s, peak {first_import['peak_mb']:.0f} MB (target ≤ 100 MB)"
    )
    for name, target in (("chat-miner", 5.0), ("whatstk", 2.5)):
        if "seconds" in results.get(name, {}):
            ratio = results[name]["seconds"] / import_seconds
            print(
                f"  whole import vs {name}'s parse alone: {ratio:.2f}x (target ≥ {target}x) "
                f"{'ok' if ratio >= target else 'MISSED'}"
            )
    if fastest:
        print(f"  vs whatstk told the format: {fastest / import_seconds:.2f}x")
    speedup = import_seconds / reimport["seconds"]
    print(
        f"the same import again (nothing new): {reimport['seconds']:.1f} s, {speedup:.1f}x faster than the first "
        f"(target ≥ 3x) {'ok' if speedup >= 3 else 'MISSED'}"
    )
    messages = results["gptisyou"].get("messages", 0)
    print(
        f"`gptisyou portrait` of that workspace ({messages:,} messages, start-up included): "
        f"{portrait['seconds']:.1f} s (target ≤ 30 s), peak {portrait['peak_mb']:.0f} MB (target ≤ 500 MB)"
    )


if __name__ == "__main__":
    main()
