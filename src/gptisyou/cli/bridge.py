"""`bridge telegram|discord`: the clone as a bot in a messenger, always saying it is an AI imitation."""

import asyncio
import os
import signal
import stat
from pathlib import Path

import click

from gptisyou.bridges.core import BridgeConfig
from gptisyou.cli.clones import CloneChoice, clone_options, load_clone
from gptisyou.cli.context import chosen, config_options, open_store, printable, stderr_console
from gptisyou.errors import GptisyouError, InputError, MissingExtra, RemoteError

_PACE = (
    ("--context-turns", "context_turns", click.IntRange(min=0, max=64)),
    ("--per-minute", "per_minute", click.IntRange(min=1)),
    ("--queue", "queue", click.IntRange(min=1)),
)
TOKEN_VARIABLES = {"telegram": "TELEGRAM_BOT_TOKEN", "discord": "DISCORD_BOT_TOKEN"}


def _bridge_options(command):
    options = [
        clone_options,
        click.option(
            "--allow",
            "allowed",
            multiple=True,
            metavar="ID",
            help="A chat or user let in (repeatable). Nobody is, by default.",
        ),
        click.option(
            "--pair",
            "pairing",
            is_flag=True,
            help="Print a one-time code: the first chat that sends /pair CODE is let in.",
        ),
        click.option(
            "--owner",
            "owners",
            multiple=True,
            metavar="ID",
            help="A user who may /stop the bridge (repeatable); let in too.",
        ),
        click.option(
            "--token-file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="A file holding the bot token, readable by you only (default: the environment variable).",
        ),
        config_options(BridgeConfig, _PACE),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group()
def bridge() -> None:
    """Put the clone in a messenger: a bot that writes like the person and always says it is an AI imitation.

    Every chat is told so before the first reply, /about repeats it, and the bot's name carries "(AI)"; nothing
    turns this off. Nobody may talk to it unless let in with --allow or --pair. The token comes from
    $TELEGRAM_BOT_TOKEN / $DISCORD_BOT_TOKEN or --token-file, never from the command line.
    """


@bridge.command()
@_bridge_options
@click.option(
    "--api-url",
    default="https://api.telegram.org",
    show_default=True,
    callback=lambda _c, _p, v: _api_url(v),
    help="The Bot API server: a self-hosted one (Telegram publishes it) instead of the public one.",
)
@click.pass_context
def telegram(ctx: click.Context, api_url: str, **options) -> None:
    """Answer as PERSONA in Telegram: create a bot with @BotFather, put its token in $TELEGRAM_BOT_TOKEN."""
    try:
        from gptisyou.bridges import telegram as messenger
    except ImportError as missing:
        raise MissingExtra.from_import(missing, "the Telegram bridge") from None
    token = _token("telegram", options.pop("token_file"))
    _serve(
        ctx,
        "telegram",
        token,
        lambda make, log, stop: messenger.run(messenger.bot(token, api_url), make, log, stop),
        **options,
    )


@bridge.command()
@_bridge_options
@click.pass_context
def discord(ctx: click.Context, **options) -> None:
    """Answer as PERSONA in Discord: create an application and bot in the Developer Portal, enable its Message
    Content intent, put its token in $DISCORD_BOT_TOKEN."""
    try:
        from gptisyou.bridges import discord as messenger
    except ImportError as missing:
        raise MissingExtra.from_import(missing, "the Discord bridge") from None
    token = _token("discord", options.pop("token_file"))
    _serve(ctx, "discord", token, lambda make, log, stop: messenger.run(token, make, log, stop), **options)


def _serve(
    ctx: click.Context,
    name: str,
    token: str,
    run,
    choice: CloneChoice,
    allowed: tuple[str, ...],
    pairing: bool,
    owners: tuple[str, ...],
    **pace,
) -> None:
    from gptisyou.bridges.core import PAIRING_MINUTES, Access, Bridge, BridgeState, bubble_gaps, most_bubbles
    from gptisyou.data.memory import every_session
    from gptisyou.store.workspace import bridge_state_path

    console, persona = stderr_console(ctx), choice.persona
    state = BridgeState.load(bridge_state_path(ctx.obj["workspace"], persona, name))
    loaded = load_clone(ctx, choice)
    if loaded.sessions is None:  # a hosted clone: its sessions were not read
        with open_store(ctx) as store:
            sessions = every_session(store, persona)
    else:
        sessions = loaded.sessions
    gaps, bubbles = bubble_gaps(sessions, persona), most_bubbles(sessions, persona)

    def log(line: str) -> None:
        console.print(printable(line.replace(token, "<token>")), highlight=False, markup=False)

    access = Access(state, allowed, owners, Access.new_code() if pairing else None, log)
    if access.pairing_code:
        console.print(
            f"Pairing code: [bold]{access.pairing_code}[/bold] (send /pair {access.pairing_code} to the bot; "
            f"it works once, within {PAIRING_MINUTES} minutes)"
        )
    elif not (allowed or owners or state.paired):
        console.print("[yellow]Nobody is let in: add --allow ID or --pair.[/yellow]")

    def make_bridge(messenger) -> Bridge:
        return Bridge(
            persona,
            loaded.me,
            loaded.clone,
            messenger,
            access,
            BridgeConfig(**chosen(pace)),
            loaded.sampling(),
            gaps,
            log,
            bubbles=bubbles,
        )

    try:
        asyncio.run(_until_signalled(lambda stop: run(make_bridge, log, stop)))
    except GptisyouError:
        raise
    except Exception as error:  # noqa: BLE001 - the messenger or its library failed: one line, without the token
        stopped = f"the {name} bridge stopped: {type(error).__name__}: {error}"
        raise RemoteError(stopped.replace(token, "<token>")) from None
    log("stopped")


async def _until_signalled(start) -> None:
    """Run the bridge; SIGINT or SIGTERM asks it to stop after the reply in flight."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    await start(stop)


def _api_url(value: str) -> str:
    """An http(s) URL with a host, or a usage error: anything else would be retried forever."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"'{value}' is not an http:// or https:// URL")
    return value


def _token(messenger: str, token_file: Path | None) -> str:
    """The bot token, from the file or the environment; never from the command line, where `ps` shows it."""
    variable = TOKEN_VARIABLES[messenger]
    if token_file is not None:
        if stat.S_IMODE(token_file.stat().st_mode) & 0o077:
            raise InputError(f"{token_file}: readable by others; chmod 600 it first (the token is a password)")
        token = token_file.read_text(encoding="utf-8").strip()
    else:
        token = os.environ.get(variable, "").strip()
    if not token:
        raise InputError(f"no bot token: set ${variable}, or give --token-file PATH")
    return token
