import json
import stat
from datetime import datetime, timedelta

import pytest

from gptisyou.data import formats as dataset_formats
from gptisyou.data import pricing, validate
from gptisyou.data.dataset import DatasetConfig, build, recorded_split
from gptisyou.errors import InputError
from gptisyou.messages import Message
from gptisyou.sources import whatsapp_writer
from gptisyou.store import ingest
from gptisyou.store.database import Store

ANDROID = whatsapp_writer.VARIANTS_BY_NAME["android-dmy-24h"]
START = datetime(2023, 1, 2, 9, 0)


def _chat(days: int = 12, people=("Ann", "Bob")) -> list[Message]:
    """A session a day. Every text is unique, so where a text ends up can be checked exactly; the sixth turn is
    the last person's (a third one in a group), the seventh is media only."""
    senders = ("Ann", "Bob", "Ann", "Bob", "Ann", people[-1], "Ann", "Bob", "Ann")
    messages = []
    for day in range(days):
        for index, sender in enumerate(senders):
            at = START + timedelta(days=day, minutes=3 * index)
            if index == 6:
                messages.append(Message(sender, at, "<Media omitted>", "media"))
            else:
                messages.append(Message(sender, at, f"day {day} line {index} from {sender}"))
    return messages


@pytest.fixture
def store(workspace, tmp_path):
    path = tmp_path / "WhatsApp Chat with Bob.txt"
    whatsapp_writer.write_file(_chat(), path, ANDROID)
    with Store.open(workspace) as opened:
        ingest.import_file(opened, path)
        yield opened


def _texts(record: dict, role: str | None = None) -> list[str]:
    return [m["content"] for m in record["messages"] if role is None or m["role"] == role]


def test_persona_is_the_assistant_and_only_the_assistant(store):
    data = build(store, DatasetConfig("Ann", val_fraction=0))
    records = list(dataset_formats.records(data, "openai"))
    for record in records:
        assert record["messages"][0] == {"role": "system", "content": "You are Ann. Reply as Ann would in this chat."}
        assert all("from Ann" not in text for text in _texts(record, "user"))
        assert all("from Bob" not in text for text in _texts(record, "assistant"))
    trained = [
        text for record in records for m in record["messages"] if m.get("weight") == 1 for text in [m["content"]]
    ]
    assert len(trained) == 12 * 4  # every turn of Ann with words is trained on exactly once


def test_media_only_turns_are_context_with_weight_0(store):
    data = build(store, DatasetConfig("Bob", val_fraction=0))
    contexts = [m for r in dataset_formats.records(data, "openai") for m in r["messages"] if m["content"] == "<media>"]
    assert contexts
    assert all(m["role"] == "user" for m in contexts)
    data = build(store, DatasetConfig("Ann", val_fraction=0))
    messages = dataset_formats.openai_record(data.examples[0], "Ann", False)["messages"]
    assert {"role": "assistant", "content": "<media>", "weight": 0} in messages
    assert messages[-1]["weight"] == 1  # a window never ends on a turn that is not trained on


def test_validation_period_never_appears_in_training_output(store):
    data = build(store, DatasetConfig("Ann", val_fraction=0.25, hold_out="latest"))
    held_out = {bubble for session in data.val for turn in session.turns for bubble in turn.bubbles}
    ann_held_out = [turn for session in data.val for turn in session.turns if turn.sender == "Ann" and turn.has_words]
    # at least 25 % of Ann's 48 turns; short of 5 conversations and 7 days, it grows to a third (4 whole days)
    assert len(ann_held_out) == 16
    assert len(data.val) == 4
    assert min(turn.start for turn in ann_held_out) > max(t.end for s in data.train for t in s.turns)
    for format_name in dataset_formats.FORMATS:
        written = json.dumps(list(dataset_formats.records(data, format_name)), ensure_ascii=False)
        assert not any(text in written for text in held_out if text != "<media>")


def test_the_held_out_period_spans_five_conversations_and_a_week(workspace, tmp_path):
    path = tmp_path / "WhatsApp Chat with Bob.txt"
    whatsapp_writer.write_file(_chat(days=30), path, ANDROID)
    with Store.open(workspace) as store:
        ingest.import_file(store, path)
        data = build(store, DatasetConfig("Ann", hold_out="latest"))
    # 10 % of Ann's 120 turns would be the last 3 days; a week back from the last message takes 8 conversations
    assert [session.start.day for session in data.val] == list(range(24, 32))  # January 24 to 31
    assert data.target_turns(data.val) == 32
    assert data.held_out_from == START + timedelta(days=22)


