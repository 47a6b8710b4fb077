"""Where a user's data lives: `--workspace`, else `$GPTISYOU_HOME`, else the platform's user data directory.

Everything gptisyou writes (the SQLite store, later datasets, runs and reports) goes under this one directory,
created private (0700) so that `forget` can remove it and nothing else.
"""

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import platformdirs

from gptisyou.errors import InputError

ENV_VAR = "GPTISYOU_HOME"
DATABASE_NAME = "workspace.db"
SCRATCH_FOLDER = "scratch"  # temporary copies an import makes (an SMS spool, a copy of chat.db, unpacked zips)


def workspace_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return Path(explicit).expanduser()
    if from_env := os.environ.get(ENV_VAR):
        return Path(from_env).expanduser()
    return Path(platformdirs.user_data_dir("gptisyou", appauthor=False))


def ensure_private_dir(path: Path, inside: Path | None = None) -> Path:
    """Create `path` (and parents) if needed; a directory gptisyou creates is readable by the owner only.

    With `inside` (the workspace), no part of `path` below it may be a link: a link planted in the workspace is
    refused, not followed.

    Raises:
        InputError: a part of `path` below `inside` is a link or not a directory.
    """
    if inside is not None:
        current = inside
        for part in path.relative_to(inside).parts:
            current = current / part
            if current.is_symlink():
                raise InputError(f"{current}: is a link; gptisyou does not write through links in its workspace")
            if not current.exists():
                current.mkdir(mode=0o700)
                current.chmod(0o700)  # mkdir's mode is filtered by the umask
            elif not current.is_dir():
                raise InputError(f"{current}: is not a directory")
        return path
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        path.chmod(0o700)
    return path


def private_umask() -> None:
    """Everything this process creates is the owner's only (0700 folders, 0600 files) from the moment it exists."""
    os.umask(0o077)


def safety_warnings(workspace: Path) -> list[str]:
    """What makes a workspace unsafe to keep private data in: other users may write to it, or it is theirs."""
    try:
        info = workspace.stat()
    except OSError:
        return []
    warnings = []
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        warnings.append(f"{workspace}: other users can write to this workspace (chmod 700 it)")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        warnings.append(f"{workspace}: this workspace belongs to another user")
    return warnings


def make_private(tree: Path) -> Path:
    """Make a directory tree readable by its owner only: directories 0700, files 0600."""
    for path in [tree, *tree.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    return tree


@contextmanager
def written_whole(path: Path, newline: str | None = None) -> Iterator[TextIO]:
    """A text file for `path`, written under a temporary name beside it and readable by its owner only, renamed to
    `path` when the block ends well (a link at `path` is replaced, not followed); a failure leaves nothing behind."""
    # a name of its own (mkstemp: 0600, never an existing file), so two writers of one path never share it
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    partial = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline=newline) as file:
            yield file
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def file_name_for(name: str) -> str:
    """A display name (a person's, with spaces, emoji or a phone number) as a safe file or folder name."""
    return "".join(char if char.isalnum() else "_" for char in name)


def database_path(workspace: Path) -> Path:
    return workspace / DATABASE_NAME


# --- the workspace's layout: the one place that spells its folders (a run's own layout is `runs.Run`'s) -------

REDACTION_FOLDER = "redaction"  # <persona>.json: the real → pseudonym map of their datasets
HOSTED_FOLDER = "hosted"  # <persona>/: what was prepared for, and learned about, their hosted fine-tunes
MODELS_FOLDER = "models"  # <sha256>/: base models converted from GGUF
BRIDGES_FOLDER = "bridges"  # <persona>/<messenger>.json: what a bridge remembers (pairings, each chat's context)


PORTRAIT_PAGES = "portrait-*.html"  # portrait-<persona>.html: the page `portrait` writes by default


def portrait_path(workspace: Path, persona: str) -> Path:
    return workspace / PORTRAIT_PAGES.replace("*", file_name_for(persona))


def redaction_map_path(workspace: Path, persona: str) -> Path:
    return workspace / REDACTION_FOLDER / f"{file_name_for(persona)}.json"


def hosted_dir(workspace: Path, persona: str) -> Path:
    return workspace / HOSTED_FOLDER / file_name_for(persona)


def bridge_state_path(workspace: Path, persona: str, messenger: str) -> Path:
    return workspace / BRIDGES_FOLDER / file_name_for(persona) / f"{messenger}.json"


def models_dir(workspace: Path) -> Path:
    return workspace / MODELS_FOLDER


def scratch_dir(workspace: Path) -> Path:
    """The workspace's private folder for an import's temporary copies, so that they hold no more than the
    workspace does and `forget --all` deletes them too. Each copy's name starts with the id of the process that
    made it (`1234-sms-…`): copies left by an import that was killed, whose process is gone, are removed first."""
    import shutil

    scratch = ensure_private_dir(workspace / SCRATCH_FOLDER, inside=ensure_private_dir(workspace))
    for leftover in scratch.iterdir():
        if _alive(leftover.name.partition("-")[0]):
            continue
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return scratch


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def built_whole(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` (nothing there yet) for a library to write a file or folder to; made private
    and moved to `path` when the block ends well, in place of what was there; a failure leaves nothing behind and
    `path` as it was."""
    partial = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)) / path.name
    try:
        yield partial
        if path.is_dir() and not path.is_symlink():  # a folder cannot be renamed over: moved aside first
            path.rename(partial.parent / "replaced")
        make_private(partial).replace(path)
    finally:
        shutil.rmtree(partial.parent, ignore_errors=True)
