"""What `import` was given, as export files: a file as it is, a folder walked, a zip of several exports unpacked.

A folder (a Telegram Desktop export, Meta's unpacked download, a backup folder) is walked for every file a source
reads; a zip that is itself an export (WhatsApp, Slack) is read as it is, and any other zip (Meta's "Download
your information") is unpacked into a private temporary folder and walked. Files no source reads are listed,
not fatal: media, HTML pages and the rest of an export sit beside the messages.
"""

import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gptisyou.errors import InputError
from gptisyou.sources import detect
from gptisyou.sources.textfile import zip_members

_SKIPPED_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".heic",
    ".mp4",
    ".mov",
    ".mp3",
    ".ogg",
    ".opus",
    ".m4a",
    ".wav",
    ".pdf",
    ".html",
    ".htm",
    ".css",
    ".js",
    ".vcf",
}


@dataclass
class Found:
    exports: list[tuple[Path, str]] = field(default_factory=list)  # (file, its source)
    unknown: list[Path] = field(default_factory=list)  # files inside folders or zips that no source reads
    shown: dict[Path, str] = field(default_factory=dict)  # a file unpacked from a zip → how to name it to people


@contextmanager
def exports(
    paths: list[Path], max_unzipped_bytes: int, tables: bool = False, scratch: Path | None = None
) -> Iterator[Found]:
    """The export files in `paths`, detected (or, with `tables`, files read as tables with given columns);
    zips are unpacked into `scratch` (the workspace's scratch folder) and live until the context ends.

    Raises:
        InputError: a file given by name that no source reads (inside folders and zips they are only listed).
    """
    found = Found()
    with ExitStack() as stack:
        for path in paths:
            if tables and path.is_file():
                found.exports.append((path, "table"))
            elif path.is_dir():
                _walk(path, found, path)
            elif path.suffix.lower() == ".zip" and not _reads_itself(path):
                unpacked = tempfile.TemporaryDirectory(prefix=f"{os.getpid()}-unzip-", dir=scratch)
                folder = Path(stack.enter_context(unpacked))
                _unpack(path, folder, max_unzipped_bytes)
                before = len(found.exports)
                _walk(folder, found, path)
                if len(found.exports) == before:
                    raise InputError(f"{path}: the zip archive holds no chat export gptisyou reads")
            else:
                found.exports.append((path, detect(path)[0]))
        yield found


def _reads_itself(path: Path) -> bool:
    try:
        detect(path)
    except InputError:
        return False
    return True


def _walk(folder: Path, found: Found, shown_as: Path) -> None:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or path.is_symlink() or any(part.startswith(".") for part in relative.parts):
            continue
        if shown_as != folder:
            found.shown[path] = shown_as / relative
        if path.suffix.lower() in _SKIPPED_SUFFIXES:
            found.unknown.append(path)
            continue
        try:
            found.exports.append((path, detect(path)[0]))
        except InputError:
            found.unknown.append(path)


def _unpack(archive_path: Path, folder: Path, max_bytes: int) -> None:
    """Unpack a zip into `folder` (owner-only), refusing one larger than `max_bytes` or with unsafe paths."""
    zip_members(archive_path)  # a damaged or password-protected archive: a one-line error
    with zipfile.ZipFile(archive_path) as archive:
        members = archive.infolist()
        size = sum(member.file_size for member in members)
        if size > max_bytes:
            raise InputError(
                f"{archive_path}: unpacks to {size / 1e6:,.0f} MB, over the {max_bytes / 1e6:,.0f} MB limit "
                "(--max-unzipped-mb raises it)"
            )
        for member in members:
            target = (folder / member.filename).resolve()
            if not target.is_relative_to(folder.resolve()):
                raise InputError(f"{archive_path}: '{member.filename}' would unpack outside its folder")
        archive.extractall(folder)
