import json
import zipfile
from datetime import datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gptisyou.errors import InputError, ParseError
from gptisyou.messages import Message
from gptisyou.sources import whatsapp, whatsapp_writer
from gptisyou.sources.whatsapp_writer import VARIANTS
from tests.conftest import FIXTURES

WHATSAPP = FIXTURES / "whatsapp"
EXPECTED = json.loads((WHATSAPP / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_the_expected_messages(name):
    assert [message.to_dict() for message in whatsapp.parse(WHATSAPP / name)] == EXPECTED[name]


def test_line_numbers_point_at_each_header():
    messages = list(whatsapp.parse(WHATSAPP / "android_dmy_24h_group.txt"))
    assert [message.line for message in messages] == [1, 2, 3, 4, 6, 9, 11, 12, 13, 14, 15, 16, 18]


def test_line_that_looks_like_a_broken_header_is_reported_and_kept():
    report = whatsapp.ParseReport()
    messages = list(whatsapp.parse(WHATSAPP / "android_dmy_24h_group.txt", report=report))
    assert (report.suspicious_count, report.suspicious_lines) == (1, [10])
    assert messages[5].text.endswith("\n12/07/2017 was the last time we went")


def test_invalid_header_date_is_kept_as_text_and_reported(tmp_path):
    export = tmp_path / "chat.txt"
    export.write_text("31/01/2020, 10:00 - Ann: hi\n31/02/2020, 10:01 - Bob: no such day\n", encoding="utf-8")
    report = whatsapp.ParseReport()
    messages = list(whatsapp.parse(export, report=report))
    assert [m.text for m in messages] == ["hi\n31/02/2020, 10:01 - Bob: no such day"]
    assert report.suspicious_lines == [2]


def test_day_first_decided_by_a_day_above_12(tmp_path):
    export = tmp_path / "chat.txt"
    export.write_text("01/02/2020, 10:00 - Ann: a\n13/02/2020, 10:00 - Ann: b\n", encoding="utf-8")
    report = whatsapp.ParseReport()
    assert [m.timestamp.date().isoformat() for m in whatsapp.parse(export, report=report)] == [
        "2020-02-01",
        "2020-02-13",
    ]
    assert report.date_order == "dmy"
    assert "13/02" in report.date_order_reason


def test_zip_from_ios_holds_chat_txt_and_media(tmp_path):
    archive = tmp_path / "WhatsApp Chat - Sam Lee.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(WHATSAPP / "ios_mdy_12h_crlf_bom.txt", "_chat.txt")
        zipped.writestr("00000012-PHOTO-2023-01-05-21-15-12.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    expected = [m.to_dict() for m in whatsapp.parse(WHATSAPP / "ios_mdy_12h_crlf_bom.txt")]
    assert [m.to_dict() for m in whatsapp.parse(archive)] == expected
    assert whatsapp.chat_title(archive) == "Sam Lee"


def test_zip_from_android_holds_a_named_chat_file(tmp_path):
    archive = tmp_path / "WhatsApp Chat with Kim.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("IMG-20191123-WA0001.jpg", b"\xff\xd8")
        zipped.writestr("notes.txt", "just a note, no chat here\n")
        zipped.write(WHATSAPP / "android_us_12h_4digit.txt", "WhatsApp Chat with Kim.txt")
    assert len(list(whatsapp.parse(archive))) == 5


@pytest.mark.parametrize(
    ("file_name", "title"),
    [
        ("WhatsApp Chat with Alex.txt", "Alex"),
        ("WhatsApp Chat with Alex (2).txt", "Alex"),
        ("WhatsApp Chat - Team 🚲.zip", "Team 🚲"),
        ("WhatsApp Chat mit Mia.txt", "Mia"),
        ("_chat.txt", "_chat"),
    ],
)
def test_chat_title_from_file_name(file_name, title):
    assert whatsapp.chat_title(file_name) == title


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\n  \n", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (b"Dear diary,\ntoday was fine.\n", "text before the first message header"),
    ],
)
def test_bad_input_is_one_line_error(tmp_path, content, message):
    path = tmp_path / "input.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as error:
        list(whatsapp.parse(path))
    assert "\n" not in str(error.value)
    assert str(path) in str(error.value)


def test_zip_without_a_chat_is_an_input_error(tmp_path):
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("IMG-0001.jpg", b"\xff\xd8")
    with pytest.raises(InputError, match="holds no WhatsApp chat"):
        list(whatsapp.parse(archive))


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "chat.txt"
    path.write_bytes(b"01/02/2020, 10:00 - Ann: a\n01/02/2020, 10:01 - Ann: b\xff\xfe\n")
    with pytest.raises(ParseError, match=r"chat.txt:2: not UTF-8 text"):
        list(whatsapp.parse(path))


def test_large_export_streams_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr("gptisyou.sources.textfile.CHUNK_BYTES", 64)  # every message crosses a chunk boundary
    messages = list(whatsapp.parse(WHATSAPP / "android_dmy_24h_group.txt"))
    assert [m.to_dict() for m in messages] == EXPECTED["android_dmy_24h_group.txt"]
    crlf = list(whatsapp.parse(WHATSAPP / "ios_mdy_12h_crlf_bom.txt"))
    assert [m.to_dict() for m in crlf] == EXPECTED["ios_mdy_12h_crlf_bom.txt"]


# --- round trip: random messages rendered in every variant parse back equal ----------------------------------

_SENDERS = st.sampled_from(
    [
        "Alex",
        "Sam Lee",
        "+44 7700 900123",
        "Dr:Who",
        "Zoë 🌀",
        "~ Maria",
        "José-Luis",
        "李雷",
        'Bob "the builder"',
        '"Dana: Scully"',
        "Ann [she/her]",
        "Evil[/dim]",
        "$$",
        "$\\sqrt{x$",
        "Eve\u202eX",
        "«Jo» 🎉",
    ]
)
_LINE = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\u200e\u200f\ufeff"),
    max_size=40,
)
_SYSTEM_LINES = st.sampled_from(
    ["You created group “Trip”", "Alex added Sam", "Sam left", "You changed this group's icon"]
)
_MEDIA = st.sampled_from(["<Media omitted>", "image omitted", "<Médias omis>", "<Medien ausgeschlossen>"])
_DELETED = st.sampled_from(["This message was deleted", "You deleted this message", "Mensagem apagada"])


