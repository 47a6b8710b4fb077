"""The 41 third-party WhatsApp exports of ../shared/corpus/whatsapp must import exactly as their manifest says."""

import json
from collections import Counter

import pytest

from gptisyou.sources import whatsapp
from tests.conftest import CORPUS

MANIFEST = json.loads((CORPUS / "manifest.json").read_text()) if CORPUS.exists() else []
pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus/whatsapp is not beside the checkout")


def _summary(message) -> dict:
    fields = message.to_dict()
    return {key: fields[key] for key in ("sender", "timestamp", "text", "kind")} | {"line": message.line}


def _expected_summary(entry: dict) -> dict:
    return {key: entry[key] for key in ("sender", "timestamp", "text", "kind", "line")}


def _month_first(expected: dict) -> dict:
    """The manifest's reading with the one date read month-first instead (see the US English test below)."""
    moved = {key: dict(expected[key], timestamp="2018-03-06T13:55:00") for key in ("first", "last")}
    return expected | moved


DECIDED_OTHERWISE = {  # where the issue decides against the peer's default: the manifest lists it as an alternative
    "whatsapp-chat-parser/snippet_format12.txt": _month_first(
        next(e["expected"] for e in MANIFEST if e["file"] == "whatsapp-chat-parser/snippet_format12.txt")
    )
    if MANIFEST
    else {},
}


def test_corpus_has_41_exports():
    assert len(MANIFEST) == 41


@pytest.mark.parametrize("entry", MANIFEST, ids=[entry["file"] for entry in MANIFEST])
def test_corpus_export_matches_manifest(entry):
    expected = DECIDED_OTHERWISE.get(entry["file"], entry["expected"])
    messages = list(whatsapp.parse(CORPUS / entry["file"]))
    kinds = Counter(message.kind for message in messages)
    senders = Counter(message.sender for message in messages if message.kind != "system")

    assert len(messages) == expected["messages"]
    assert (kinds["system"], kinds["media"], kinds["deleted"]) == (
        expected["system"],
        expected["media"],
        expected["deleted"],
    )
    assert dict(senders) == expected["senders"]
    assert _summary(messages[0]) == _expected_summary(expected["first"])
    assert _summary(messages[-1]) == _expected_summary(expected["last"])
    summaries = [_summary(message) for message in messages]
    for example in expected.get("multiline_examples", []):
        assert _expected_summary(example) in summaries


# --- the manifest's ambiguities: the behaviour we chose, pinned ----------------------------------------------


def test_name_colon_without_space_is_a_message():
    messages = list(whatsapp.parse(CORPUS / "chat-miner/test_ddmmyy_24hrs.txt"))
    assert (messages[1].sender, messages[1].text, messages[1].kind) == ("John Doe", ".", "text")


def test_encryption_notice_in_the_sender_slot_is_system():
    first = next(whatsapp.parse(CORPUS / "whatstk/pokemon.txt"))
    assert (first.sender, first.kind) == (None, "system")
    assert first.text.startswith("Messages and calls are end-to-end encrypted")


def test_empty_body_is_an_empty_text_message():
    carol = [m for m in whatsapp.parse(CORPUS / "WhatsR/englishandroid24h.txt") if m.line == 36]
    assert [(m.sender, m.text, m.kind) for m in carol] == [("Carol", "", "text")]


def test_undecidable_dates_in_us_english_style_read_month_first():
    # "3/6/18, 1:55 PM": the peer reads it day-first; WhatsApp in US English writes exactly this (m/d/yy, AM/PM)
    report = whatsapp.ParseReport()
    message = next(whatsapp.parse(CORPUS / "whatsapp-chat-parser/snippet_format12.txt", report=report))
    assert message.timestamp.isoformat() == "2018-03-06T13:55:00"
    assert report.date_order == "mdy"
    assert "US English" in report.date_order_reason
    assert not report.warnings


def test_other_undecidable_dates_read_day_first_and_warn():
    report = whatsapp.ParseReport()  # "09/10/22, 10:37 p. m.": Spanish, a 12-hour clock but day-first
    message = next(whatsapp.parse(CORPUS / "chat-miner/test_unicode.txt", report=report))
    assert message.timestamp.isoformat() == "2022-10-09T22:37:00"
    assert report.date_order == "dmy"
    assert any("cannot tell whether dates are day/month or month/day" in warning for warning in report.warnings)


def test_date_order_override():
    path = CORPUS / "whatsapp-chat-parser/snippet_format12.txt"
    message = next(whatsapp.parse(path, date_order="dmy"))
    assert message.timestamp.isoformat() == "2018-06-03T13:55:00"


def test_chronology_decides_when_no_field_is_above_12():
    report = whatsapp.ParseReport()
    messages = list(whatsapp.parse(CORPUS / "whatsapp-chat-parser/short-chat.txt", report=report))
    assert [m.timestamp.date().isoformat() for m in messages[2:]] == ["2017-06-03", "2017-08-05", "2017-09-04"]
    assert report.date_order == "mdy"
    assert report.warnings == []


def test_caption_after_attachment_stays_in_the_media_message():
    last = list(whatsapp.parse(CORPUS / "whatsapp-chat-parser/snippet_attachments.txt"))[-1]
    assert (last.kind, last.attachment) == ("media", "4f2680f1db95a8454775cc2eefc95bfc.jpg")
    assert last.text.endswith("(Datei angehängt)\nDir auch frohe Ostern.")


def test_mixed_formats_and_non_contact_senders_are_kept_verbatim():
    messages = list(whatsapp.parse(CORPUS / "langchain-community/examples_whatsapp_chat.txt"))
    assert messages[3].timestamp.isoformat() == "2023-01-23T03:22:00"  # "3:22_AM"
    assert [m.sender for m in messages[4:6]] == ["~ User name 2", "~ User 2"]


def test_zip_and_text_of_the_same_chat_parse_alike():
    from_zip = list(whatsapp.parse(CORPUS / "rwhatsapp/sample.zip"))
    from_text = list(whatsapp.parse(CORPUS / "rwhatsapp/sample.txt"))
    assert from_zip == from_text
