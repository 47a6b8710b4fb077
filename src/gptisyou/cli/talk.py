"""Talking to a clone: `chat` (a REPL), `ask` (one question, or an analysis preset) and `serve` (HTTP + web page)."""

from pathlib import Path

import click
from rich.console import Console

from gptisyou.cli.clones import CloneChoice, Loaded, clone_options, load_clone
from gptisyou.cli.context import (
    Number,
    chosen,
    config_options,
    literal,
    open_store,
    printable,
    stderr_console,
)
from gptisyou.engine.responder import Line, Sampling  # light: dataclasses, no torch
from gptisyou.serve.config import ServeConfig  # light: a dataclass, no FastAPI
from gptisyou.serve.hosts import LOOPBACK_NAMES, check_can_listen, served_host_names

# (flag, Sampling field, click type): their defaults and help text come from Sampling
_SAMPLING = (("--temperature", "temperature", Number(0, 2)), ("--seed", "seed", int))
_LISTENING = (
    ("--host", "host", str),
    ("--port", "port", click.IntRange(0, 65535)),
    (("--request-tokens", "--max-tokens"), "request_tokens", click.IntRange(1, 4096)),
)
PRESETS = {  # the analysis prompts of the original experiment, asked as "you" in the chat
    "personality": "Be honest with me: what kind of person am I? Describe my personality.",
    "topics": "What have we talked about all this time? List the topics of our conversations.",
    "cold-reply": "Well that was worth a try?",
}


@click.command()
@clone_options
@config_options(Sampling, _SAMPLING)
@click.pass_context
def chat(ctx: click.Context, choice: CloneChoice, **given) -> None:
    """Talk to the clone of PERSONA: you type as yourself, it answers in bubbles.

    \b
    /reset      start a new conversation
    /save FILE  write the conversation to FILE
    /temp X     sampling temperature (0 = always the likeliest word)
    /base       also show what the untuned base model would say (again to stop)
    /not-them [what they would say]   the last reply is unlike them: remembered, learned from at the next train
    /quit       or Ctrl-D / Ctrl-C
    """
    loaded = load_clone(ctx, choice)
    clone, me, persona = loaded.clone, loaded.me, choice.persona
    console = Console(highlight=False)
    console.print(literal(f"Talking to {persona} (model: {loaded.label}) as {me}. /help for commands.", "dim"))
    history: list[Line] = []
    base = None
    compare = False
    while True:
        try:
            text = click.prompt(
                click.style(me, fg="green", bold=True), prompt_suffix="> ", default="", show_default=False
            )
        except click.Abort:
            console.print()
            return
        command, _, argument = text.strip().partition(" ")
        if command in ("/quit", "/exit"):
            return
        if command == "/help":
            console.print(chat.help.split("\b\n", 1)[1])
        elif command == "/reset":
            history.clear()
            console.print("[dim]New conversation.[/dim]")
        elif command == "/save":
            _save_transcript(Path(argument or "conversation.txt"), history, console)
        elif command == "/temp":
            given["temperature"] = _temperature(argument, loaded.sampling(**given).temperature, console)
        elif command == "/not-them":
            _not_them(ctx, persona, history, argument.strip(), console)
        elif command == "/base" and loaded.run is None:
            console.print("[dim]/base compares with the local run's base model: this clone has none.[/dim]")
        elif command == "/base":
            compare = not compare
            if compare and base is None:
                with stderr_console(ctx).status("loading the base model…"):
                    from gptisyou.engine import choice as engines

                    base = engines.load(loaded.run, persona, loaded.engine, base_only=True)
            console.print(f"[dim]Base model replies {'on' if compare else 'off'}.[/dim]")
        elif text.strip():
            history.append(Line(me, text.strip()))
            sampling = loaded.sampling(**given)
            reply = _speak(console, persona, clone.stream(history, sampling))
            history.append(Line(persona, reply))
            if compare:
                _speak(console, f"{persona} (base model)", base.stream(history[:-1], sampling), style="dim")


