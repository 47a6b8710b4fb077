"""Deleting local data: one persona's runs, uploads and redaction map, or a whole workspace.

Only what gptisyou made is deleted. A directory is a workspace when it holds a gptisyou database; then its
database files and known folders go, the redaction map (the key back to real names) first, and anything else in
it stays and is named. The database goes last, and only once everything else is gone, so that a deletion that
failed halfway can be run again. Links are removed, never followed, and every file that could not be removed
is reported: a deletion that did not happen never reads as one that did.
"""

import errno
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from gptisyou.errors import GptisyouError, InputError, RemoteError
from gptisyou.store.runs import RUNS_FOLDER, persona_dir
from gptisyou.store.workspace import (
    BRIDGES_FOLDER,
    DATABASE_NAME,
    HOSTED_FOLDER,
    MODELS_FOLDER,
    PORTRAIT_PAGES,
    REDACTION_FOLDER,
    SCRATCH_FOLDER,
    bridge_state_path,
    hosted_dir,
    portrait_path,
    redaction_map_path,
)

if TYPE_CHECKING:
    from gptisyou.store.database import Store

# What a workspace holds, the redaction maps first: if anything fails, the map back to real names is gone already.
KNOWN_FOLDERS = (REDACTION_FOLDER, HOSTED_FOLDER, RUNS_FOLDER, MODELS_FOLDER, BRIDGES_FOLDER, "demo", SCRATCH_FOLDER)
DATABASE_FILES = tuple(DATABASE_NAME + suffix for suffix in ("", "-wal", "-shm", "-journal"))


class DeletionError(GptisyouError):
    """Some files could not be deleted; the message names them."""

    exit_code = 1


@dataclass
class Deletion:
    """What a deletion removed, what it left on purpose, and what it failed to remove."""

    removed: list[Path] = field(default_factory=list)  # each file, link or folder tree removed whole
    kept: list[Path] = field(default_factory=list)  # not made by gptisyou: left alone
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def raise_for_failures(self) -> None:
        """Raises:
        DeletionError: naming the files that are still there."""
        if self.failed:
            shown = "; ".join(f"{path} ({reason})" for path, reason in self.failed[:5])
            more = f" and {len(self.failed) - 5} more" if len(self.failed) > 5 else ""
            raise DeletionError(f"could not delete {len(self.failed)} file(s): {shown}{more}")


class RemoteForgetting(Protocol):
    """Deletes what went to providers for a persona (None: for everyone) and returns what could not be deleted:
    `hosted.finetune.forget_everywhere`, given its provider and key."""

    def __call__(self, store: "Store", persona: str | None) -> list[str]: ...


def forget(workspace: Path, persona: str | None, remote: RemoteForgetting | None = None) -> Deletion:
    """Delete one persona's data (`forget_persona`) or, with no persona, the whole workspace (`forget_workspace`).
    With `remote`, what went to providers is deleted first; where that fails, nothing local is deleted, so that
    the record of what is still out there survives.

    Raises:
        InputError: `workspace` is not a gptisyou workspace (nothing is deleted).
        RemoteError: something at a provider could not be deleted (nothing local was).
        DeletionError: some local files could not be removed (everything else was).
    """
    check_workspace(workspace)
    if remote is not None:
        from gptisyou.store.database import Store

        with Store.open(workspace) as store:
            failed = remote(store, persona)
        if failed:
            raise RemoteError("could not delete " + "; ".join(failed) + " (nothing local was deleted)")
    deletion = forget_persona(workspace, persona) if persona else forget_workspace(workspace)
    deletion.raise_for_failures()
    return deletion


def check_workspace(workspace: Path) -> None:
    """Raises:
    InputError: `workspace` holds no gptisyou database."""
    if not is_workspace(workspace.resolve()):
        raise InputError(
            f"{workspace}: not a gptisyou workspace (no {DATABASE_NAME} made by gptisyou); nothing was deleted"
        )


