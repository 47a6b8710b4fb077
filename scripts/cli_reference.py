"""Write docs/cli.md: every command's --help, generated, so the reference cannot go stale (a test compares).

python scripts/cli_reference.py           # rewrite docs/cli.md
python scripts/cli_reference.py --check   # exit 1 if docs/cli.md is not what the commands say
"""

import sys
from collections.abc import Iterator
from pathlib import Path

import click

from gptisyou.cli import cli

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
WIDTH = 100


def reference() -> str:
    parts = ["# CLI reference\n", "Generated from each command's `--help` by `scripts/cli_reference.py`.\n"]
    for path, context in _commands(cli, _context(cli, "gptisyou")):
        parts.append(f"## gptisyou {' '.join(path)}\n" if path else "## gptisyou\n")
        parts.append(f"```\n{context.command.get_help(context)}\n```\n")
    return "\n".join(parts)


def _commands(command: click.Command, context: click.Context, path: tuple[str, ...] = ()) -> Iterator[tuple]:
    yield path, context
    for name, child in sorted(getattr(command, "commands", {}).items()):
        if not child.hidden:
            yield from _commands(child, _context(child, name, context), (*path, name))


def _context(command: click.Command, name: str, parent: click.Context | None = None) -> click.Context:
    """The context `--help` would see: the command's own settings (its help option names, say), a fixed width."""
    return command.make_context(name, [], parent=parent, resilient_parsing=True, terminal_width=WIDTH)


def main() -> None:
    written = reference()
    if "--check" in sys.argv:
        if not REFERENCE.is_file() or REFERENCE.read_text(encoding="utf-8") != written:
            sys.exit(f"{REFERENCE} is stale: run python scripts/cli_reference.py")
        return
    REFERENCE.write_text(written, encoding="utf-8")


if __name__ == "__main__":
    main()
