import random

import phonenumbers
import pytest

from gptisyou.data.redact import DEFAULT_REGIONS, Redactor

TEMPLATES = [
    "Call me at {} tonight",
    "Ruf mich unter {} an, bitte!",
    "Appelle-moi au {} demain.",
    "Llámame al {} cuando puedas",
    "Liga para {} amanhã",
    "Chiamami al {} stasera",
    "Bel me op {} morgen",
    "{}",
    "here: {}.",
]
FORMATS = [
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.NATIONAL,
]


def _phones() -> list[str]:
    numbers = []
    for region in DEFAULT_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example:
                numbers += [phonenumbers.format_number(example, fmt) for fmt in FORMATS]
    return numbers


def _iban(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    check = 98 - int("".join(str(int(char, 36)) for char in rearranged)) % 97
    return f"{country}{check:02d}{bban}"


def _ibans(rng: random.Random) -> list[str]:
    layouts = {
        "DE": "n18",
        "FR": "n23",
        "ES": "n20",
        "IT": "a1n22",
        "NL": "a4n10",
        "GB": "a4n14",
        "BE": "n12",
        "CH": "n17",
    }
    ibans = []
    for country, layout in layouts.items():
        for _ in range(3):
            bban = ""
            for part in (layout.split("n")[0], "n" + layout.split("n")[1]):
                if part.startswith("a"):
                    bban += "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(int(part[1:])))
                elif part:
                    bban += "".join(rng.choice("0123456789") for _ in range(int(part[1:])))
            iban = _iban(country, bban)
            ibans += [iban, " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))]
    return ibans


def _cards(rng: random.Random) -> list[str]:
    cards = []
    for prefix, length in [("4", 16), ("51", 16), ("37", 15), ("6011", 16)] * 4:
        body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
        for check in "0123456789":
            digits = [int(c) for c in body + check]
            total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(reversed(digits)))
            if total % 10 == 0:
                number = body + check
                break
        cards += [
            number,
            " ".join(number[i : i + 4] for i in range(0, len(number), 4)),
            "-".join(number[i : i + 4] for i in range(0, len(number), 4)),
        ]
    return cards


def _emails(rng: random.Random) -> list[str]:
    users = ["maria.lopez", "j.doe+chat", "ana_silva", "tom-99", "m.rossi", "jan.de.vries", "zoe"]
    domains = ["example.com", "mail.example.de", "exemple.fr", "correo.es", "posta.it", "voorbeeld.nl"]
    return [f"{rng.choice(users)}{i}@{rng.choice(domains)}" for i in range(30)]


SEEDED = {
    "PHONE": _phones(),
    "IBAN": _ibans(random.Random(1)),
    "CARD": _cards(random.Random(2)),
    "EMAIL": _emails(random.Random(3)),
}


def test_finds_at_least_99_percent_of_seeded_personal_data():
    redactor = Redactor()
    found = total = 0
    missed = []
    for kind, values in SEEDED.items():
        for index, value in enumerate(values):
            text = TEMPLATES[index % len(TEMPLATES)].format(value)
            redacted = redactor.redact(text)
            total += 1
            if value not in redacted and f"[{kind}_" in redacted:
                found += 1
            else:
                missed.append((kind, value, redacted))
    assert total > 200
    assert found / total >= 0.99, missed


@pytest.mark.parametrize(
    "text",
    [
        "Meet at 10:30 or 21.45, ok?",
        "It costs €12.50, or 1,299.00 USD, or 12 500 000 €",
        "See you on 12/03/2024 or 2024-03-12 or 03.12.24",
        "Room 4, order #12345, 3.5 km, version 2.0.1, in 2023, 7 days",
        "Score 3-1, call at 8, I'm 25",
        "Pin 1234 and 100% sure",
    ],
)
def test_ordinary_numbers_are_left_alone(text):
    assert Redactor().redact(text) == text


def test_pseudonyms_are_consistent():
    redactor = Redactor()
    first = redactor.redact("Ring +44 20 7946 0958 or mail me: a.b@example.com")
    second = redactor.redact("new number? no, still 020 7946 0958. A.B@example.com")
    assert first == "Ring [PHONE_1] or mail me: [EMAIL_1]"
    assert second == "new number? no, still [PHONE_1]. [EMAIL_1]"
    assert redactor.redact("+49 30 1234567") == "[PHONE_2]"


def test_urls_are_replaced_whole():
    redactor = Redactor()
    assert redactor.redact("look https://maps.google.com/?q=50.94,6.95 and www.example.org/x.") == (
        "look [URL_1] and [URL_2]."
    )


def test_hidden_names_get_one_fake_name_each():
    redactor = Redactor(hidden_names=["Maria Lopez", "Tom"])
    text = redactor.redact("Maria said Tom should call Maria Lopez, not Tommy or Alex")
    assert text == "Robin said Sasha should call Robin, not Tommy or Alex"
    assert redactor.mapping == {"Maria Lopez": "Robin", "Tom": "Sasha"}


def test_a_made_up_name_is_never_a_participants_name():
    # Robin is the persona: Dave must not become "Robin", nor "Sasha" (a word of another participant's name)
    redactor = Redactor(hidden_names=["Dave Okafor"], reserved_names=["Robin", "Lee Sasha", "Dave Okafor"])
    assert redactor.redact("Dave Okafor: see you") == "Jordan: see you"
    assert redactor.mapping == {"Dave Okafor": "Jordan"}


def test_two_hidden_people_never_share_a_made_up_name():
    redactor = Redactor(hidden_names=["Ann", "Bo"], reserved_names=["Robin", "Sasha", "Jordan", "Noa"])
    assert redactor.redact("Ann and Bo") == "Kim and Charlie"


def test_hidden_names_written_in_lower_case_are_hidden_too():
    redactor = Redactor(hidden_names=["Maria Lopez", "Will Smith"])
    assert redactor.redact("ask maria, or MARIA LOPEZ herself") == "ask Robin, or Robin herself"
    assert redactor.redact("Will says we will see") == "Sasha says we will see"  # "will" the word stays


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("number:07922 654321", "number:[PHONE_1]"),
        ("tel:+14155550132", "tel:[PHONE_1]"),
        ("wa.me/447922654321", "[PHONE_1]"),
        ("https://wa.me/447922654321 is me", "[PHONE_1] is me"),
        ("+44 7700 900123 (a drama number)", "[PHONE_1] (a drama number)"),  # possible, not valid
        ("call me on 0161 496 0000", "call me on [PHONE_1]"),  # Ofcom's range for fiction
        ("my number: 555 0199 123", "my number: [PHONE_1]"),
        ("call me on +44 7911 123456 (2)", "call me on [PHONE_1] (2)"),  # a digit after it is not part of it
    ],
)
def test_phone_numbers_in_common_written_forms(text, expected):
    assert Redactor().redact(text) == expected


def test_every_part_of_a_third_party_s_name_and_their_handles_are_hidden_with_one_pseudonym():
    redactor = Redactor(["Dana Scully", "Charlie Brown", "Maria de Souza"], ["Ann", "Bob"])
    text = (
        "Scully said hi to Dana; @Dana_Scully and dana.scully@x.org, Charlie-Brown and Brown came, "
        "a brown dog too; de Souza and Souza, de nada"
    )
    redacted = redactor.redact(text)
    for leaked in ("Scully", "Dana", "Charlie", "Brown", "Souza"):
        assert leaked not in redacted, redacted
    dana, charlie, maria = (redactor.mapping[name] for name in ("Dana Scully", "Charlie Brown", "Maria de Souza"))
    assert redacted.startswith(f"{dana} said hi to {dana}; @{dana} and [EMAIL_1], {charlie} and {charlie} came")
    assert "a brown dog too" in redacted  # words, not names
    assert "de nada" in redacted
    assert len({dana, charlie, maria}) == 3
