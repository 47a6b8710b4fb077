"""The one normalized message record every stage after `sources/` reads.

Nothing downstream knows which app a message came from: a source turns its export into `Message`s, the store
keeps them, and conversations, datasets and evaluation read them back.
"""

from datetime import datetime
from typing import Literal, NamedTuple

Kind = Literal["text", "media", "system", "deleted"]


class Message(NamedTuple):
    """One message. Immutable; a NamedTuple rather than a frozen dataclass because an import builds millions
    of them and a NamedTuple is four times cheaper to build (the one exception to our record style)."""

    sender: str | None  # display name exactly as in the export; None for system lines
    timestamp: datetime  # naive local time as written in the export
    text: str  # exact text, multi-line preserved, invisible marks kept
    kind: Kind = "text"
    attachment: str | None = None  # file name of a media message when the export names it
    edited: bool = False  # the export marked the message as edited (the marker is removed from text)
    line: int = 0  # line of the export where the message starts (1-based), for diagnostics
    source: str = "whatsapp"  # which source module produced it

    def to_dict(self) -> dict:
        return {
            "sender": self.sender,
            "timestamp": self.timestamp.isoformat(),
            "text": self.text,
            "kind": self.kind,
            "attachment": self.attachment,
            "edited": self.edited,
        }