def test_a_recorded_start_and_the_rule_of_older_runs(store):
    recorded = recorded_split("Ann", None, START + timedelta(days=10))
    assert [session.start.day for session in build(store, recorded).val] == [12, 13]
    older = build(store, recorded_split("Ann", None, None, val_fraction=0.25))  # the latest 12 turns, as runs did then
    assert older.target_turns(older.val) == 12
    assert older.held_out_from == START + timedelta(days=9)


def test_the_held_out_conversations_are_spread_across_the_chat_by_default(workspace, tmp_path):
    path = tmp_path / "WhatsApp Chat with Bob.txt"
    whatsapp_writer.write_file(_chat(days=30), path, ANDROID)
    with Store.open(workspace) as store:
        ingest.import_file(store, path)
        data = build(store, DatasetConfig("Ann"))
        again = build(store, DatasetConfig("Ann"))
        other_seed = build(store, DatasetConfig("Ann", seed=1))
        recorded = build(store, recorded_split("Ann", data.held_out_keys, None))
    days = [session.start.day + 31 * (session.start.month - 1) - 1 for session in data.val]  # day 1 of the chat: 1
    # 10 % of Ann's 120 turns is 12; 5 conversations and 100 turns would pass 20 %, so it grows to 24: 6 of 30
    assert (data.hold_out, data.held_out_from, data.target_turns(data.val), len(data.val)) == ("spread", None, 24, 6)
    assert days[0] <= 6  # from the first week
    assert days[-1] >= 25  # to the last
    assert data.held_out_keys == again.held_out_keys != other_seed.held_out_keys
    assert [session.start for session in recorded.val] == [session.start for session in data.val]
    held_out = {bubble for session in data.val for turn in session.turns for bubble in turn.bubbles} - {"<media>"}
    written = json.dumps([list(dataset_formats.records(data, name)) for name in dataset_formats.FORMATS])
    assert not any(text in written for text in held_out)


def test_a_chat_with_a_few_huge_conversations_still_holds_out_whole_ones_spread_across_it(workspace, tmp_path):
    """Like the longest sample pair: one conversation holds most of the persona's turns. Drawing it would pass the
    ceiling, so its stretch gives a smaller one, and the set is still spread rather than the latest turns."""
    messages = _chat(days=20)
    huge = START + timedelta(days=9, hours=6)  # one conversation of 600 turns on day 10, a minute apart
    messages += [Message("Ann" if i % 2 else "Bob", huge + timedelta(minutes=i), f"long {i}") for i in range(1200)]
    path = tmp_path / "WhatsApp Chat with Bob.txt"
    whatsapp_writer.write_file(sorted(messages, key=lambda message: message.timestamp), path, ANDROID)
    with Store.open(workspace) as store:
        ingest.import_file(store, path)
        data = build(store, DatasetConfig("Ann"))
    total = data.target_turns(data.train) + data.target_turns(data.val)
    assert data.hold_out == "spread"
    assert all(len(session.turns) < 100 for session in data.val)  # the huge one stays in training
    assert 0.1 * total <= data.target_turns(data.val) <= 0.2 * total
    assert data.val[-1].start - data.val[0].start >= timedelta(days=10)


def _one_conversation(workspace, tmp_path, lines: int):
    """Ann's dataset from one conversation of `lines` lines, a minute apart."""
    path = tmp_path / "WhatsApp Chat with Bob.txt"
    messages = [Message("Ann" if i % 2 else "Bob", START + timedelta(minutes=i), f"line {i}") for i in range(lines)]
    whatsapp_writer.write_file(messages, path, ANDROID)
    with Store.open(workspace) as store:
        ingest.import_file(store, path)
        return build(store, DatasetConfig("Ann"))


def test_a_chat_too_small_to_spread_holds_out_its_latest_turns(workspace, tmp_path):
    data = _one_conversation(workspace, tmp_path, 40)
    assert (data.hold_out, data.target_turns(data.val)) == ("latest", 2)


def test_one_long_last_conversation_is_cut_at_a_turn(workspace, tmp_path):
    data = _one_conversation(workspace, tmp_path, 200)
    assert data.target_turns(data.train) == 90
    assert data.target_turns(data.val) == 10


def test_reply_tokens_follow_the_persona_s_longest_turns(store):
    data = build(store, DatasetConfig("Ann", val_fraction=0, redact=False))
    words = data.reply_tokens(lambda text: len(text.split()))
    assert words == 16  # turns of 6 words: the floor
    assert data.reply_tokens(lambda text: 10 * len(text.split())) == 63  # the 99th percentile, plus the turn's end
    assert data.reply_tokens(lambda text: 1000 * len(text.split())) == 512  # and a ceiling


