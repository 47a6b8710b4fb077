"""A few replies of the freshly tuned model to held-out moments of the chat, written at the end of a run."""

from pathlib import Path

from gptisyou.data.dataset import PersonaData, reply_moments
from gptisyou.engine.clone import Clone
from gptisyou.engine.responder import Line, Sampling
from gptisyou.store.workspace import make_private


def write(path: Path, clone: Clone, data: PersonaData, sampling: Sampling, count: int = 3) -> None:
    """Markdown: held-out contexts, the real reply and the model's (from the training period if none is held out)."""
    lines = [f"# Sample replies as {data.persona}\n"]
    for number, (context, real) in enumerate(reply_moments(data.val or data.train, data.persona, count), start=1):
        history = [Line(turn.sender, turn.text) for turn in context]
        lines.append(f"## {number}\n")
        lines += [f"> **{line.speaker}:** {_quoted(line.text)}" for line in history]
        lines.append(f"\n**Real reply:** {_quoted(real.text)}\n")
        lines.append(f"**Model's reply:** {_quoted(clone.reply(history, sampling))}\n")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    make_private(path)


def _quoted(text: str) -> str:
    return text.replace("\n", " / ") or "…"
