from datetime import datetime, timedelta

from gptisyou.data.conversations import SessionConfig, media_placeholder, split_sessions
from gptisyou.messages import Message
from gptisyou.sources import whatsapp
from tests.conftest import FIXTURES

T0 = datetime(2024, 3, 12, 9, 0)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_consecutive_messages_of_a_sender_form_one_turn_of_bubbles():
    messages = [
        Message("Ann", _at(0), "hey"),
        Message("Ann", _at(1), "you there?"),
        Message("Bob", _at(2), "yes"),
        Message("Ann", _at(3), "great\nsee you"),
    ]
    (session,) = split_sessions(messages, chat_id=1)
    assert [(turn.sender, turn.bubbles) for turn in session.turns] == [
        ("Ann", ("hey", "you there?")),
        ("Bob", ("yes",)),
        ("Ann", ("great\nsee you",)),
    ]
    assert session.turns[0].text == "hey\nyou there?"
    assert (session.turns[0].start, session.turns[0].end) == (_at(0), _at(1))
    assert (session.start, session.end, session.chat_id) == (_at(0), _at(3), 1)


def test_a_silence_of_the_gap_starts_a_new_session():
    messages = [
        Message("Ann", _at(0), "night"),
        Message("Bob", _at(4 * 60 - 1), "still up"),  # 3 h 59 min later: same session
        Message("Ann", _at(8 * 60 - 1), "morning"),  # exactly 4 h after Bob: a new one
    ]
    sessions = list(split_sessions(messages, chat_id=1))
    assert [[turn.text for turn in session.turns] for session in sessions] == [["night", "still up"], ["morning"]]
    assert len(list(split_sessions(messages, 1, SessionConfig(gap_hours=1)))) == 3


def test_system_and_deleted_messages_are_left_out():
    messages = [
        Message("Ann", _at(0), "a"),
        Message(None, _at(1), "Ann added Bob", "system"),
        Message("Ann", _at(2), "This message was deleted", "deleted"),
        Message("Ann", _at(3), "b"),
    ]
    (session,) = split_sessions(messages, chat_id=1)
    assert [turn.bubbles for turn in session.turns] == [("a", "b")]


def test_media_becomes_a_placeholder_and_media_only_turns_carry_no_words():
    messages = [
        Message(
            "Ann",
            _at(0),
            "IMG-20240313-WA0007.jpg (file attached)\nLook at this view",
            "media",
            "IMG-20240313-WA0007.jpg",
        ),
        Message("Bob", _at(1), "<Media omitted>", "media"),
        Message("Ann", _at(2), "wow"),
    ]
    (session,) = split_sessions(messages, chat_id=1)
    assert [(turn.bubbles, turn.has_words) for turn in session.turns] == [
        (("<photo> Look at this view",), False),
        (("<media>",), False),
        (("wow",), True),
    ]


def test_media_placeholders_in_several_languages():
    def placeholder(text, attachment=None):
        return media_placeholder(Message("Ann", T0, text, "media", attachment))

    assert placeholder("\u200eimage omitted") == "<photo>"
    assert placeholder("Bild weggelassen") == "<photo>"
    assert placeholder("audio omitted") == "<audio>"
    assert placeholder("vidéo absente") == "<video>"
    assert placeholder("<Médias omis>") == "<media>"
    assert placeholder("<attached: 00000012-PTT-2023.opus>", "00000012-PTT-2023.opus") == "<audio>"
    assert placeholder("x.pdf (file attached)", "x.pdf") == "<document>"


def test_sessions_of_an_imported_chat():
    messages = list(whatsapp.parse(FIXTURES / "whatsapp" / "android_dmy_24h_group.txt"))
    sessions = list(split_sessions(messages, chat_id=1))
    assert [len(session.turns) for session in sessions] == [5, 2]
    assert sessions[1].turns[0].bubbles == ("<photo> Look at this view",)
    assert sessions[1].turns[1].text == "First line\n\nafter a blank line"