def test_legacy_records_have_the_original_form(store):
    data = build(store, DatasetConfig("Bob", val_fraction=0, redact=False))
    first = next(dataset_formats.records(data, "legacy"))
    assert first == {
        "prompt": "Ann: day 0 line 0 from Ann\n\n###\n\n",
        "completion": " day 0 line 1 from Bob ###",
    }
    records = list(dataset_formats.records(data, "legacy"))
    assert records[1]["prompt"] == (
        "Ann: day 0 line 0 from Ann\nBob: day 0 line 1 from Bob\nAnn: day 0 line 2 from Ann\n\n###\n\n"
    )
    assert all(r["completion"].startswith(" ") and r["completion"].endswith(" ###") for r in records)


def test_local_transcripts_mark_the_spans_to_train_on(store):
    data = build(store, DatasetConfig("Bob", val_fraction=0, redact=False))
    record = next(dataset_formats.records(data, "local"))
    assert record["text"].startswith("Ann: day 0 line 0 from Ann<eot>\nBob: day 0 line 1 from Bob<eot>\n")
    spans = [record["text"][start:end] for start, end in record["targets"]]
    assert spans[:2] == [" day 0 line 1 from Bob<eot>", " day 0 line 3 from Bob<eot>"]  # from the space on


def test_same_workspace_and_options_give_byte_identical_files(store, tmp_path):
    outputs = []
    for attempt in range(2):
        path = tmp_path / f"out{attempt}.jsonl"
        data = build(store, DatasetConfig("Ann"))
        dataset_formats.write_jsonl(dataset_formats.records(data, "openai"), path)
        outputs.append(path.read_bytes())
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert outputs[0] == outputs[1]


def test_group_chat_hides_third_parties_and_names_speakers(workspace, tmp_path):
    path = tmp_path / "WhatsApp Chat with Trip.txt"
    whatsapp_writer.write_file(_chat(people=("Ann", "Bob", "Carla Diaz")), path, ANDROID)
    with Store.open(workspace) as store:
        ingest.import_file(store, path)
        data = build(store, DatasetConfig("Ann", with_people=("Bob",), val_fraction=0))
    user_texts = [t for r in dataset_formats.records(data, "openai") for t in _texts(r, "user")]
    assert any(text.startswith("Bob: ") for text in user_texts)
    assert not any("Carla" in text for text in user_texts)
    assert any(text.startswith("Robin: ") for text in user_texts)  # Carla Diaz's consistent pseudonym


def _trip(workspace, tmp_path, senders: tuple[str, ...], persona: str):
    """A group chat of ten days in which `senders` write in turn, and the persona's dataset with Bob."""
    messages = [
        Message(sender, START + timedelta(days=day, minutes=index), f"day {day} line {index} from {sender}")
        for day in range(10)
        for index, sender in enumerate(senders)
    ]
    path = tmp_path / "WhatsApp Chat with Trip.txt"
    whatsapp_writer.write_file(messages, path, ANDROID)
    with Store.open(workspace) as store:
        ingest.import_file(store, path)
        return build(store, DatasetConfig(persona, with_people=("Bob",), val_fraction=0))


def test_a_third_party_is_never_renamed_into_the_persona(workspace, tmp_path):
    # the first made-up name is "Robin": with Robin as the persona, Dave's turns must not become Robin's
    data = _trip(workspace, tmp_path, ("Bob", "Robin", "Dave Okafor", "Robin"), "Robin")
    records = list(dataset_formats.records(data, "openai"))
    assistant = [text for record in records for text in _texts(record, "assistant")]
    assert len(assistant) == 20
    assert all(text.endswith("from Robin") for text in assistant)
    assert data.redactor.mapping["Dave Okafor"] not in ("Robin", "Bob")


def test_a_third_party_sharing_the_persona_s_first_name_leaves_the_persona_alone(workspace, tmp_path):
    """Robin Jones (hidden) and Robin Smith (the persona): the persona was written under Robin Jones's pseudonym."""
    data = _trip(workspace, tmp_path, ("Bob", "Robin Smith", "Robin Jones", "Robin Smith"), "Robin Smith")
    assert data.persona == "Robin Smith"
    records = list(dataset_formats.records(data, "openai"))
    assert all(text.endswith("from Robin Smith") for r in records for text in _texts(r, "assistant"))
    assert not any("Robin Jones" in text for r in records for text in _texts(r, "user"))


