"""`dataset`: a persona's training data for local or hosted fine-tuning; `validate`: check a file before upload."""

import json
from pathlib import Path

import click

from gptisyou.cli.context import Number, chosen, config_options, open_store, stderr_console
from gptisyou.data.dataset import HOLD_OUT_RULES, DatasetConfig
from gptisyou.data.formats import FORMATS  # light: json and the transcript, no tokenizer

REDACTED_BY_DEFAULT = ("openai", "legacy")  # the formats meant to leave the machine
PREVIEWS = 3
LOCAL_EXAMPLE_TOKENS = 512
LOCAL_FORMATS = ("local", "hf")
# (flag, DatasetConfig field, click type): their defaults and help text come from DatasetConfig
_SPLITTING = (
    ("--gap", "gap_hours", Number(min=0, min_open=True)),
    ("--val", "val_fraction", Number(0, 0.9)),
    ("--hold-out", "hold_out", click.Choice(HOLD_OUT_RULES)),
    ("--window-turns", "window_turns", click.IntRange(min=1)),
)


@click.command()
@click.option("--as", "persona", required=True, help="The participant to imitate (see `gptisyou people`).")
@click.option("--chat", "chats", type=int, multiple=True, help="Only this chat (repeatable). Default: all of theirs.")
@click.option("--with", "with_people", multiple=True, help="Only conversations with this person (repeatable).")
@click.option("--format", "format_name", type=click.Choice(FORMATS), default="openai", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the dataset here (hf: a directory).")
@config_options(DatasetConfig, _SPLITTING)
@click.option(
    "--redact/--no-redact",
    default=None,
    help="Pseudonyms for phone numbers, e-mails, URLs, IBANs, cards and third-party names. "
    "Default: on for openai and legacy, off for the local formats.",
)
@click.option(
    "--example-tokens",
    "--max-tokens",
    type=click.IntRange(min=16),
    default=None,
    help="Tokens per example at most. Default: 512 for --format local, else only --window-turns applies.",
)
@click.option("--stats", is_flag=True, help="Print examples, tokens, estimated hosted cost and 3 previews.")
@click.option("--model", default=None, help="Hosted model for token limits and cost (default gpt-4o-mini).")
@click.option(
    "--epochs", type=click.IntRange(1, 50), default=3, show_default=True, help="Epochs for the cost estimate."
)
@click.pass_context
def dataset(
    ctx: click.Context,
    persona: str,
    chats: tuple[int, ...],
    with_people: tuple[str, ...],
    format_name: str,
    output: Path | None,
    redact: bool | None,
    example_tokens: int | None,
    stats: bool,
    model: str | None,
    epochs: int,
    **splitting,
) -> None:
    """Build a persona's dataset: conversations split into training and held out, redacted, rendered for
    fine-tuning.

    Whole conversations spread across the chat (at least --val of the persona's turns; --hold-out latest: the
    latest ones) are held out, as train holds them out, and appear in no training example. Formats: openai (chat JSONL), legacy (the original prompt/completion pairs),
    sharegpt, local (transcripts with the spans to train on), hf (the local records as a Hugging Face dataset
    directory).
    """
    from gptisyou.data import dataset as datasets
    from gptisyou.data import formats as dataset_formats
    from gptisyou.data import pricing

    if output is None and not stats:
        raise click.UsageError("give -o PATH to write the dataset, or --stats to look at it")
    model = model or pricing.DEFAULT_MODEL
    if model not in pricing.HOSTED_MODELS:
        raise click.BadParameter(f"unknown model; known: {', '.join(pricing.HOSTED_MODELS)}", param_hint="--model")
    config = DatasetConfig(
        persona,
        chats=chats,
        with_people=with_people,
        **chosen(splitting),
        example_tokens=example_tokens or (LOCAL_EXAMPLE_TOKENS if format_name in LOCAL_FORMATS else None),
        redact=format_name in REDACTED_BY_DEFAULT if redact is None else redact,
    )
    count_tokens, method = _token_counting(ctx.obj["workspace"], format_name, model)
    with open_store(ctx) as store:
        data = datasets.build(store, config, count_tokens)
    rows = list(dataset_formats.records(data, format_name, config.context_turns))
    if output is not None:
        write = dataset_formats.write_hf if format_name == "hf" else dataset_formats.write_jsonl
        data.save_redaction_map(ctx.obj["workspace"])  # first: a dataset is never written without its map
        write(rows, output)
        click.echo(f"wrote {len(rows):,} {format_name} examples to {output}")
    if stats:
        _print_stats(persona, data, rows, format_name, model, epochs, count_tokens, method)
    if format_name in REDACTED_BY_DEFAULT:
        console = stderr_console(ctx)
        if len(rows) < 10:
            console.print(f"[yellow]warning:[/] {len(rows)} examples; hosted fine-tuning needs at least 10")
        if output is not None:
            console.print("This file is meant for a hosted provider: upload it only if the people in the chat agree.")


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", default=None, help="Hosted model whose token limit applies (default gpt-4o-mini).")
def validate(file: Path, model: str | None) -> None:
    """Check a fine-tuning JSONL file against OpenAI's rules; every problem is listed with its line."""
    from gptisyou.data import pricing
    from gptisyou.data import validate as validation
    from gptisyou.errors import InputError

    model = model or pricing.DEFAULT_MODEL
    problems = validation.problems(file, model, pricing.token_counter(model))
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise InputError(f"{file}: {len(problems)} problem(s), see above")
    click.echo(f"{file}: valid for {model}")


def _token_counting(workspace: Path, format_name: str, model: str):
    """(count_tokens, how): the local model's tokenizer for the local formats once it is converted, else tiktoken."""
    from gptisyou.data import pricing

    counter = pricing.token_counter(model)
    if format_name not in LOCAL_FORMATS:
        return counter.text, counter.method
    from gptisyou.store.models import local_token_counter

    if count := local_token_counter(workspace):
        return count, "the local model's tokenizer"
    return counter.text, f"{counter.method}; the local tokenizer is used once the base model is converted"


def _print_stats(persona, data, rows, format_name, model, epochs, count_tokens, method) -> None:
    from gptisyou.data import pricing

    counter = pricing.token_counter(model)
    tokens = sum(count_tokens(row["text"]) if "text" in row else counter.record(row) for row in rows)
    targets, held_out = data.target_turns(data.train), data.target_turns(data.val)
    cost = pricing.training_cost_usd(tokens, model, epochs)
    click.echo(f"persona: {persona} in chat(s) {', '.join(map(str, sorted(data.people)))}")
    if data.hold_out == "spread":
        which = " (spread across the chat: one from each stretch of its time, so it is judged on the whole of it)"
    else:
        which = f" (the latest, from {data.held_out_from:%Y-%m-%d %H:%M} on)" if data.held_out_from else ""
    click.echo(f"conversations: {len(data.train):,} for training, {len(data.val):,} held out{which}")
    click.echo(f"persona turns: {targets:,} to learn from, {held_out:,} held out for validation")
    click.echo(f"examples ({format_name}): {len(rows):,}")
    click.echo(f"tokens: {tokens:,} ({method})")
    if format_name in REDACTED_BY_DEFAULT:
        click.echo(
            f"estimated hosted cost: ${cost:,.2f} for {model}, {epochs} epoch(s) "
            f"(prices as published {pricing.PRICES_CHECKED}; check your provider's current prices)"
        )
    for row in rows[:PREVIEWS]:
        click.echo(json.dumps(row, ensure_ascii=False, indent=1)[:1200])
