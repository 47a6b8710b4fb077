"""The portrait, checked against small chats whose answers are known by hand."""

import json
import random
from datetime import datetime, timedelta

import pytest

from gptisyou.errors import InputError
from gptisyou.messages import Message
from gptisyou.portrait import voice
from gptisyou.portrait.build import portrait
from gptisyou.portrait.page import render
from gptisyou.portrait.said import glance
from gptisyou.sources import whatsapp_writer
from gptisyou.store import ingest
from gptisyou.store.database import Store

ANDROID = whatsapp_writer.VARIANTS_BY_NAME["android-dmy-24h"]
MONDAY = datetime(2024, 1, 1)


def _import(workspace, tmp_path, messages: list[Message], name: str = "WhatsApp Chat with Bob.txt") -> Store:
    path = tmp_path / name
    whatsapp_writer.write_file(messages, path, ANDROID)
    store = Store.open(workspace)
    ingest.import_file(store, path)
    return store


def plain(text: str) -> str:
    """A sentence without the isolates around its names."""
    return text.replace("\u2068", "").replace("\u2069", "")


def _by_hand() -> list[Message]:
    at = lambda day, hour, minute: MONDAY + timedelta(days=day, hours=hour, minutes=minute)  # noqa: E731
    return [
        Message("Ann", at(0, 9, 0), "hello there"),
        Message("Ann", at(0, 9, 1), "how are you"),
        Message("Bob", at(0, 9, 5), "fine thanks 😀"),
        Message("Ann", at(0, 9, 15), "great!!"),
        Message("Bob", at(1, 20, 0), "hey"),
        Message("Ann", at(1, 20, 30), "hi bob"),
    ]


def test_every_statistic_of_a_chat_known_by_hand(workspace, tmp_path):
    with _import(workspace, tmp_path, _by_hand()) as store:
        facts = portrait(store, "Ann")
    ann, bob = facts["people"]["Ann"], facts["people"]["Bob"]
    assert facts["with"] == "Bob"
    assert facts["conversations"] == 2
    assert ann["glance"] == {
        "messages": 4,
        "share_of_messages": 0.667,
        "words": 8,
        "first": "2024-01-01",
        "last": "2024-01-02",
        "conversations": 2,
        "opened": 1,
        "opened_share": 0.5,
        "closed_share": 1.0,
        "median_reply_minutes": 20.0,
        "median_turn_words": 2,
        "mean_bubbles_per_turn": 1.333,
        "emoji_per_100_messages": 0.0,
        "media_share": 0.0,
    }
    assert (bob["glance"]["messages"], bob["glance"]["median_reply_minutes"], bob["glance"]["opened_share"]) == (
        2,
        4.0,
        0.5,
    )
    assert bob["glance"]["emoji_per_100_messages"] == 50.0
    grid = ann["rhythm"]["by_weekday_hour"]
    assert (grid[0][9], grid[1][20], sum(map(sum, grid))) == (3, 1, 4)  # Monday 9h: three, Tuesday 20h: one
    assert ann["rhythm"]["by_month"] == {"2024-01": 4}
    assert ann["rhythm"]["reply_minutes_histogram"]["≤ 15 min"] == 1  # 10 minutes
    assert ann["rhythm"]["reply_minutes_histogram"]["≤ 1 h"] == 1  # 30 minutes
    assert ann["voice"]["openers"] == []  # "hello" once: too few to call it how Ann opens
    assert ann["voice"]["habits"]["double_exclamation"] == 0.25
    assert facts["silences"] == [{"days": 1.4, "from": "2024-01-01", "to": "2024-01-02"}]
    assert any("too few for a portrait" in note for note in facts["notes"])  # 4 messages say little
    assert any("too few to find topics" in note for note in facts["notes"])


