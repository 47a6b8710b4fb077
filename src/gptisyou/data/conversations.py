"""Sessions and turns: a chat's messages grouped the way people talk.

A session ends where nobody wrote for `gap_hours`; inside a session, consecutive messages of one sender form a
turn of bubbles. System lines and deleted messages are nobody's words and are left out; a media message stays
as a placeholder such as `<photo>` (followed by its caption, if any), so a reply to a photo keeps its context,
but a turn of media only is never trained on.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath

from gptisyou.messages import Message


@dataclass(frozen=True, slots=True)
class SessionConfig:
    gap_hours: float = 4.0  # a silence at least this long starts a new session


@dataclass(frozen=True, slots=True)
class Turn:
    sender: str
    bubbles: tuple[str, ...]  # one per message, in order; media as a placeholder
    start: datetime
    end: datetime
    has_words: bool  # False for a turn of media placeholders only: context, never a training target

    @property
    def text(self) -> str:
        return "\n".join(self.bubbles)


@dataclass(frozen=True, slots=True)
class Session:
    chat_id: int
    turns: tuple[Turn, ...]

    @property
    def start(self) -> datetime:
        return self.turns[0].start

    @property
    def end(self) -> datetime:
        return self.turns[-1].end


def split_sessions(
    messages: Iterable[Message], chat_id: int, config: SessionConfig = SessionConfig()
) -> Iterator[Session]:
    """Group a chat's messages (in time order) into sessions of turns."""
    gap = timedelta(hours=config.gap_hours)
    turns: list[Turn] = []
    for message in messages:
        bubble = _bubble(message)
        if bubble is None:
            continue
        if turns and message.timestamp - turns[-1].end >= gap:
            yield Session(chat_id, tuple(turns))
            turns = []
        if turns and turns[-1].sender == message.sender:
            turns[-1] = _extended(turns[-1], bubble, message)
        else:
            turns.append(Turn(message.sender, (bubble,), message.timestamp, message.timestamp, message.kind == "text"))
    if turns:
        yield Session(chat_id, tuple(turns))


def media_placeholder(message: Message) -> str:
    """`<photo>`, `<video>`, `<audio>`, `<sticker>`, `<gif>`, `<document>`, `<contact>` or `<media>`."""
    if message.attachment:
        kind = _KIND_BY_EXTENSION.get(PurePath(message.attachment).suffix.lower().lstrip("."))
    else:
        first_word = message.text.strip("\u200e\u200f <").split(" ", 1)[0].lower()
        kind = _KIND_BY_PLACEHOLDER_WORD.get(first_word)
    return f"<{kind or 'media'}>"


def _bubble(message: Message) -> str | None:
    if message.kind == "text":
        return message.text
    if message.kind != "media":
        return None  # system lines and deleted messages are nobody's words
    _, _, caption = message.text.partition("\n")
    placeholder = media_placeholder(message)
    return f"{placeholder} {caption}" if caption.strip() else placeholder


def _extended(turn: Turn, bubble: str, message: Message) -> Turn:
    return Turn(
        turn.sender, (*turn.bubbles, bubble), turn.start, message.timestamp, turn.has_words or message.kind == "text"
    )


_KIND_BY_EXTENSION = {
    **dict.fromkeys(("jpg", "jpeg", "png", "heic", "bmp"), "photo"),
    **dict.fromkeys(("mp4", "mov", "3gp", "mkv", "avi"), "video"),
    **dict.fromkeys(("opus", "ogg", "m4a", "mp3", "aac", "amr", "wav"), "audio"),
    **dict.fromkeys(("webp", "was"), "sticker"),
    "gif": "gif",
    "vcf": "contact",
    **dict.fromkeys(("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "zip"), "document"),
}
# first word of iOS placeholders ("image omitted", "Bild weggelassen", …) in the languages the importer reads
_KIND_BY_PLACEHOLDER_WORD = {
    **dict.fromkeys(("image", "bild", "imagen", "imagem", "immagine", "afbeelding", "photo", "foto"), "photo"),
    **dict.fromkeys(("video", "vidéo", "vídeo"), "video"),
    **dict.fromkeys(("audio", "áudio", "voice"), "audio"),
    **dict.fromkeys(("sticker", "autocollant", "figurinha"), "sticker"),
    "gif": "gif",
    **dict.fromkeys(("document", "dokument", "documento"), "document"),
    **dict.fromkeys(("contact", "kontaktkarte"), "contact"),
}
