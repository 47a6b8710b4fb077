"""The portrait with names and texts a hostile or unlucky chat holds: mathematics for matplotlib, markup for rich,
direction overrides, line breaks, emoji only; and the portrait's own edge cases (minute times, few topics)."""

import json
import warnings
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gptisyou.cli import cli
from gptisyou.messages import Message
from gptisyou.plots import label
from gptisyou.portrait.build import portrait
from gptisyou.portrait.page import render
from gptisyou.sources import whatsapp_writer
from gptisyou.store import ingest
from gptisyou.store.database import Store

ANDROID = whatsapp_writer.VARIANTS_BY_NAME["android-dmy-24h"]
START = datetime(2024, 1, 1, 9)


def _chat(workspace, tmp_path, first: str, second: str, texts=lambda i: f"hello word{i % 7} number {i}", count=60):
    messages = [Message(first if i % 2 else second, START + timedelta(hours=7 * i), texts(i)) for i in range(count)]
    path = tmp_path / "chat.txt"
    whatsapp_writer.write_file(messages, path, ANDROID)
    with Store.open(workspace) as store:
        ingest.import_file(store, path)


@pytest.mark.parametrize(("name", "extra"), [("$$", ()), ("$\\sqrt{x$", ("--json",))])
def test_names_matplotlib_would_read_as_mathematics_are_drawn_as_text(workspace, tmp_path, run, name, extra):
    _chat(workspace, tmp_path, name, "Bob")
    result = run("portrait", "--as", name, *extra)
    assert result.exit_code == 0, result.output
    assert name in (json.loads(result.stdout)["persona"] if extra else result.stdout)


def test_rich_markup_in_names_is_shown_as_it_is(workspace, tmp_path, run):
    _chat(workspace, tmp_path, "Evil[/dim]", "Bob [he/him]")
    result = run("portrait", "--as", "Evil[/dim]", "--with", "Bob [he/him]")
    assert result.exit_code == 0, result.output
    assert "Evil[/dim] wrote 30 messages" in result.stdout
    assert "Bob [he/him] wrote 30" in result.stdout


def test_an_unclosed_override_in_a_name_turns_nothing_around(workspace, tmp_path, run):
    evil = "Eve\u202e"
    lines = [
        {
            "sender": evil if i % 2 else "Bob\nSmith",
            "timestamp": f"{START + timedelta(hours=7 * i):%Y-%m-%dT%H:%M:%S}",
            "text": f"hello word{i % 7} number {i}",
        }
        for i in range(60)
    ]
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert run("import", path).exit_code == 0
    with Store.open(workspace) as store:
        facts = portrait(store, evil)
    page = render(facts)
    assert "\u202e" not in page
    assert "<bdi>Eve</bdi>" in page
    assert "\u2068Eve\u2069 wrote 30 messages" in page  # the sentence's name isolated, its figures untouched
    result = run("portrait", "--as", evil)
    assert result.exit_code == 0, result.output
    assert "Eve wrote 30 messages" in result.stdout  # the override is left out of the sentences
    assert "Eve\\u202e" in result.stdout  # and shown, never obeyed, where the name stands alone
    assert "\u202e" not in result.stdout
    assert "Bob\\nSmith wrote 30" in result.stdout
    assert not any(line.startswith("Smith") for line in result.stdout.splitlines())  # a name's break breaks no line


def test_emoji_are_drawn_by_name_without_glyph_warnings(workspace, tmp_path):
    _chat(workspace, tmp_path, "Ann", "Bob", texts=lambda i: "😂🎉" if i % 3 else "🥲")
    with Store.open(workspace) as store:
        facts = portrait(store, "Ann")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font(s)" was one warning per emoji
        render(facts)
    assert label("ok 🥲") == "ok [smiling face with tear]"
    assert label("$x$") == "$x$"


def test_minute_times_answer_within_the_minute(workspace, tmp_path, run):
    # replies 20 s apart, written to the minute as WhatsApp does: most within the same minute
    messages = [Message("Ann" if i % 2 else "Bob", START + timedelta(seconds=20 * i), f"quick {i}") for i in range(40)]
    path = tmp_path / "chat.txt"
    whatsapp_writer.write_file(messages, path, ANDROID)
    with Store.open(workspace) as store:
        ingest.import_file(store, path)
        facts = portrait(store, "Ann")
    assert facts["times_to_the_minute"]
    result = run("portrait", "--as", "Ann")
    assert "Ann answers within the minute (median), Bob within the minute." in result.stdout
    from gptisyou.portrait.said import duration

    assert (duration(0.0, to_the_minute=True), duration(0.5)) == ("within the minute", "30 s")


NAMES = st.text(st.sampled_from('ab $\\[]/"“„«»:{}^_\u202e\u2066\u2069\u200f\n🥲😂'), min_size=1, max_size=8).filter(
    lambda name: name.strip() and name == name.strip()
)


@settings(max_examples=3, deadline=None)  # a page of plots each: seconds
@given(first=NAMES, second=NAMES)
def test_any_two_names_make_a_portrait_a_page_and_a_summary(tmp_path_factory, first, second):
    assume(first != second)
    folder = tmp_path_factory.mktemp("names")
    lines = [
        {
            "sender": first if i % 2 else second,
            "timestamp": f"{START + timedelta(hours=7 * i):%Y-%m-%dT%H:%M:%S}",
            "text": f"hello word{i % 7} {first} number {i}",
        }
        for i in range(40)
    ]
    path = folder / "chat.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    runner = CliRunner()
    home = {"GPTISYOU_HOME": str(folder / "workspace")}
    assert runner.invoke(cli, ["import", str(path)], env=home, catch_exceptions=False).exit_code == 0
    result = runner.invoke(cli, ["portrait", "--as", first], env=home, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "\u202e" not in result.stdout


def test_topics_missing_for_want_of_shared_words_say_so(workspace, tmp_path):
    _chat(workspace, tmp_path, "Ann", "Bob", texts=lambda i: f"unique{i}", count=400)  # 12+ conversations
    with Store.open(workspace) as store:
        facts = portrait(store, "Ann")
    assert facts["conversations"] >= 12
    assert facts["topics"] == []
    assert facts["topics_missing"].startswith(f"No topics: the {facts['conversations']:,} conversations share too few")
    assert not any("too few to find topics in" in note for note in facts["notes"])


def test_a_page_into_a_missing_folder_is_one_line(workspace, tmp_path, run):
    _chat(workspace, tmp_path, "Ann", "Bob")
    result = run("portrait", "--as", "Ann", "-o", tmp_path / "nowhere" / "ann.html")
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"Error: {tmp_path / 'nowhere' / 'ann.html'}: the folder {tmp_path / 'nowhere'} does not exist\n"
    )


def test_with_the_persona_themself_is_refused(workspace, tmp_path, run):
    _chat(workspace, tmp_path, "Ann", "Bob")
    result = run("portrait", "--as", "Ann", "--with", "Ann")
    assert result.exit_code != 0
    assert "--with Ann: that is whom the portrait is of" in result.stderr
