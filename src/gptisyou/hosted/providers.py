"""Where a hosted fine-tune goes: a named provider profile (its API's base URL, key variable and price table).

The files and fine-tuning jobs API that OpenAI defined is served by several providers; any of them is reached by
changing the base URL. OpenAI itself is winding fine-tuning down (announced 2026-05-07): organisations that
never fine-tuned can no longer create jobs, nobody can from 2027-01-06, and several tunable models retire in
January 2027.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from gptisyou.data.pricing import HOSTED_MODELS, HostedModel
from gptisyou.errors import InputError, RemoteError

OPENAI_URL = "https://api.openai.com/v1"
LEGACY_MODELS = ("davinci-002", "babbage-002")  # prompt/completion, the original experiment's route
WIND_DOWN = (
    "OpenAI stopped new fine-tuning jobs for organisations that never fine-tuned (announced 2026-05-07) and "
    "stops them for everyone on 2027-01-06. Use another OpenAI-compatible provider (--base-url, --provider "
    "compatible) or train locally, with no account at all: gptisyou train --as NAME"
)


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    base_url: str | None  # None: the user gives it (--base-url or $OPENAI_BASE_URL)
    key_variable: str
    prices: dict[str, HostedModel] = field(default_factory=dict)  # known models and training prices
    note: str = ""


PROVIDERS = {
    "openai": Provider("openai", OPENAI_URL, "OPENAI_API_KEY", HOSTED_MODELS, WIND_DOWN),
    "compatible": Provider(
        "compatible",
        None,
        "OPENAI_API_KEY",
        note="Any OpenAI-compatible fine-tuning API (Azure OpenAI, Nebius Token Factory, …): model names and "
        "prices are the provider's; the cost shown uses OpenAI's table as a reference.",
    ),
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    provider: Provider
    base_url: str
    api_key: str


def endpoint(provider: str | None = None, base_url: str | None = None, api_key: str | None = None) -> Endpoint:
    """The provider profile, base URL and key: flags first, then the environment, then the profile's default.

    Raises:
        InputError: an unknown profile, no base URL for a compatible provider, or no API key.
    """
    base_url = base_url or os.environ.get("OPENAI_BASE_URL")
    name = provider or ("openai" if base_url in (None, OPENAI_URL) else "compatible")
    if name not in PROVIDERS:
        raise InputError(f"unknown provider profile {name!r} (known: {', '.join(PROVIDERS)})")
    profile = PROVIDERS[name]
    base_url = (base_url or profile.base_url or "").rstrip("/")
    if not base_url:
        raise InputError("a compatible provider needs --base-url (or $OPENAI_BASE_URL)")
    api_key = api_key or os.environ.get(profile.key_variable)
    if not api_key:
        raise InputError(f"no API key: set ${profile.key_variable} or pass --api-key")
    return Endpoint(profile, base_url, api_key)


def client(target: Endpoint, max_retries: int = 4):
    """The official client; it retries 408/409/429/5xx and dropped connections with exponential backoff."""
    try:
        import openai
    except ImportError:
        from gptisyou.errors import MissingExtra

        raise MissingExtra("openai", "hosted fine-tuning") from None
    return openai.OpenAI(base_url=target.base_url, api_key=target.api_key, max_retries=max_retries, timeout=120)


@contextmanager
def provider_errors(action: str) -> Iterator[None]:
    """The client's exceptions as one clear RemoteError line."""
    import openai

    try:
        yield
    except openai.PermissionDeniedError as error:
        explanation = WIND_DOWN if action == "job creation" else describe_error(error)
        raise RemoteError(f"{action}: permission denied (403). {explanation}") from None
    except openai.APIError as error:
        raise RemoteError(f"{action}: {describe_error(error)}") from None


def describe_error(error) -> str:
    import openai

    message = getattr(error, "message", str(error))
    if isinstance(error, openai.AuthenticationError):
        return f"the provider rejected the API key (401): {message}"
    if isinstance(error, openai.NotFoundError):
        return f"not found at the provider (404): {message}"
    if isinstance(error, openai.RateLimitError):
        return f"rate limited (429) after several retries; try again later: {message}"
    if isinstance(error, openai.APIConnectionError):
        return f"cannot reach the provider ({message})"
    if isinstance(error, openai.APIStatusError):
        return f"the provider answered {error.status_code}: {message}"
    return message