@click.command()
@click.option("--as", "persona", required=True, help="Whose clone the corrections were given to.")
@click.option(
    "--remove",
    "remove_ids",
    type=click.IntRange(1, 2**63 - 1),
    multiple=True,
    metavar="ID",
    help="Delete this correction (repeatable).",
)
@click.pass_context
def corrections(ctx: click.Context, persona: str, remove_ids: tuple[int, ...]) -> None:
    """List the replies of PERSONA's clone you marked as unlike them (`/not-them` in chat, the button on the web
    page), or delete some. The next `gptisyou train` prefers what they would say over each of these replies."""
    from gptisyou.errors import InputError

    with open_store(ctx) as store:
        if remove_ids:
            removed = store.corrections.remove(persona, list(remove_ids))
            click.echo(f"{removed} correction(s) deleted")
            return
        found = store.corrections.of(persona)
        if not found and persona not in {person.name for person in store.people()}:
            raise InputError(
                f"no participant '{persona}' in any chat, and no corrections for them (see gptisyou people)"
            )
    if not found:
        click.echo(
            f"No corrections for {printable(persona)} yet: /not-them in `gptisyou chat --as {printable(persona)}`."
        )
        return
    for correction in found:
        before = correction.context[-1] if correction.context else None
        click.echo(printable(f"{correction.id}  {correction.created_at:%Y-%m-%d %H:%M} ({correction.via})"))
        if before:
            click.echo(printable(f"    {before[0]}: {before[1]}".replace("\n", " ")))
        click.echo(printable(f"    not them: {correction.reply}".replace("\n", " ")))
        if correction.rewrite:
            click.echo(printable(f"    would say: {correction.rewrite}".replace("\n", " ")))


def _not_them(ctx: click.Context, persona: str, history: list, rewrite: str, console: Console) -> None:
    """Store the clone's last reply as unlike the person (with what they would say, if given)."""
    if not history or history[-1].speaker != persona or not history[-1].text:
        console.print(literal(f"/not-them marks {persona}'s last reply: there is none yet.", "dim"))
        return
    context = [(line.speaker, line.text) for line in history[:-1]]
    with open_store(ctx) as store:
        number = store.corrections.add(persona, context, history[-1].text, rewrite.strip() or None, via="terminal")
    said = f" ({persona} would say: {rewrite})" if rewrite else ""
    console.print(
        literal(
            f"Noted as correction {number}{said}: the next `gptisyou train --as {persona}` learns from "
            f"it (gptisyou corrections --as {persona} lists them).",
            "dim",
        )
    )


def _speak(console: Console, name: str, pieces, style: str = "") -> str:
    """Print a turn as it streams, one bubble per line under the speaker's name; return its text."""
    console.print(literal(name, "bold magenta"), ": ", sep="", end="")
    text = ""
    for piece in pieces:
        text += piece
        console.print(literal(piece.replace("\n", "\n" + " " * (len(name) + 2)), style), end="")
    console.print("" if text.strip() else "[dim](no reply)[/dim]")
    return text.strip()


def _save_transcript(path: Path, history, console: Console) -> None:
    from gptisyou.store.workspace import make_private

    path.write_text("".join(f"{line.speaker}: {line.text}\n" for line in history), encoding="utf-8")
    make_private(path)
    console.print(literal(f"Saved {len(history)} turns to {path}.", "dim"))


def _temperature(argument: str, current: float, console: Console) -> float:
    try:
        value = float(argument)
    except ValueError:
        value = -1
    if not 0 <= value <= 2:
        console.print(f"[dim]/temp takes a number from 0 to 2 (now {current}).[/dim]")
        return current
    console.print(f"[dim]Temperature {value}.[/dim]")
    return value


@click.command()
@clone_options
@click.argument("question", required=False)
@click.option("--preset", type=click.Choice(tuple(PRESETS)), help="One of the original experiment's prompts.")
@click.option("--base", "base_only", is_flag=True, help="Ask the untuned base model instead, for comparison.")
@config_options(Sampling, _SAMPLING)
@click.pass_context
def ask(
    ctx: click.Context, choice: CloneChoice, question: str | None, preset: str | None, base_only: bool, **given
) -> None:
    """Ask the clone of PERSONA one QUESTION (or a --preset: personality, topics, cold-reply) and print its reply."""
    from gptisyou.errors import InputError

    if (question is None) == (preset is None):
        raise InputError("give a QUESTION or a --preset (personality, topics, cold-reply), not both")
    if preset in ("personality", "topics") and choice.backend == "local":
        _answer_from_portrait(ctx, choice.persona, preset)
        return
    loaded = load_clone(ctx, choice, base_only)
    asked = PRESETS[preset] if preset else question
    reply = loaded.clone.reply([Line(loaded.me, asked)], loaded.sampling(**given))
    click.echo(printable(f"{loaded.me}: {asked}"))
    click.echo(printable(f"{choice.persona}: {reply or '(no reply)'}"))


def _answer_from_portrait(ctx: click.Context, persona: str, preset: str) -> None:
    """The original experiment's analysis questions, answered from the chats themselves (the portrait): a small
    local model imitates a voice but cannot analyse one. A hosted fine-tune (--backend openai) is still asked."""
    from gptisyou.portrait import build, said

    with open_store(ctx) as store:
        facts = build.portrait(store, persona)
    click.echo(
        printable(f"{PRESETS[preset]}\n(answered from the chats, not by the clone: gptisyou portrait --as {persona})")
    )
    for line in said.personality(facts) if preset == "personality" else said.topics(facts):
        click.echo(printable(f"• {line}"))


