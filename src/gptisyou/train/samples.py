"""A few replies of the freshly tuned model to held-out moments of the chat, written at the end of a run."""

from pathlib import Path

from gptisyou.conversations import Session
from gptisyou.dataset import PersonaData
from gptisyou.generate import Clone, Line, Sampling
from gptisyou.workspace import make_private


def moments(sessions: list[Session], persona: str, count: int, context_turns: int = 6) -> list[tuple[list[Line], str]]:
    """Up to `count` (context, real reply) pairs: a persona turn with words and the turns just before it."""
    found = []
    for session in sessions:
        for index, turn in enumerate(session.turns):
            if index and turn.sender == persona and turn.has_words:
                context = [Line(t.sender, t.text) for t in session.turns[max(0, index - context_turns) : index]]
                found.append((context, turn.text))
                break  # one per session, for variety
        if len(found) == count:
            break
    return found


def write(path: Path, clone: Clone, data: PersonaData, sampling: Sampling, count: int = 3) -> None:
    """Markdown: each held-out context, the real reply and the model's (from the training period if none is held out)."""
    lines = [f"# Sample replies as {data.persona}\n"]
    for number, (context, real) in enumerate(moments(data.val or data.train, data.persona, count), start=1):
        lines.append(f"## {number}\n")
        lines += [f"> **{line.speaker}:** {_quoted(line.text)}" for line in context]
        lines.append(f"\n**Real reply:** {_quoted(real)}\n")
        lines.append(f"**Model's reply:** {_quoted(clone.reply(context, sampling))}\n")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    make_private(path)


def _quoted(text: str) -> str:
    return text.replace("\n", " / ") or "…"
