"""Where a user's data lives: `--workspace`, else `$GPTISYOU_HOME`, else the platform's user data directory.

Everything gptisyou writes (the SQLite store, later datasets, runs and reports) goes under this one directory,
created private (0700) so that `forget` can remove it and nothing else.
"""

import os
from pathlib import Path

import platformdirs

ENV_VAR = "GPTISYOU_HOME"
DATABASE_NAME = "workspace.db"


def workspace_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return Path(explicit).expanduser()
    if from_env := os.environ.get(ENV_VAR):
        return Path(from_env).expanduser()
    return Path(platformdirs.user_data_dir("gptisyou", appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) if needed; a directory gptisyou creates is readable by the owner only."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask
    return path


def make_private(tree: Path) -> Path:
    """Make a directory tree readable by its owner only: directories 0700, files 0600."""
    for path in [tree, *tree.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    return tree


def file_name_for(name: str) -> str:
    """A display name (a person's, with spaces, emoji or a phone number) as a safe file or folder name."""
    return "".join(char if char.isalnum() else "_" for char in name)


def database_path(workspace: Path) -> Path:
    return workspace / DATABASE_NAME
