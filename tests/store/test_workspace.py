"""The workspace directory: private from the moment anything is made, links inside it refused, risks warned of."""

import pytest

from gptisyou.errors import InputError
from gptisyou.store.workspace import ensure_private_dir
from tests.conftest import not_private


def test_every_folder_made_inside_the_workspace_is_private(workspace, loose_umask):
    workspace.mkdir(mode=0o700)
    ensure_private_dir(workspace / "runs" / "Ann" / "20260101-120000", inside=workspace)
    assert not_private(workspace) == []


def test_a_link_planted_in_the_workspace_is_not_followed(workspace, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    workspace.mkdir()
    (workspace / "runs").symlink_to(elsewhere)
    with pytest.raises(InputError, match="runs: is a link; gptisyou does not write through links in its workspace"):
        ensure_private_dir(workspace / "runs" / "Ann", inside=workspace)
    assert list(elsewhere.iterdir()) == []


def test_a_workspace_others_can_write_to_is_warned_about(run, workspace):
    workspace.mkdir()
    workspace.chmod(0o777)
    result = run("chats")
    assert result.exit_code == 0
    assert f"warning: {workspace}: other users can write to this workspace (chmod 700 it)" in result.stderr


def test_the_dataset_of_a_workspace_with_a_planted_link_is_refused(run, workspace, tmp_path):
    from gptisyou.sources import whatsapp_writer
    from tests.data.test_dataset import ANDROID, _chat

    export = tmp_path / "WhatsApp Chat with Bob.txt"
    whatsapp_writer.write_file(_chat(), export, ANDROID)
    assert run("import", export).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (workspace / "redaction").symlink_to(elsewhere)
    result = run("dataset", "--as", "Ann", "-o", tmp_path / "ann.jsonl")
    assert result.exit_code == 2
    assert "redaction: is a link" in result.stderr
    assert list(elsewhere.iterdir()) == []
    assert not (tmp_path / "ann.jsonl").exists()


def test_a_read_only_workspace_is_called_read_only(run, workspace, monkeypatch):
    """It was called "not a gptisyou workspace". (Root writes anywhere, so the test plays a read-only folder.)"""
    import os

    assert run("chats").exit_code == 0
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK and real_access(path, mode))
    result = run("chats")
    assert (result.exit_code, result.stderr) == (
        2,
        (
            f"Error: {workspace}: the workspace is read-only; gptisyou "
            "writes to it (chmod u+w, or choose another with --workspace)\n"
        ),
    )


def test_two_writers_of_one_file_at_once_leave_one_whole_text(tmp_path):
    """Two `portrait` (or `dataset -o`) runs at once shared one temporary name: one could rename the other's half."""
    import threading

    from gptisyou.store.workspace import written_whole

    path = tmp_path / "portrait.html"
    failures = []

    def write(letter: str) -> None:
        try:
            for _ in range(5):
                with written_whole(path) as file:
                    for _ in range(30):
                        file.write(letter * 50_000)
        except OSError as error:  # the other writer renamed the shared temporary file away
            failures.append(error)

    writers = [threading.Thread(target=write, args=(letter,)) for letter in "AB"]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert failures == []
    text = path.read_text()
    assert len(text) == 1_500_000
    assert len(set(text)) == 1
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [entry.name for entry in tmp_path.iterdir()] == ["portrait.html"]


def test_a_folder_built_whole_replaces_the_old_one_or_leaves_it_as_it_was(tmp_path, loose_umask):
    from gptisyou.store.workspace import built_whole

    target = tmp_path / "checkpoint"
    target.mkdir()
    (target / "old").write_text("old")

    def killed_while_writing():
        with built_whole(target) as partial:
            partial.mkdir()
            (partial / "new").write_text("half")
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        killed_while_writing()
    assert [path.name for path in target.iterdir()] == ["old"]
    with built_whole(target) as partial:
        partial.mkdir()
        (partial / "new").write_text("new")
    assert [path.name for path in target.iterdir()] == ["new"]
    assert [path.name for path in tmp_path.iterdir()] == ["checkpoint"]  # no temporary folder left behind
    assert oct(target.stat().st_mode & 0o777) == "0o700"
    assert oct((target / "new").stat().st_mode & 0o777) == "0o600"

    with built_whole(tmp_path / "adapter.gguf") as partial:  # a file too
        partial.write_bytes(b"GGUF")
    assert oct((tmp_path / "adapter.gguf").stat().st_mode & 0o777) == "0o600"