@st.composite
def _messages(draw, variant):
    count = draw(st.integers(1, 6))
    times = draw(st.lists(st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)), min_size=count, max_size=count))
    messages = []
    for timestamp in sorted(times):
        timestamp = timestamp.replace(microsecond=0, second=timestamp.second if variant.seconds else 0)
        kind = draw(st.sampled_from(["text", "text", "text", "media", "deleted", "system"]))
        if kind == "system":
            messages.append(Message(None, timestamp, draw(_SYSTEM_LINES), "system"))
        elif kind == "media":
            messages.append(Message(draw(_SENDERS), timestamp, draw(_MEDIA), "media"))
        elif kind == "deleted":
            messages.append(Message(draw(_SENDERS), timestamp, draw(_DELETED), "deleted"))
        else:
            lines = draw(st.lists(_LINE, min_size=1, max_size=3))
            text = "\n".join(lines).rstrip()
            assume(text == text.lstrip("\n") and all(not whatsapp.HEADER.match(line) for line in lines))
            edited = draw(st.booleans())
            messages.append(Message(draw(_SENDERS), timestamp, text, "text", edited=edited))
    return messages


def _classifies_as_text(message: Message) -> bool:
    """Whether the text reads back as written: one that is or ends with an edited marker ("<mensagem editada>")
    is, by WhatsApp's own format, an edited message, and Hypothesis draws such strings from the readers' source."""
    from gptisyou.sources import whatsapp_phrases

    return message.kind != "text" or whatsapp_phrases.classify(message.text) == ("text", None, message.text, False)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: variant.name)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_round_trip_in_every_variant(tmp_path_factory, variant, data):
    messages = data.draw(_messages(variant))
    assume(all(map(_classifies_as_text, messages)))
    path = tmp_path_factory.mktemp("round") / "chat.txt"
    whatsapp_writer.write_file(messages, path, variant)
    parsed = list(whatsapp.parse(path, date_order=variant.date_order))
    mark = "\u200e" if variant.ios else ""

    def comparable(message: Message) -> tuple:
        text = message.text.removeprefix(mark) if message.kind in ("media", "deleted") else message.text
        return message.sender, message.timestamp, text, message.kind, message.edited

    assert [comparable(m) for m in parsed] == [comparable(m) for m in messages]


def test_a_message_of_many_megabytes_parses_in_linear_time(tmp_path):
    import signal

    body = "\n".join(f"line {i} of a very long message" for i in range(300_000))  # 9 MB
    path = tmp_path / "chat.txt"
    path.write_text(f"01/02/2023, 10:00 - Ann: start\n{body}\n01/02/2023, 10:01 - Bob: ok\n", encoding="utf-8")

    def quadratic(*_):
        raise AssertionError("still parsing after 60 s: continuation lines cost more than their length")

    previous = signal.signal(signal.SIGALRM, quadratic)
    signal.alarm(60)  # linear: about a second; quadratic, as it was: minutes
    try:
        messages = list(whatsapp.parse(path))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert [message.text for message in messages] == [f"start\n{body}", "ok"]


