"""Which clone a command talks to: the options `chat`, `ask`, `serve` and the bridges share, handed to them as one
`CloneChoice`, and the clone they load (`load_clone`)."""

import functools
from dataclasses import dataclass
from pathlib import Path

import click

from gptisyou.cli.context import (
    candidates_option,
    chosen,
    engine_option,
    literal,
    open_store,
    progress_bar,
    stderr_console,
    style_strength_option,
)
from gptisyou.cli.routes import EndpointChoice, endpoint_options, prompted_clone
from gptisyou.engine.responder import CANDIDATES, Sampling, reply_length  # light: dataclasses, no torch


@dataclass(frozen=True, slots=True)
class CloneChoice:
    """What the user chose to talk to: whose clone, as whom, and on which route."""

    persona: str
    me: str | None = None  # None: who the persona writes with most
    run_dir: Path | None = None  # None: the persona's latest run
    backend: str = "local"  # local | openai | endpoint
    style_strength: float = 1.0
    engine: str = "auto"
    candidates: int = CANDIDATES
    endpoint: EndpointChoice | None = None


def clone_options(command):
    """--as, --me, --run, --backend, --style-strength, --engine, --candidates and the endpoint's options, handed to
    `command` as one `choice` (a `CloneChoice`)."""
    options = [
        click.option("--as", "persona", required=True, help="The participant the clone writes like."),
        click.option("--me", help="Who you are in the conversation (default: who the persona writes with most)."),
        click.option(
            "--run",
            "run_dir",
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            help="A run directory (default: the persona's latest run).",
        ),
        click.option(
            "--backend",
            type=click.Choice(("local", "openai", "endpoint")),
            default="local",
            show_default=True,
            help="openai: the persona's hosted fine-tuned model (see gptisyou openai "
            "train); endpoint: any OpenAI-compatible chat model (Ollama, LM Studio…) prompted with how "
            "the persona writes, no training (--base-url, --model).",
        ),
        style_strength_option,
        engine_option,
        candidates_option,
    ]
    names = ("persona", "me", "run_dir", "backend", "style_strength", "engine", "candidates", "endpoint")

    @functools.wraps(command)
    def with_choice(*args, **kwargs):
        choice = CloneChoice(**{name: kwargs.pop(name) for name in names})
        return command(*args, choice=choice, **kwargs)

    with_choice = endpoint_options(with_choice)
    for option in reversed(options):
        with_choice = option(with_choice)
    return with_choice


@dataclass(frozen=True, slots=True)
class Loaded:
    clone: object  # an engine.responder.Responder: an engine.clone.Clone, a hosted HostedClone or PromptedClone
    label: str  # which model, for people
    me: str
    run: object | None  # the local runs.Run, for /base
    engine: str = "auto"  # what --engine asked for, for /base
    reply_tokens: int | None = None  # the longest reply, as the run recorded it (None: the engines' default)
    sessions: list | None = None  # the persona's sessions the clone was loaded with (None: hosted)

    def sampling(self, **given) -> Sampling:
        """The sampling settings `given` (see Sampling), replies as long as the persona's."""
        return Sampling(**{"max_new_tokens": reply_length(self.reply_tokens)} | chosen(given))


def load_clone(ctx: click.Context, choice: CloneChoice, base_only: bool = False) -> Loaded:
    """The clone, with a status line on stderr while the model loads. With more than one candidate, the local
    clone keeps the reply its run's chooser picks of that many (the chooser is built the first time). The
    endpoint backend's clone is prompted from everything the persona wrote (see `routes.prompted_clone`)."""
    from gptisyou.data.dataset import counterpart
    from gptisyou.data.memory import every_session
    from gptisyou.store.runs import Run

    persona = choice.persona
    if base_only and choice.backend != "local":
        from gptisyou.errors import InputError

        raise InputError(f"--base is the local run's base model: not with --backend {choice.backend}")
    with open_store(ctx) as store:
        me = choice.me or counterpart(store, persona)
        if choice.backend == "openai":
            from gptisyou.hosted.finetuned import load_latest

            clone = load_latest(store, persona)
            return Loaded(clone, clone.model_id, me, None)
        if choice.backend == "endpoint":
            endpoint = (choice.endpoint or EndpointChoice(None, None)).checked()
            sessions = every_session(store, persona)
            clone = prompted_clone(ctx, endpoint, persona, me, sessions, "all their chats")
            return Loaded(clone, f"{endpoint.model} at {endpoint.base_url}, prompted", me, None, sessions=sessions)
        run = Run(choice.run_dir) if choice.run_dir else Run.latest(ctx.obj["workspace"], persona)
        sessions = every_session(store, persona)
    from gptisyou.engine import choice as engines

    with stderr_console(ctx).status(literal(f"loading {persona}'s model…")):
        clone = engines.load_for_talking(run, persona, sessions, choice.engine, base_only, choice.style_strength)
    if choice.candidates > 1 and not base_only:
        from gptisyou.chooser.build import stored_or_built

        with open_store(ctx) as store, progress_bar(ctx, "the chooser (built once per run)") as on_progress:
            clone.choosing(stored_or_built(run, clone, store, on_progress), choice.candidates)
    return Loaded(clone, f"{run.name}, {clone.engine}", me, run, choice.engine, run.reply_tokens, sessions)
