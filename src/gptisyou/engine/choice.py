"""Which engine generates a run's replies: llama.cpp where it is installed and the run's base is a GGUF file,
the torch engine otherwise, or the one asked for (`--engine`)."""

from collections.abc import Iterable, Sequence

from gptisyou.data.conversations import Session
from gptisyou.data.memory import Memory
from gptisyou.engine import llama_engine
from gptisyou.engine.clone import Clone
from gptisyou.errors import MissingExtra
from gptisyou.store.runs import Run


def resolved(engine: str, run: Run) -> str:
    """The engine that runs the run, "torch" or "llama.cpp", for `engine`: "auto" picks llama.cpp where it can.

    Raises:
        MissingExtra, InputError: llama.cpp was asked for and cannot run the run (see `llama_engine.check`).
    """
    if engine == "auto":
        return "llama.cpp" if llama_engine.runs_on(run) else "torch"
    if engine == "llama.cpp":
        llama_engine.check(run)
    return engine


def load(
    run: Run,
    persona: str,
    engine: str = "auto",
    base_only: bool = False,
    style_strength: float = 1.0,
    memory: Memory | None = None,
    said: Iterable[str] | None = None,
) -> Clone:
    """The run's clone (or its base model alone) on the chosen engine.

    Raises:
        MissingExtra: the engine's extra is not installed.
        InputError: the run cannot run on the engine asked for (see the engines' `load`).
    """
    if resolved(engine, run) == "llama.cpp":
        return llama_engine.load(run, persona, base_only, style_strength, memory, said=said)
    try:
        from gptisyou.engine import torch_engine
    except ImportError as missing:
        raise MissingExtra.from_import(missing, "the local model") from None
    return torch_engine.load(run, persona, base_only, style_strength=style_strength, memory=memory, said=said)


def load_for_talking(
    run: Run,
    persona: str,
    sessions: Sequence[Session],
    engine: str = "auto",
    base_only: bool = False,
    style_strength: float = 1.0,
) -> Clone:
    """The run's clone as `chat`, `ask`, `serve` and the bridges talk to it: recalling the persona's past replies
    in `sessions` where the run trained with memory, and writing only tokens the persona has used there.

    Raises:
        MissingExtra, InputError: as `load`.
    """
    memory = Memory(sessions, persona) if run.config().memory else None
    said = (turn.text for session in sessions for turn in session.turns)
    return load(run, persona, engine, base_only, style_strength, memory, said)
