"""The bundled sample chat: two real people from the `chitchat-dataset` package, written as a WhatsApp export.

The demo goes through the real path, export file → import → workspace, so it shows what a user's own chat
would go through. The pair is the one the product is demonstrated with: 4,981 messages in 2018.
"""

import json
from collections.abc import Iterator
from datetime import datetime
from importlib import resources
from pathlib import Path

from gptisyou.errors import MissingExtra
from gptisyou.messages import Message
from gptisyou.sources import whatsapp_writer

# chitchat-dataset sender ids → the display names the demo export uses
DEMO_PAIR = {
    "31267496-e50f-4f91-a197-c5b1bfde803b": "Alex",
    "60576dcf-5b39-4420-a850-33ff7d108047": "Sam",
}
EXPORT_NAME = "WhatsApp Chat with Sam.txt"  # exported from Alex's phone


def sample_messages() -> Iterator[Message]:
    """The demo pair's messages across all their conversations, in time order (UTC written as local time).

    Raises:
        MissingExtra: the `chitchat-dataset` package is not installed.
    """
    return pair_messages(DEMO_PAIR)


def pair_messages(names: dict[str, str]) -> Iterator[Message]:
    """The messages of the two chitchat-dataset senders `names` (id → display name) in the conversations they had
    with each other, in time order (UTC written as local time): any pair as a chat, for the quality benchmark.

    Raises:
        MissingExtra: the `chitchat-dataset` package is not installed.
    """
    try:
        dataset_file = resources.files("chitchat_dataset") / "dataset.json"
    except ModuleNotFoundError:
        raise MissingExtra("demo", "the demo's sample chat") from None
    conversations = json.loads(dataset_file.read_text(encoding="utf-8")).values()
    theirs = [conversation for conversation in conversations if _senders(conversation) == set(names)]
    utterances = [utterance for conversation in theirs for turn in conversation["messages"] for utterance in turn]
    for utterance in sorted(utterances, key=lambda utterance: utterance["timestamp"]):
        timestamp = datetime.fromisoformat(utterance["timestamp"]).replace(tzinfo=None)
        yield Message(names[utterance["sender"]], timestamp, utterance["text"].strip())


def write_sample_export(directory: Path, names: dict[str, str] = DEMO_PAIR) -> Path:
    """Write a pair's chat (the demo's by default) as an Android WhatsApp export into `directory`, named after
    its second person as a phone names it; returns the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (EXPORT_NAME if names == DEMO_PAIR else f"WhatsApp Chat with {list(names.values())[1]}.txt")
    whatsapp_writer.write_file(pair_messages(names), path, whatsapp_writer.VARIANTS_BY_NAME["android-dmy-24h"])
    path.chmod(0o600)
    return path


def _senders(conversation: dict) -> set[str]:
    return {utterance["sender"] for turn in conversation["messages"] for utterance in turn}