@click.command()
@clone_options
@config_options(ServeConfig, _LISTENING)
@click.option("--api-key", envvar="GPTISYOU_API_KEY", help="Require this bearer key on /v1 (or $GPTISYOU_API_KEY).")
@click.option("--base", "base_only", is_flag=True, help="Serve the untuned base model instead.")
@click.option(
    "--quiz",
    "with_quiz",
    is_flag=True,
    help="Also serve the blind test at /quiz: real held-out messages (redacted), behind --api-key if set.",
)
@click.option(
    "--portrait",
    "with_portrait",
    is_flag=True,
    help="Also serve the persona's portrait at /portrait: it quotes real messages, behind --api-key if set.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    help="Also accept requests addressed to this host name (repeatable; * for any). By default only the "
    "names of the address it listens on.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    choice: CloneChoice,
    api_key: str | None,
    base_only: bool,
    with_quiz: bool,
    allow_hosts: tuple[str, ...],
    with_portrait: bool = False,
    **given,
) -> None:
    """Serve the clone of PERSONA: a web chat page at / and an OpenAI-compatible API at /v1.

    \b
    Any OpenAI client works: base_url="http://127.0.0.1:8000/v1", model=<the persona, lower case>.
    """
    from gptisyou.errors import MissingExtra

    try:
        import uvicorn

        from gptisyou.serve.server import Served, create_app
    except ImportError as missing:
        raise MissingExtra.from_import(missing, "serving") from None
    from gptisyou.store.workspace import file_name_for

    listening = ServeConfig(**chosen(given))
    host, port = listening.host, listening.port
    if host not in LOOPBACK_NAMES and (with_quiz or with_portrait) and not api_key:
        from gptisyou.errors import InputError

        pages = " and ".join(flag for flag, on in (("--portrait", with_portrait), ("--quiz", with_quiz)) if on)
        raise InputError(f"{pages} show real messages: on {host}, beyond this machine, only with --api-key")
    check_can_listen(host, port)
    loaded = load_clone(ctx, choice, base_only)
    persona = choice.persona
    model_id = file_name_for(persona).lower() + ("-base" if base_only else "")
    _say_where(ctx, host, port, bool(api_key), f"{persona}'s clone ({loaded.label}) as model '{model_id}'")
    quiz, portrait, store_correction = _served_pages(ctx, choice, loaded, with_quiz, with_portrait)
    app = create_app(
        loaded.clone,
        Served(
            model_id,
            me=loaded.me,
            api_key=api_key,
            max_new_tokens=listening.request_tokens,
            reply_tokens=loaded.reply_tokens,
            allowed_hosts=served_host_names(host, allow_hosts),
            quiz=quiz,
            portrait=portrait,
            corrections=store_correction,
        ),
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _say_where(ctx: click.Context, host: str, port: int, keyed: bool, what: str) -> None:
    console = stderr_console(ctx)
    if host not in LOOPBACK_NAMES:
        console.print(
            literal(
                f"Listening on {host}: anyone who can reach this machine can talk to the clone"
                f"{'' if keyed else ' (no --api-key set)'}.",
                "yellow",
            )
        )
    console.print(literal(f"{what}: http://{host}:{port}/ · API http://{host}:{port}/v1"))


def _served_pages(ctx: click.Context, choice: CloneChoice, loaded: Loaded, with_quiz: bool, with_portrait: bool):
    """What `serve` shows beside the chat: the blind test and the portrait where asked, and where to keep a "not
    them" correction (a local run's clone only)."""
    persona = choice.persona
    quiz = portrait = None
    if with_quiz:
        from gptisyou.errors import InputError
        from gptisyou.eval.quiz import WebQuiz

        if loaded.run is None:
            raise InputError(
                f"--quiz compares the real replies with a local run's: not with --backend {choice.backend}"
            )
        quiz = WebQuiz(ctx.obj["workspace"], loaded.run, persona)
    if with_portrait:
        from gptisyou.portrait import build, page

        with open_store(ctx) as store:
            portrait = page.render(build.portrait(store, persona))

    def store_correction(context: list[tuple[str, str]], reply: str, rewrite: str | None) -> int:
        with open_store(ctx) as store:
            return store.corrections.add(persona, context, reply, rewrite, via="web")

    return quiz, portrait, store_correction if loaded.run is not None else None
