"""The byte-level reading of JSON exports alone: keys that only look like keys, chats' fields found backwards,
and top-level fields on either side of the messages."""

import json

import pytest

from gptisyou.errors import ParseError
from gptisyou.sources import jsonsplit

PREFIX = "chats.list.item.messages.item"


def _chats(path, data: dict) -> list[tuple[dict, list[dict]]]:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    renamed = {b'"left_chats"': b'"chats"'}
    return [
        (fields, [message for _, message in messages])
        for fields, messages in jsonsplit.chat_items(path, PREFIX, 4, renamed)
    ]


def test_each_message_goes_with_its_chat_even_when_texts_look_like_keys(tmp_path):
    tricky = 'he said \\"messages\\": [ and "name": "Eve" }'
    data = {
        "about": "x",
        "chats": {
            "list": [
                {
                    "name": 'Sam "messages": {',
                    "id": 1,
                    "messages": [{"id": 1, "text": tricky}, {"id": 2, "text": "b"}],
                },
                {"name": "Empty", "id": 2, "messages": []},
                {"name": "Jo", "id": 3, "type": "personal_chat", "messages": [{"id": 3, "text": "c"}]},
            ]
        },
        "left_chats": {"list": [{"name": "Gone", "id": 4, "messages": [{"id": 4, "text": "d"}]}]},
    }
    chats = _chats(tmp_path / "result.json", data)
    assert [(fields["name"], [m["id"] for m in messages]) for fields, messages in chats] == [
        ('Sam "messages": {', [1, 2]),
        ("Jo", [3]),
        ("Gone", [4]),
    ]
    assert chats[0][1][0]["text"] == tricky
    assert chats[1][0] == {"name": "Jo", "id": 3, "type": "personal_chat"}


def test_a_chat_whose_fields_before_its_messages_are_too_long_is_named(tmp_path):
    data = {"chats": {"list": [{"name": "x" * 70_000, "messages": [{"id": 1, "text": "a"}]}]}}
    with pytest.raises(ParseError, match="chat 1: its fields before its messages take over 64 KB"):
        _chats(tmp_path / "result.json", data)


def test_top_fields_after_the_messages_and_not_those_inside_them(tmp_path):
    path = tmp_path / "message_1.json"
    data = {
        "participants": [{"name": "Sam"}, {"name": "Jo"}],
        "messages": [{"content": 'fake "title": "Not it"', "title": "nested, not top-level"}] * 3000,
        "title": "Sam and Jo",
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    fields = jsonsplit.top_fields(path, ("participants", "title", "thread_path"))
    assert fields == {"participants": [{"name": "Sam"}, {"name": "Jo"}], "title": "Sam and Jo"}


def test_a_top_field_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "message_1.json"
    path.write_text('{"messages": [], "title": tru', encoding="utf-8")
    with pytest.raises(ParseError, match="not valid JSON in its field 'title'"):
        jsonsplit.top_fields(path, ("title",))