def test_the_log_odds_put_the_planted_words_first():
    rng = random.Random(1)
    shared = ["the", "a", "you", "i", "it", "ok", "yes", "no", "and", "to"]
    ann, bob = voice.Counter(), voice.Counter()
    for _ in range(400):
        voice.add(ann, " ".join(rng.choices(shared, k=6) + (["wicked"] if rng.random() < 0.3 else [])))
        voice.add(bob, " ".join(rng.choices(shared, k=6) + (["innit"] if rng.random() < 0.2 else [])))
    assert [term.text for term in voice.distinctive(ann, bob, top=1)] == ["wicked"]
    assert [term.text for term in voice.distinctive(bob, ann, top=1)] == ["innit"]
    assert "the" not in [term.text for term in voice.distinctive(ann, bob, top=5)]


def _planted_topics() -> list[Message]:
    rng = random.Random(7)
    cooking = ["recipe", "oven", "pasta", "garlic", "sauce", "bake", "dinner", "onions"]
    football = ["match", "goal", "referee", "league", "striker", "penalty", "season", "coach"]
    filler = ["today", "really", "think", "maybe", "yeah"]
    messages = []
    start = datetime(2023, 1, 1, 18)
    for day in range(80):
        words = cooking if day % 2 else football
        for turn in range(6):
            text = " ".join(rng.choices(words, k=4) + rng.choices(filler, k=2))
            messages.append(Message("Ann" if turn % 2 else "Bob", start + timedelta(days=day, minutes=turn), text))
    return messages


def test_topics_recover_two_planted_topics(workspace, tmp_path):
    with _import(workspace, tmp_path, _planted_topics()) as store:
        facts = portrait(store, "Ann")
    found = [set(topic["words"]) for topic in facts["topics"]]
    cooking, football = {"recipe", "oven", "pasta", "garlic", "sauce"}, {"match", "goal", "referee", "league"}
    assert any(len(words & cooking) >= 3 and not words & football for words in found)
    assert any(len(words & football) >= 3 and not words & cooking for words in found)
    assert all(topic["examples"] and topic["by_time"] for topic in facts["topics"])
    assert facts["topic_axis"] == "week"  # 80 days
    assert facts["languages"][0]["language"] == "en"


def test_topics_recover_four_planted_topics_with_phrase_labels_over_days(workspace, tmp_path):
    rng = random.Random(3)
    planted = {
        "pets": [
            "puppy",
            "vet",
            "leash",
            "kibble",
            "walkies",
            "fetch",
            "collar",
            "paws",
            "groomer",
            "treats",
            "kitten",
            "litter",
        ],
        "school": [
            "homework",
            "teacher",
            "exam",
            "algebra",
            "locker",
            "recess",
            "essay",
            "grades",
            "biology",
            "semester",
            "quiz",
            "detention",
        ],
        "church": [
            "sermon",
            "choir",
            "pastor",
            "hymn",
            "bible",
            "prayer",
            "worship",
            "chapel",
            "baptism",
            "gospel",
            "deacon",
            "psalm",
        ],
        "games": [
            "minecraft",
            "console",
            "level",
            "controller",
            "respawn",
            "multiplayer",
            "xbox",
            "quest",
            "loot",
            "server",
            "skins",
            "boss",
        ],
    }
    messages, start = [], datetime(2023, 3, 1, 9)
    for day in range(40):  # under two months: a daily axis
        for number, (_, words) in enumerate(planted.items()):
            for turn in range(45 if number == 0 else 8):  # the first topic's conversations are cut in stretches
                text = " ".join(rng.choices(words, k=3) + rng.choices(["ok", "so", "well"], k=1))
                at = start + timedelta(days=day, hours=5 * number, minutes=turn)
                messages.append(Message("Ann" if turn % 2 else "Bob", at, text))
    with _import(workspace, tmp_path, messages) as store:
        facts = portrait(store, "Ann")
    assert 4 <= len(facts["topics"]) <= 15
    for name, words in planted.items():
        assert any(set(topic["label"].replace(" · ", " ").split()) <= set(words) for topic in facts["topics"]), name
    assert facts["topic_axis"] == "day"
    topic = facts["topics"][0]
    assert (topic["first"], topic["last"]) == ("2023-03-01", "2023-04-09")
    assert len(topic["label"].split(" · ")) == 3


