"""import takes folders and zips of several exports: each file reported with its format, the rest listed."""

import zipfile

from tests.sources.conftest import SOURCES, needs_corpus


@needs_corpus
def test_a_folder_of_every_format_is_one_import_and_the_rest_is_listed(run, workspace):
    result = run("import", "--keep-partial", SOURCES)  # one SMS backup of the corpus breaks off
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output
    assert "README.md: not a chat export" in result.output
    chats = run("chats").output
    for source in ("telegram", "messenger", "discord", "sms", "imessage", "slack"):
        assert source in chats
    again = run("import", "--keep-partial", SOURCES)
    assert " new, " in again.output
    assert all(" 0 new" in line for line in again.output.splitlines() if "messages read" in line)


@needs_corpus
def test_a_zip_of_several_exports_is_unpacked_privately_and_walked(run, workspace, tmp_path):
    archive = tmp_path / "facebook-alex.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.write(SOURCES / "messenger/langchain-community/facebook_chat.json", "messages/inbox/bag/message_1.json")
        out.write(SOURCES / "instagram/joweich-chat-miner/testlog.json", "messages/inbox/testlog/message_1.json")
        out.writestr("messages/inbox/bag/photos/1.jpg", b"\xff\xd8")
    result = run("import", archive)
    assert result.exit_code == 0, result.output
    assert "'User 1 and User 2 chat' (new): 11 messages read" in result.output
    assert "'Test Log' (new): 13 messages read" in result.output
    assert "facebook-alex.zip/messages/inbox/bag/photos/1.jpg: not a chat export" in result.output.replace("\n", "")


def test_a_zip_that_would_unpack_outside_its_folder_is_refused(run, workspace, tmp_path):  # needs no corpus
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("../../escaped.json", "{}")
    result = run("import", archive)
    assert result.exit_code == 2
    assert "would unpack outside its folder" in result.output
    assert not (tmp_path.parent / "escaped.json").exists()
