"""`forget`: only a gptisyou workspace is deleted, links are handled on purpose, and every failure is reported."""

import os
import sqlite3

import pytest

from gptisyou.store.database import Store


@pytest.fixture
def full_workspace(workspace):
    """A workspace as commands leave it: the database, a run, an upload, a converted model, a redaction map, what
    two bridges remember."""
    Store.open(workspace).close()
    for folder in (
        "runs/Ann/20260101-120000/adapter",
        "hosted/Ann/20260101-120000",
        "models/abc",
        "redaction",
        "bridges/Ann",
        "bridges/Bob",
    ):
        (workspace / folder).mkdir(parents=True)
    (workspace / "bridges/Ann/telegram.json").write_text('{"contexts": {"42": [["Alex", "hi"]]}}')
    (workspace / "bridges/Bob/discord.json").write_text("{}")
    (workspace / "runs/Ann/20260101-120000/adapter/adapter_model.safetensors").write_bytes(b"weights")
    (workspace / "hosted/Ann/20260101-120000/train.jsonl").write_text("{}\n")
    (workspace / "redaction/Ann.json").write_text('{"Carla": "Robin"}')
    for persona in ("Ann", "Bob"):  # the portrait pages, which quote real messages
        (workspace / f"portrait-{persona}.html").write_text("<blockquote>a real message</blockquote>")
    return workspace


def test_forget_all_refuses_a_folder_that_is_not_a_workspace(run, tmp_path):
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / ".ssh").mkdir()
    (home / ".ssh/id_ed25519").write_text("secret")
    result = run("--workspace", home, "forget", "--all", "--yes")
    assert result.exit_code == 2
    assert (
        result.output
        == f"Error: {home}: not a gptisyou workspace (no workspace.db made by gptisyou); nothing was deleted\n"
    )
    assert sorted(path.name for path in home.iterdir()) == [".ssh", "Documents"]  # not even a database was made
    assert (home / ".ssh/id_ed25519").read_text() == "secret"


def test_forget_all_refuses_a_foreign_database_of_the_same_name(run, tmp_path):
    folder = tmp_path / "app"
    folder.mkdir()
    sqlite3.connect(folder / "workspace.db").execute("CREATE TABLE notes (text)").connection.close()
    assert run("--workspace", folder, "forget", "--all", "--yes").exit_code == 2
    assert (folder / "workspace.db").exists()


def test_forget_all_deletes_what_gptisyou_made_and_names_what_it_kept(run, full_workspace):
    (full_workspace / "my notes.txt").write_text("mine")
    result = run("forget", "--all", "--yes")
    assert result.exit_code == 0
    assert "kept 1 item(s) gptisyou did not make: my notes.txt" in result.output
    assert sorted(path.name for path in full_workspace.iterdir()) == ["my notes.txt"]


def test_forget_all_through_a_link_deletes_the_workspace_and_the_link(run, full_workspace, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(full_workspace)
    result = run("--workspace", link, "forget", "--all", "--yes")
    assert result.exit_code == 0
    assert not full_workspace.exists()
    assert not os.path.lexists(link)


def test_a_file_that_cannot_be_removed_is_reported_and_the_redaction_map_is_gone(run, full_workspace, monkeypatch):
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):
        if str(path).endswith("adapter_model.safetensors"):
            raise PermissionError(13, "Operation not permitted")
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    for args in (("--all",), ("--as", "Ann")):
        result = run("forget", *args, "--yes")
        assert result.exit_code == 1
        assert "Error: could not delete 1 file(s): " in result.output
        assert "adapter_model.safetensors (Operation not permitted)" in result.output
        assert "Deleted" not in result.output
        assert not (full_workspace / "redaction/Ann.json").exists()


def test_forget_a_persona_removes_its_files_only(run, full_workspace):
    (full_workspace / "runs/Bob/20260101-120000").mkdir(parents=True)
    result = run("forget", "--as", "Ann", "--yes")
    assert result.exit_code == 0
    assert not (full_workspace / "runs/Ann").exists()
    assert not (full_workspace / "hosted/Ann").exists()
    assert not (full_workspace / "redaction/Ann.json").exists()
    assert not (full_workspace / "bridges/Ann").exists()
    assert not (full_workspace / "portrait-Ann.html").exists()
    assert (full_workspace / "portrait-Bob.html").is_file()
    assert (full_workspace / "bridges/Bob/discord.json").is_file()
    assert (full_workspace / "runs/Bob/20260101-120000").is_dir()
    assert (full_workspace / "workspace.db").exists()


def test_confirming_with_standard_input_closed_is_no_consent(run, full_workspace):
    from click.testing import CliRunner

    from gptisyou.cli import cli

    result = CliRunner().invoke(cli, ["forget", "--all"], input=None)
    assert result.exit_code == 3
    assert "Error: not confirmed: nothing was deleted" in result.output
    assert (full_workspace / "workspace.db").exists()


def test_a_remote_deletion_that_fails_leaves_everything_local_and_one_that_succeeds_goes_on(full_workspace):
    from gptisyou.errors import RemoteError
    from gptisyou.store.forget import forget

    asked = []

    def failing(store, persona):
        asked.append(persona)
        return ["model ft:abc: the provider said 500"]

    with pytest.raises(RemoteError, match=r"^could not delete model ft:abc: .* \(nothing local was deleted\)$"):
        forget(full_workspace, "Ann", failing)
    assert asked == ["Ann"]
    assert (full_workspace / "redaction/Ann.json").exists()
    deletion = forget(full_workspace, "Ann", lambda store, persona: [])
    assert full_workspace / "runs" / "Ann" in deletion.removed
    assert not (full_workspace / "redaction/Ann.json").exists()
    assert (full_workspace / "bridges/Bob/discord.json").exists()
