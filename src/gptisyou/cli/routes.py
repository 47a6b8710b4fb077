"""The prompted route's options and its clone: any OpenAI-compatible chat endpoint, no training.

`--backend endpoint --base-url URL --model NAME` on chat, ask, serve and the bridges, `--route endpoint:NAME@URL` on
eval. An endpoint on this machine is local; one elsewhere is told what it will be sent and asked for consent
first (`--yes` gives it), and it is sent pseudonyms for personal data unless `--no-redact`. The key is read from
the variable `--api-key-env` names, never from a flag's value, and never printed.
"""

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass

import click

from gptisyou.cli.context import confirmed, literal, stderr_console
from gptisyou.errors import ConsentError, InputError

OLLAMA = "http://localhost:11434/v1"


@dataclass(frozen=True, slots=True)
class EndpointChoice:
    """Where the prompted clone's model answers, and what the user allowed to be sent there."""

    base_url: str | None
    model: str | None
    key_variable: str | None = None  # the environment variable that holds the key (None: no key)
    redact: bool = True  # off only where the user said so; an endpoint on this machine is never redacted
    consented: bool = False  # --yes

    def checked(self, flag: str = "--backend endpoint") -> "EndpointChoice":
        if not self.base_url or not self.model:
            raise InputError(f"{flag} needs --base-url and --model (Ollama: --base-url {OLLAMA} --model llama3.1:8b)")
        return self

    @property
    def name(self) -> str:
        return f"endpoint:{self.model}@{self.base_url}"


def endpoint_options(command):
    """--base-url, --model, --api-key-env, --no-redact and --yes, handed to `command` as one `endpoint`."""
    options = [
        click.option("--base-url", help=f"With --backend endpoint: an OpenAI-compatible chat API, e.g. {OLLAMA}."),
        click.option("--model", help="With --backend endpoint: the endpoint's model, e.g. llama3.1:8b."),
        click.option("--api-key-env", metavar="NAME", help="The environment variable holding the endpoint's key."),
        click.option(
            "--no-redact",
            "keep_personal_data",
            is_flag=True,
            help="Send personal data to an endpoint elsewhere as it is (default: pseudonyms).",
        ),
        click.option(
            "--yes",
            "consented",
            is_flag=True,
            help="Consent to what an endpoint elsewhere than this machine is sent, without asking.",
        ),
    ]

    @functools.wraps(command)
    def with_endpoint(*args, base_url, model, api_key_env, keep_personal_data, consented, **kwargs):
        chosen = EndpointChoice(base_url, model, api_key_env, not keep_personal_data, consented)
        return command(*args, endpoint=chosen, **kwargs)

    for option in reversed(options):
        with_endpoint = option(with_endpoint)
    return with_endpoint


def prompted_clone(ctx: click.Context, endpoint: EndpointChoice, persona: str, me: str, sessions: Sequence, what: str):
    """The prompted clone of `persona` on `endpoint`, its card and memory read from `sessions` (`what` says which,
    for the consent text). An endpoint elsewhere gets the user's consent first.

    Raises:
        ConsentError: the user did not consent to what would be sent.
        InputError: the key's variable is not set.
        MissingExtra: the openai extra is not installed.
    """
    from gptisyou.data.memory import Memory
    from gptisyou.data.redact import Redactor
    from gptisyou.hosted.prompted import EXAMPLES, PromptedClone, on_this_machine
    from gptisyou.hosted.providers import PROVIDERS, Endpoint, client
    from gptisyou.portrait.prompt_card import bubbles_per_turn, card

    local = on_this_machine(endpoint.base_url)
    redactor = None
    if not local:
        if endpoint.redact:
            redactor = Redactor.hiding_others(
                (turn.sender for session in sessions for turn in session.turns), (persona, me)
            )
        _consent(ctx, endpoint, persona, what, EXAMPLES, redactor is not None)
    key = "not-needed"  # a local server takes any key; the client insists on one
    if endpoint.key_variable:
        key = os.environ.get(endpoint.key_variable) or ""
        if not key:
            raise InputError(f"--api-key-env {endpoint.key_variable}: ${endpoint.key_variable} is not set")
    api = client(Endpoint(PROVIDERS["compatible"], endpoint.base_url.rstrip("/"), key), max_retries=2)
    return PromptedClone(
        api,
        endpoint.model,
        persona,
        card(sessions, persona),
        Memory(sessions, persona),
        bubbles_per_turn(sessions, persona),
        redactor,
    )


def _consent(ctx, endpoint: EndpointChoice, persona: str, what: str, examples: int, redacted: bool) -> None:
    console = stderr_console(ctx)
    redaction = (
        "on: third parties' names, phone numbers, e-mail addresses, URLs and card numbers are sent as pseudonyms"
        if redacted
        else "OFF: personal data is sent as it is"
    )
    console.print(
        literal(f"{endpoint.base_url} is not this machine. With every turn, {endpoint.model} there is sent:")
    )
    console.print(literal(f"  a card of how {persona} writes (habits, distinctive words, topics) from {what},"))
    console.print(literal(f"  up to {examples} of {persona}'s real past exchanges most like the conversation,"))
    console.print(literal("  and the conversation so far."))
    console.print(literal(f"  redaction {redaction}"))
    if not endpoint.consented and not confirmed("Send it?", err=True):
        raise ConsentError(f"not confirmed: nothing was sent to {endpoint.base_url} (--yes to consent)")
