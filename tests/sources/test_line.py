"""LINE's .txt exports, English and Japanese, 24- and 12-hour: every message, sender, time, text and kind."""

from datetime import datetime

import pytest

from gptisyou.sources import detect, lineapp
from gptisyou.sources.textfile import TextSource
from gptisyou.store.database import Store

ENGLISH = '''\ufeff[LINE] Chat history with Alice
Saved on: 2024/01/10, 21:05

2024/01/05(Fri)
09:15\tAlice\tGood morning
09:16\tBob\t"Hi
how are you?
She said ""fine"""
09:17\tAlice\t[Sticker]
09:18\tBob\t[Photo]
09:19\tAlice unsent a message.
21:00\tBob\tsee you

2024/01/06(Sat)
00:05\tAlice\tgood night
'''

JAPANESE = """[LINE] アリスとのトーク履歴
保存日時\uff1a2024/01/10 21:05

2024.01.05 金曜日
午前9:15\tアリス\tおはよう
午後1:05\tボブ\t[スタンプ]
午後11:59\tアリス\tメッセージの送信を取り消しました
"""

TWELVE_HOUR = """Fri, 01/05/2024
9:15 AM\tAlice\tmorning
12:30 PM\tBob\tlunch?
12:05 AM\tAlice\tlate one
"""


def _read(tmp_path, text: str, name: str = "[LINE] Chat with Alice.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path, list(lineapp.parse(TextSource(path)))


def test_an_english_export_reads_exactly(tmp_path):
    path, messages = _read(tmp_path, ENGLISH)
    assert detect(path)[0] == "line"
    assert [(m.sender, m.timestamp, m.text, m.kind) for m in messages] == [
        ("Alice", datetime(2024, 1, 5, 9, 15), "Good morning", "text"),
        ("Bob", datetime(2024, 1, 5, 9, 16), 'Hi\nhow are you?\nShe said "fine"', "text"),
        ("Alice", datetime(2024, 1, 5, 9, 17), "[Sticker]", "media"),
        ("Bob", datetime(2024, 1, 5, 9, 18), "[Photo]", "media"),
        ("Alice", datetime(2024, 1, 5, 9, 19), "Alice unsent a message.", "deleted"),
        ("Bob", datetime(2024, 1, 5, 21, 0), "see you", "text"),
        ("Alice", datetime(2024, 1, 6, 0, 5), "good night", "text"),
    ]
    assert [m.line for m in messages] == [5, 6, 9, 10, 11, 12, 15]
    assert {m.source for m in messages} == {"line"}


def test_a_japanese_export_reads_its_dates_clock_and_kinds(tmp_path):
    path, messages = _read(tmp_path, JAPANESE, "[LINE] アリスとのトーク.txt")
    assert detect(path)[0] == "line"
    assert [(m.sender, m.timestamp, m.kind) for m in messages] == [
        ("アリス", datetime(2024, 1, 5, 9, 15), "text"),
        ("ボブ", datetime(2024, 1, 5, 13, 5), "media"),
        ("アリス", datetime(2024, 1, 5, 23, 59), "deleted"),
    ]


def test_a_twelve_hour_export_without_a_title(tmp_path):
    path, messages = _read(tmp_path, TWELVE_HOUR, "chat.txt")
    assert detect(path)[0] == "line"
    assert [m.timestamp.time().isoformat() for m in messages] == ["09:15:00", "12:30:00", "00:05:00"]


def test_import_names_the_chat_adds_nothing_the_second_time(run, tmp_path, workspace):
    path = tmp_path / "[LINE] Chat with Alice.txt"
    path.write_text(ENGLISH, encoding="utf-8")
    first = run("import", path)
    assert first.exit_code == 0, first.output
    assert run("import", path).exit_code == 0
    with Store.open(workspace) as store:
        assert [(chat.title, chat.messages) for chat in store.chats()] == [("Alice", 7)]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("09:15\tAlice\thi\n", 2, "a message before the first date line"),
        ("2024/13/05(Fri)\n09:15\tAlice\thi\n", 2, "'2024/13/05(Fri)' is not a date"),
        ("2024/01/05(Fri)\n25:15\tAlice\thi\n", 3, "'25:15' is not a time"),
    ],
)
def test_a_damaged_export_is_one_line_naming_the_line_and_stores_nothing(run, tmp_path, workspace, text, line, reason):
    path = tmp_path / "chat.txt"
    path.write_text("[LINE] Chat history with Alice\n" + text, encoding="utf-8")
    result = run("import", path)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == f"Error: {path}:{line}: {reason}"
    with Store.open(workspace) as store:
        assert store.chats() == []
