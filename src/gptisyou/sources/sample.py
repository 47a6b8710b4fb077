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
    try:
        dataset_file = resources.files("chitchat_dataset") / "dataset.json"
    except ModuleNotFoundError:
        raise MissingExtra("demo", "the demo's sample chat") from None
    conversations = json.loads(dataset_file.read_text(encoding="utf-8")).values()
    utterances = [
        utterance
        for conversation in conversations
        for turn in conversation["messages"]
        for utterance in turn
        if _is_demo_pair(conversation)
    ]
    for utterance in sorted(utterances, key=lambda utterance: utterance["timestamp"]):
        timestamp = datetime.fromisoformat(utterance["timestamp"]).replace(tzinfo=None)
        yield Message(DEMO_PAIR[utterance["sender"]], timestamp, utterance["text"].strip())


def write_sample_export(directory: Path) -> Path:
    """Write the sample chat as an Android WhatsApp export into `directory`; returns the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / EXPORT_NAME
    whatsapp_writer.write_file(sample_messages(), path, whatsapp_writer.VARIANTS_BY_NAME["android-dmy-24h"])
    path.chmod(0o600)
    return path


def _is_demo_pair(conversation: dict) -> bool:
    senders = {utterance["sender"] for turn in conversation["messages"] for utterance in turn}
    return senders == set(DEMO_PAIR)