def test_the_build_refuses_redaction_that_would_merge_two_people(store, monkeypatch):
    from gptisyou.data import dataset
    from gptisyou.errors import RedactionError

    monkeypatch.setattr(dataset, "_speaker", lambda name, redactor: "Ann")  # a defect that renames everyone
    with pytest.raises(RedactionError, match="the persona and another participant as 'Ann'"):
        build(store, DatasetConfig("Ann", val_fraction=0))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (DatasetConfig("Nobody"), "no participant 'Nobody' (known: Ann, Bob)"),
        (DatasetConfig("Ann", chats=(4,)), "--chat 4: Ann did not write in that chat (their chats: 1)"),
        (DatasetConfig("Ann", with_people=("Zed",)), "--with Zed: not a participant of Ann's chats"),
    ],
)
def test_bad_selection_is_an_input_error(store, config, message):
    with pytest.raises(InputError) as error:
        build(store, config)
    assert str(error.value) == message


# --- validation and cost -------------------------------------------------------------------------------------

COUNTER = pricing.token_counter()


def _write(tmp_path, rows) -> str:
    path = tmp_path / "file.jsonl"
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey", "weight": 1}]}


def test_a_dataset_we_write_is_valid(store, tmp_path):
    path = tmp_path / "ann.jsonl"
    dataset_formats.write_jsonl(
        dataset_formats.records(build(store, DatasetConfig("Ann", val_fraction=0)), "openai"), path
    )
    assert validate.problems(path, pricing.DEFAULT_MODEL, COUNTER) == []


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("{not json", "not valid JSON"),
        ({"messages": []}, "messages must be a non-empty list"),
        (
            {"messages": [{"role": "robot", "content": "x"}, GOOD["messages"][1]]},
            "role must be system, user or assistant",
        ),
        ({"messages": [{"role": "user", "content": " "}, GOOD["messages"][1]]}, "content must be non-empty text"),
        ({"messages": [{"role": "user", "content": "a", "weight": 1}, GOOD["messages"][1]]}, "weight must be 0 or 1"),
        ({"messages": [{"role": "user", "content": "a"}]}, "no assistant message to learn from"),
        ({"prompt": "a"}, "completion must be a string"),
        ({"text": "a"}, "neither a chat example"),
        (
            {"messages": [{"role": "user", "content": "word " * 70_000}, GOOD["messages"][1]]},
            "more than the model's 65,536",
        ),
    ],
)
def test_validator_rejects_bad_records_with_their_line(tmp_path, bad, problem):
    path = _write(tmp_path, [GOOD] * 10 + [bad])
    found = validate.problems(path, pricing.DEFAULT_MODEL, COUNTER)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:11: ")
    assert problem in found[0]


def test_validator_wants_ten_examples(tmp_path):
    path = _write(tmp_path, [GOOD] * 9)
    assert validate.problems(path, pricing.DEFAULT_MODEL, COUNTER) == [f"{path}: 9 examples; OpenAI needs at least 10"]


def test_cost_estimate_uses_the_price_table():
    assert pricing.training_cost_usd(1_000_000, "gpt-4o-mini-2024-07-18", epochs=3) == pytest.approx(9.0)
    assert COUNTER.record(GOOD) == 3 + (3 + COUNTER.text("hi")) + (3 + COUNTER.text("hey"))


def test_local_windows_stay_within_the_token_budget(store):
    count = pricing.token_counter().text
    data = build(store, DatasetConfig("Ann", val_fraction=0, example_tokens=40), count)
    assert len(data.examples) > 12  # a session a day no longer fits one window
    for example in data.examples:
        tokens = sum(count(f"{turn.sender}: {turn.text}") + 3 for turn in example.turns)
        assert tokens <= 40 or len(example.turns) == 1
    targets = [turn for example in data.examples for turn in example.turns if turn.sender == "Ann" and turn.has_words]
    assert len(targets) == 12 * 4  # still every turn once


def test_a_persona_whose_name_is_a_phone_number_stays_the_assistant(workspace, tmp_path):
    import phonenumbers

    number = phonenumbers.format_number(
        phonenumbers.example_number_for_type("GB", phonenumbers.PhoneNumberType.MOBILE),
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    )
    path = tmp_path / "chat.txt"
    whatsapp_writer.write_file(_chat(people=("Ann", number)), path, ANDROID)
    with Store.open(workspace) as store:
        ingest.import_file(store, path)
        data = build(store, DatasetConfig(number, with_people=("Ann",), val_fraction=0))
    assert data.persona == "[PHONE_1]"
    record = next(dataset_formats.records(data, "openai"))
    assert record["messages"][0]["content"] == "You are [PHONE_1]. Reply as [PHONE_1] would in this chat."
    assert any(m["role"] == "assistant" and m["weight"] == 1 for m in record["messages"])
    assert number not in json.dumps(record, ensure_ascii=False)