def test_a_group_chat_and_a_one_sided_chat(workspace, tmp_path):
    start = datetime(2024, 2, 1, 10)
    group = [
        Message(
            ("Ann", "Bob", "Cy")[i % 3], start + timedelta(minutes=i), f"line {i} from {('Ann', 'Bob', 'Cy')[i % 3]}"
        )
        for i in range(60)
    ]
    with _import(workspace, tmp_path, group, "WhatsApp Chat with Trip.txt") as store:
        facts = portrait(store, "Cy", with_name="Ann")
        assert set(facts["people"]) == {"Cy", "Ann"}
        assert facts["people"]["Cy"]["glance"]["messages"] == 20
        lonely = [Message("Ann", start + timedelta(days=i), f"note to self {i}") for i in range(30)]
        path = tmp_path / "WhatsApp Chat with Notes.txt"
        whatsapp_writer.write_file(lonely, path, ANDROID)
        ingest.import_file(store, path)
        both = portrait(store, "Ann")
        assert both["people"]["Ann"]["glance"]["messages"] == 50
        with pytest.raises(InputError, match=r"^--with Ann: that is whom the portrait is of"):
            portrait(store, "Ann", with_name="Ann")


def test_a_group_chat_shows_who_answers_whom(workspace, tmp_path):
    start, messages = datetime(2024, 2, 1, 10), []
    for i in range(30):  # Ann speaks, Cy answers her; then Bob, whom Ann answers
        at = start + timedelta(hours=i)
        said = (("Ann", 0, "news?"), ("Cy", 1, "none"), ("Bob", 30, "hello"), ("Ann", 31, "hi"))
        messages += [Message(name, at + timedelta(minutes=minute), text) for name, minute, text in said]
    with _import(workspace, tmp_path, messages, "WhatsApp Chat with Trip.txt") as store:
        facts = portrait(store, "Ann")
    group = facts["group"]
    assert group["members"] == ["Ann", "Cy", "Bob"]  # by messages written
    answers = dict(zip(group["members"], group["answers"], strict=True))
    assert answers["Cy"] == [1.0, 0.0, 0.0]  # Cy answers Ann, always
    assert answers["Ann"] == [0.0, 0.0, 1.0]  # Ann answers Bob within ten minutes; Cy's "none" she lets be
    assert plain(group["lines"][1]).startswith("Cy: ")
    assert plain(group["lines"][1]).endswith("answers Ann most.")
    assert "<h2>Who answers whom</h2>" in render(facts)


def test_a_chat_of_one_person_gets_no_phantom_partner(workspace, tmp_path, run):
    lonely = [Message("Ann", MONDAY + timedelta(days=i), f"note to self {i}") for i in range(30)]
    with _import(workspace, tmp_path, lonely, "WhatsApp Chat with Notes.txt") as store:
        facts = portrait(store, "Ann")
    assert (facts["with"], list(facts["people"])) == (None, ["Ann"])
    assert (
        plain(glance(facts)[0])
        == "Ann wrote 30 messages (120 words) from 2024-01-01 to 2024-01-30; nobody else wrote in these chats."
    )
    assert "You" not in render(facts)
    result = run("portrait", "--as", "Ann")
    assert result.exit_code == 0, result.output
    assert "You" not in result.output


