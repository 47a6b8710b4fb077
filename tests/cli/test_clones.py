"""The options that choose a clone reach a command as one CloneChoice, the endpoint's among them."""

import click
from click.testing import CliRunner

from gptisyou.cli.clones import CloneChoice, clone_options
from gptisyou.cli.routes import EndpointChoice


def _chosen(*arguments: str) -> CloneChoice:
    seen = []

    @click.command()
    @clone_options
    @click.option("--extra")
    def command(choice: CloneChoice, extra: str | None) -> None:
        seen.append((choice, extra))

    result = CliRunner().invoke(command, list(arguments), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [(choice, extra)] = seen
    assert extra == "kept"  # the command's own options pass through beside the choice
    return choice


def test_the_defaults_choose_the_persona_s_latest_local_run():
    assert _chosen("--as", "Ann", "--extra", "kept") == CloneChoice(
        "Ann", endpoint=EndpointChoice(None, None, None, redact=True, consented=False)
    )


def test_every_option_lands_in_its_field():
    choice = _chosen(
        *("--as", "Ann", "--me", "Bob", "--backend", "endpoint", "--style-strength", "0.5", "--engine", "torch"),
        *("--candidates", "4", "--base-url", "http://127.0.0.1:11434/v1", "--model", "m", "--no-redact", "--yes"),
        *("--extra", "kept"),
    )
    assert (choice.persona, choice.me, choice.backend, choice.style_strength, choice.engine) == (
        "Ann",
        "Bob",
        "endpoint",
        0.5,
        "torch",
    )
    assert choice.candidates == 4
    assert choice.endpoint == EndpointChoice("http://127.0.0.1:11434/v1", "m", None, redact=False, consented=True)