def left_at_providers(workspace: Path, persona: str | None) -> list:
    """The uploaded files, jobs and models recorded for the persona (None: for everyone) and not deleted yet."""
    from gptisyou.store.database import Store

    with Store.open(workspace) as store:
        return store.remote.objects(persona, include_deleted=False)


def is_workspace(directory: Path) -> bool:
    """True when `directory` holds a gptisyou database (a SQLite file with gptisyou's migrations table)."""
    database = directory / DATABASE_NAME
    if database.is_symlink() or not database.is_file():
        return False
    try:
        with open(database, "rb") as raw:
            if raw.read(16) != b"SQLite format 3\x00":
                return False
        db = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return db.execute("SELECT 1 FROM sqlite_master WHERE name = '_migrations'").fetchone() is not None
        finally:
            db.close()
    except (OSError, sqlite3.Error):
        return False


def forget_workspace(workspace: Path) -> Deletion:
    """Delete a whole workspace: its database and known folders, then the directory if nothing else is left.

    A link to a workspace is followed once, deliberately: the workspace it points to is deleted, then the link.

    Raises:
        InputError: `workspace` is not a gptisyou workspace (nothing is deleted).
        DeletionError: some files could not be removed (everything else was).
    """
    link = workspace if workspace.is_symlink() else None
    directory = workspace.resolve()
    if not directory.is_dir():
        raise InputError(f"{workspace}: no such workspace, nothing to delete")
    if not is_workspace(directory):
        raise InputError(
            f"{workspace}: not a gptisyou workspace (no {DATABASE_NAME} made by gptisyou in it); nothing was deleted"
        )
    deletion = Deletion()
    for name in KNOWN_FOLDERS:
        _remove(directory / name, deletion)
    for page in sorted(directory.glob(PORTRAIT_PAGES)):  # they quote real messages
        _remove(page, deletion)
    if deletion.failed:  # the database stays, so the directory is still a workspace to run forget on again
        return deletion
    for name in DATABASE_FILES:
        _remove(directory / name, deletion)
    deletion.kept = sorted(path for path in directory.iterdir()) if directory.exists() else []
    if not deletion.kept and not deletion.failed:
        _remove_empty_dir(directory, deletion)
        if link is not None:
            _remove(link, deletion)
    return deletion


def forget_persona(workspace: Path, persona: str) -> Deletion:
    """Delete one persona's redaction map, hosted uploads, runs, what their bridges remember, their portrait page
    (in that order) and the corrections given to their clone.

    Raises:
        DeletionError: some files could not be removed (everything else was).
    """
    deletion = Deletion()
    for path in (
        redaction_map_path(workspace, persona),
        hosted_dir(workspace, persona),
        persona_dir(workspace, persona),
        bridge_state_path(workspace, persona, "any").parent,
        portrait_path(workspace, persona),
    ):
        _remove(path, deletion)
    if is_workspace(workspace):
        from gptisyou.store.database import Store

        with Store.open(workspace) as store:
            store.corrections.remove(persona)
    return deletion


def _remove(path: Path, deletion: Deletion) -> None:
    """Remove a file, a link (not what it points to) or a folder tree, recording each failure."""
    if not os.path.lexists(path):
        return
    if path.is_symlink() or not path.is_dir():
        _attempt(path.unlink, path, deletion)
        return
    failures = len(deletion.failed)

    def failed(_function, failed_path, exc_info) -> None:
        if getattr(exc_info[1], "errno", None) != errno.ENOTEMPTY:  # a folder left because of a file in it
            deletion.failed.append((Path(failed_path), _reason(exc_info[1])))

    shutil.rmtree(path, onerror=failed)  # removes links inside the tree, never follows them
    if len(deletion.failed) == failures and not path.exists():
        deletion.removed.append(path)


def _remove_empty_dir(directory: Path, deletion: Deletion) -> None:
    _attempt(directory.rmdir, directory, deletion)


def _attempt(remove, path: Path, deletion: Deletion) -> None:
    try:
        remove()
        deletion.removed.append(path)
    except OSError as error:
        deletion.failed.append((path, _reason(error)))


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or type(error).__name__