def test_the_cli_writes_a_private_page_prints_json_and_refuses_to_overwrite(run, workspace, tmp_path):
    with _import(workspace, tmp_path, _planted_topics()):
        pass
    page = tmp_path / "ann.html"
    result = run("portrait", "--as", "Ann", "-o", page, "--json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    assert facts["persona"] == "Ann"
    assert oct(page.stat().st_mode & 0o777) == "0o600"
    html = page.read_text()
    for heading in ("At a glance", "Rhythm", "Voice", "What you talked about"):
        assert heading in html
    assert html.count("data:image/png;base64,") >= 5
    assert "http://" not in html
    assert "https://" not in html
    again = run("portrait", "--as", "Ann", "-o", page)
    assert again.exit_code == 2
    assert "exists already" in again.stderr
    summary = run("portrait", "--as", "Ann")
    assert "opened" in summary.stdout
    assert (workspace / "portrait-Ann.html").exists()


def test_redact_hides_numbers_and_third_parties_in_every_quote(workspace, tmp_path):
    start = datetime(2024, 3, 1, 9)
    messages = []
    for day in range(30):
        messages += [
            Message("Bob", start + timedelta(days=day), f"call Dave Okafor on +44 7911 123456 about dinner {day}"),
            Message("Ann", start + timedelta(days=day, minutes=1), f"ok Dave Okafor dinner {day}"),
            Message("Dave Okafor", start + timedelta(days=day, minutes=2), "hi all"),
        ]
    with _import(workspace, tmp_path, messages, "WhatsApp Chat with Trip.txt") as store:
        facts = portrait(store, "Ann", with_name="Bob", redact=True)
    dumped = json.dumps(facts, ensure_ascii=False)
    assert "7911" not in dumped
    assert "okafor" not in dumped.lower()
    assert "Bob" in dumped


@pytest.mark.parametrize("persona", ["Nobody"])
def test_an_unknown_person_is_a_one_line_error(run, workspace, tmp_path, persona):
    with _import(workspace, tmp_path, _by_hand()):
        pass
    result = run("portrait", "--as", persona)
    assert result.exit_code == 2
    assert "no participant 'Nobody'" in result.stderr


def test_the_clone_beside_the_person_says_the_largest_differences(workspace, tmp_path):
    from tests.conftest import fake_trained_run

    samples = [
        {
            "context": [],
            "real": f"haha yes {n} 😀",
            "tuned": f"Well, I think that on day {n} we might have gone to the market together, do you remember it?",
            "base": f"Hello {n}.",
        }
        for n in range(12)
    ]
    with _import(workspace, tmp_path, _by_hand()) as store:
        fake_trained_run(workspace, "Ann", samples)
        facts = portrait(store, "Ann")
    beside = facts["clone"]
    assert beside["replies"] == 12
    assert beside["stats"]["real"]["median_words"] == 4
    assert beside["stats"]["tuned"]["median_words"] == 19
    differences = [plain(line) for line in beside["differences"]]
    assert differences[0] == "the clone's replies are 4.8 times as long as Ann's (19 words against 4)"
    assert "100% of the clone's replies are questions, 0% of Ann's" in differences
    assert any("Ann writes “haha”" in line and "the clone never does" in line for line in differences)


def _planted(days: int = 30) -> list[Message]:
    """Ann starts every conversation at 3 am, in long lower-case questions; Bob answers hours later, in one
    capitalised word, and has the last word."""
    messages = []
    for day in range(days):
        at = MONDAY + timedelta(days=day, hours=3)
        messages += [
            Message("Ann", at, "hey are you up? what are you doing tonight? i was thinking we could go out maybe"),
            Message("Bob", at + timedelta(hours=3, minutes=30), "Sure."),
            Message("Ann", at + timedelta(hours=3, minutes=31), "ok cool see you then"),
            Message("Bob", at + timedelta(hours=3, minutes=32), "Bye."),
        ]
    return messages


def test_observations_state_the_planted_differences_with_their_figures(workspace, tmp_path):
    with _import(workspace, tmp_path, _planted()) as store:
        facts = portrait(store, "Ann")
    ann = [plain(line) for line in facts["observations"]["Ann"]]
    bob = [plain(line) for line in facts["observations"]["Bob"]]
    assert "Ann is the one who starts conversations: 100% of them, against 0% for Bob." in ann
    assert "Ann asks more questions: 50% of their messages ask something, against 0% of Bob's." in ann
    assert "Ann writes longer turns: typically 11 words, against 1 for Bob." in ann
    assert "Ann answers fast: 1 min (median), against 1.8 h for Bob." in ann
    assert "Ann is the night owl: 50% of their messages are written between midnight and 5 am, Bob's 0%." in ann
    assert "Ann writes in lower case: 100% of their messages, against 0% of Bob's." in ann
    assert "Bob usually has the last word: they end 100% of your conversations, Ann 0%." in bob
    assert "Bob seldom starts a conversation: 0% of them, against 100% for Ann." in bob
    assert not any("emoji" in line or "weekend" in line for line in ann + bob)  # nobody differs there


def test_equal_behaviour_and_too_few_messages_say_nothing(workspace, tmp_path):
    same = []
    for day in range(30):
        at = MONDAY + timedelta(days=day, hours=12)
        first, second = ("Ann", "Bob") if day % 2 else ("Bob", "Ann")
        same.append(Message(first, at, "how was your day?"))
        same.append(Message(second, at + timedelta(minutes=2), "good, yours?"))
        same.append(Message(first, at + timedelta(minutes=4), "good, thanks"))
    with _import(workspace, tmp_path, same) as store:
        assert portrait(store, "Ann")["observations"] == {"Ann": [], "Bob": []}
    few = tmp_path / "few"
    few.mkdir()
    with _import(workspace / "few", few, _planted(days=4)) as store:  # 8 messages each: below the threshold
        assert portrait(store, "Ann")["observations"] == {"Ann": [], "Bob": []}


def test_ask_personality_answers_with_the_observations(run, workspace, tmp_path):
    _import(workspace, tmp_path, _planted()).close()
    result = run("ask", "--as", "Ann", "--preset", "personality")
    assert result.exit_code == 0, result.output
    assert "Ann is the one who starts conversations: 100% of them, against 0% for Bob." in plain(result.output)


def test_tone_finds_the_planted_warm_and_tense_conversations_and_how_it_changed(workspace, tmp_path):
    warm = ["i love you so much", "thank you, this is wonderful", "that is so sweet, you are the best", "haha amazing"]
    tense = ["i hate this", "you are so annoying", "this is terrible and unfair", "stop it, i am angry"]
    messages = []
    for day in range(12):
        lines = warm if day < 6 else tense
        for turn in range(10):
            at = MONDAY + timedelta(days=day, hours=18, minutes=turn)
            messages.append(Message("Ann" if turn % 2 else "Bob", at, f"{lines[turn % 4]} and the weekend plan"))
    with _import(workspace, tmp_path, messages) as store:
        facts = portrait(store, "Ann")
    tone = facts["tone"]
    assert all(entry["tone"] > 0.3 and entry["day"] <= "2024-01-06" for entry in tone["warmest"])
    assert all(entry["tone"] < -0.3 and entry["day"] >= "2024-01-07" for entry in tone["tensest"])
    assert any("hate" in line or "terrible" in line or "angry" in line for line in tone["tensest"][0]["evidence"])
    first, last = tone["change"]["people"]["Ann"]["tone"]
    assert first > 0.3 > -0.3 > last
    assert tone["by_time"]["Ann"]["2024-01-01"] > 0 > tone["by_time"]["Ann"]["2024-01-12"]  # a daily axis
    assert "<h2>Tone</h2>" in render(facts)


def test_tone_is_not_read_in_a_language_vader_does_not_know(workspace, tmp_path):
    german = "das ist gut und ich bin nicht mit dir auf dem weg"
    at = [MONDAY + timedelta(days=turn // 10, minutes=turn) for turn in range(60)]
    messages = [Message("Ann" if turn % 2 else "Bob", at[turn], german) for turn in range(60)]
    with _import(workspace, tmp_path, messages) as store:
        facts = portrait(store, "Ann")
    assert facts["tone"] is None
    assert "No tone: VADER reads English only, and these chats are in de." in facts["notes"]