def _zipped_chat(tmp_path, text: str):
    archive = tmp_path / "WhatsApp Chat with Bob.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("WhatsApp Chat with Bob.txt", text)
    return archive


def test_a_zip_that_unpacks_beyond_the_limit_is_refused(tmp_path):
    lines = "".join(f"01/02/2023, 10:{i % 60:02d} - Ann: {'x' * 100}\n" for i in range(25_000))  # 2.8 MB, zips small
    archive = _zipped_chat(tmp_path, lines)
    assert archive.stat().st_size < 100_000
    with pytest.raises(InputError, match=r"unpacks to 3 MB, over the 1 MB limit \(--max-unzipped-mb raises it\)"):
        list(whatsapp.parse(archive, max_unzipped_bytes=1_000_000))
    assert len(list(whatsapp.parse(archive))) == 25_000


def test_a_password_protected_zip_says_so(tmp_path):
    archive = _zipped_chat(tmp_path, "01/02/2023, 10:00 - Ann: hi\n")
    data = bytearray(archive.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # mark the entry encrypted
        at = data.find(signature)
        data[at + flag_offset] |= 0x1
    archive.write_bytes(bytes(data))
    with pytest.raises(InputError, match="the zip archive is password-protected; unzip it yourself"):
        list(whatsapp.parse(archive))


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_read(tmp_path, encoding):
    path = tmp_path / "chat.txt"
    text = "01/02/2023, 10:00 - Ann: héllo 👋\n01/02/2023, 10:01 - Bob: ok\n"
    path.write_bytes(text.encode(encoding))
    assert [message.text for message in whatsapp.parse(path)] == ["héllo 👋", "ok"]


def test_an_ios_document_with_its_page_count_is_media_named_after_the_file():
    from gptisyou.sources.whatsapp_phrases import classify

    assert classify("\u200eItinerary.pdf • 3 pages \u200edocument omitted")[:2] == ("media", "Itinerary.pdf")
    assert classify("Notes.docx • document omitted")[:2] == ("media", "Notes.docx")
    # the document's page count and the file in the export: media, named after the file (it was stored as text)
    attached = "\u200eItinerary.pdf • 3 pages \u200e<attached: 00000016-Itinerary.pdf>"
    assert classify(attached)[:2] == ("media", "00000016-Itinerary.pdf")
    assert classify("Plan • <attached: 00000017-Plan.docx>")[:2] == ("media", "00000017-Plan.docx")
    assert classify("pick one • the other document omitted by mistake, sorry")[0] == "text"


def test_a_zip_of_thousands_of_text_files_is_sniffed_with_few_openings_and_a_bounded_look(tmp_path, monkeypatch):
    """30k members took over 100 s: the zip was reopened for every `.txt`, and every one was read."""
    from gptisyou.sources import detect

    path = tmp_path / "notes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(3_000):
            archive.writestr(f"notes/{number:05}.txt", "just a note, no chat\n")
    read, real_open = [], zipfile.ZipFile.open
    monkeypatch.setattr(
        zipfile.ZipFile, "open", lambda self, name, *a, **k: read.append(name) or real_open(self, name, *a, **k)
    )
    opened, real_init = [], zipfile.ZipFile.__init__
    monkeypatch.setattr(
        zipfile.ZipFile, "__init__", lambda self, *a, **k: opened.append(1) or real_init(self, *a, **k)
    )
    with pytest.raises(InputError, match="the zip archive holds no WhatsApp chat"):
        detect(path)
    assert len(read) <= 2 * whatsapp._ZIP_MEMBERS_TRIED  # detect sniffs twice: as a zip, then as WhatsApp
    assert len(opened) <= 8


def test_names_with_quotes_brackets_and_quoted_colons_keep_their_messages(tmp_path):
    path = tmp_path / "chat.txt"
    path.write_text(
        '01/02/2023, 10:00 - Bob "the builder": hi\n'
        '01/02/2023, 10:01 - "Dana: Scully": hello: there\n'
        "01/02/2023, 10:02 - Ann [she/her]: yo\n"
        '01/02/2023, 10:03 - Alex changed the subject to "Plans: Friday"\n'
        "01/02/2023, 10:04 - Alex changed the group description to „Trip: Rome“\n",
        encoding="utf-8",
    )
    parsed = [(m.sender, m.text, m.kind) for m in whatsapp.parse(path)]
    assert parsed == [
        ('Bob "the builder"', "hi", "text"),
        ('"Dana: Scully"', "hello: there", "text"),
        ("Ann [she/her]", "yo", "text"),
        (None, 'Alex changed the subject to "Plans: Friday"', "system"),
        (None, "Alex changed the group description to „Trip: Rome“", "system"),
    ]
