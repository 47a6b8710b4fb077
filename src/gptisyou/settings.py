"""Settings with their help text: a config dataclass is the one home of each default, and the CLI builds its
options from the fields (an option left out keeps the default)."""

from dataclasses import field, fields


def setting(default, help: str):
    """A dataclass field with its default and the help text its command-line option shows."""
    return field(default=default, metadata={"help": help})


def help_of(config: type, name: str) -> str:
    """The help text of `config`'s field `name`, with its default when it has a plain one."""
    found = next(f for f in fields(config) if f.name == name)
    default = f" [default: {found.default}]" if isinstance(found.default, int | float | str) else ""
    return found.metadata["help"] + default
