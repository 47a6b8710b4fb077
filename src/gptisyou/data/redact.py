"""Redaction before a dataset can leave the machine: phone numbers, e-mail addresses, URLs, IBANs, card numbers
and the names of people outside the persona pair become pseudonyms.

Pseudonyms are consistent: one real value always gets the same one within a dataset (`[PHONE_1]`, `[EMAIL_2]`,
or a made-up first name per real name). `Redactor.mapping` (real → pseudonym) is for the local workspace only.
IBANs (mod 97) and card numbers (Luhn) are checksum-validated; phone numbers are validated by `phonenumbers`,
in international form for any country and in national form for a list of regions; dates, times, prices and
short numbers are left alone.
"""

import functools
import re
from collections.abc import Iterable

import phonenumbers

# Countries whose national number formats ("030 1234567", "06 12 34 56 78") are recognised without a "+".
DEFAULT_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "PT", "BR", "MX", "AR", "IN", "SE")
FAKE_NAMES = (
    "Robin",
    "Sasha",
    "Jordan",
    "Noa",
    "Kim",
    "Charlie",
    "Eden",
    "Quinn",
    "Rowan",
    "Sky",
    "Alexis",
    "Dana",
    "Emery",
    "Finley",
    "Harper",
    "Jules",
    "Kai",
    "Lou",
    "Milan",
    "Nico",
    "Oakley",
    "Remy",
    "Sam",
    "Toni",
)
# Lower-case words that are also first names: "we will see" keeps its "will" even when a Will is hidden.
_COMMON_WORDS = frozenset(
    [
        "will",
        "may",
        "mark",
        "bill",
        "rose",
        "grace",
        "hope",
        "joy",
        "june",
        "april",
        "art",
        "pat",
        "sue",
        "dawn",
        "faith",
        "jack",
        "ray",
        "rich",
        "max",
        "don",
        "guy",
        "sunny",
        "summer",
        "autumn",
        "olive",
        "ruby",
        "amber",
        "crystal",
        "frank",
        "chase",
        "drew",
        "hunter",
        "miles",
        "penny",
        "rob",
        "sandy",
        "gene",
        # surnames that are words too: "a brown dog" keeps its "brown" when a Charlie Brown is hidden
        "brown",
        "black",
        "white",
        "green",
        "young",
        "king",
        "long",
        "little",
        "hill",
        "wood",
        "stone",
        "bird",
        "fox",
        "small",
        "cook",
        "baker",
        "smith",
    ]
)

# One scan finds every kind; earlier alternatives win where they overlap (a URL holding an e-mail address).
_DATA = re.compile(
    r"""(?P<WALINK>(?i:\b(?:https?://)?(?:wa\.me|api\.whatsapp\.com/send\?phone=)/?)\+?\d{7,15}\b)
    |(?P<URL>(?i:\b(?:https?://|www\.)[^\s<>"']+[^\s<>"'.,;:!?)]))
    |(?P<EMAIL>\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b)
    |(?P<IBAN>\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b)
    |(?P<CARD>(?<![\d.,])\d(?:[ -]?\d){12,18}(?![\d.,]\d))
    |(?P<PHONE>(?<![\w+/.,-])(?<!\d:)(?:\+|00)?\(?\d[\d ().\-/]{5,20}\d(?![\w/:]|[.,]\d))""",
    re.VERBOSE,
)
_SEPARATORS = re.compile(r"[\s().\-/]")
_NOT_DIGIT = re.compile(r"\D")
_MAYBE_DATA = re.compile(r"\d|@|www\.|https?:", re.IGNORECASE)  # one scan rules out most messages
_DATE_LIKE = re.compile(r"\d{1,4}([./-])\d{1,2}\1\d{1,4}")
# "tel:", "number: ", "call me on": a number after these is a phone number even in a range phonenumbers
# does not know (new or fictional), as long as it is possible in length for some region
_PHONE_CUE = re.compile(
    r"(?:\btel|\bphone|\bnumber|\bnum|\bnr|\bno|\bmob(?:ile)?|\bcell|\bcall(?:\s+me)?(?:\s+(?:on|at))?|"
    r"\bwhatsapp|\btelefon|\btéléphone|\bnummer|\bnúmero|\bnumero)\.?\s*[:=]?\s*$",
    re.IGNORECASE,
)
_MONEY_NEAR = re.compile(r"[€$£¥₹]\s*$|^\s*(?:[€$£¥₹]|eur|usd|gbp|chf|euros?|dollars?|pounds?)\b", re.IGNORECASE)


class Redactor:
    """Replaces personal data in texts with pseudonyms, the same pseudonym for the same value every time."""

    def __init__(
        self,
        hidden_names: Iterable[str] = (),
        regions: tuple[str, ...] = DEFAULT_REGIONS,
        reserved_names: Iterable[str] = (),
    ):
        """`hidden_names` are replaced by made-up names; no made-up name is, or is a word of, one of them or of
        `reserved_names` (everyone else in the chats), so a third party can never be renamed into the persona."""
        hidden_names = list(hidden_names)
        self.regions = regions
        self.mapping: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        visible = set(reserved_names) - set(hidden_names)
        self._full_name = _name_forms(hidden_names, _name_words(visible))  # casefolded form → full name
        self._unusable = _name_words([*hidden_names, *reserved_names])
        alternatives = "|".join(re.escape(form) for form in sorted(self._full_name, key=len, reverse=True))
        self._names = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if alternatives else None

    @classmethod
    def hiding_others(cls, names: Iterable[str], kept: Iterable[str | None]) -> "Redactor":
        """A redactor that hides every one of `names` but the `kept` ones (the persona and whom they write with),
        none of `names` ever a pseudonym."""
        everyone = sorted(set(names))
        return cls([name for name in everyone if name not in set(kept)], everyone)

    def redact(self, text: str) -> str:
        if _MAYBE_DATA.search(text):
            text = _DATA.sub(self._replace, text)
        if self._names:
            text = self._names.sub(self._replace_name, text)
        return text

    def restore(self, text: str) -> str:
        """`text` with the pseudonyms this redactor gave put back: what a model that saw only them wrote, for the
        user to read."""
        for real, pseudonym in sorted(self.mapping.items(), key=lambda item: -len(item[1])):
            text = re.sub(rf"(?<!\w){re.escape(pseudonym)}(?!\w)", lambda _, real=real: real, text)
        return text

    def _replace_name(self, match: re.Match) -> str:
        form = match[0]
        if form.islower() and form.casefold() in _COMMON_WORDS:  # "will", "may": a word, not Will or May
            return form
        return self._fake_name(form)

    def _replace(self, match: re.Match) -> str:
        kind, value = match.lastgroup, match[0]
        if kind == "WALINK":
            digits = _NOT_DIGIT.sub("", value)
            return self._pseudonym("PHONE", value, "+" + digits)
        if kind == "IBAN":
            return self._pseudonym(kind, value) if _iban_ok(value) else value
        if kind == "CARD" and _luhn_ok(value):
            return self._pseudonym(kind, value)
        if kind in ("CARD", "PHONE"):  # a long run of digits that is no card may still be a phone number
            return self._phone(match)
        return self._pseudonym(kind, value)

    def _pseudonym(self, kind: str, value: str, key: str | None = None) -> str:
        key = key or (_SEPARATORS.sub("", value) if kind in ("CARD", "IBAN") else value.lower())
        if key not in self.mapping:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            self.mapping[key] = f"[{kind}_{self._counts[kind]}]"
        return self.mapping[key]

    def _phone(self, match: re.Match) -> str:
        """The number, or the longest start of the match that is one ("+44 7911 123456 (2" → the first three
        groups): the scan is greedy and may take in a digit that follows."""
        text = match[0]
        for end in [
            len(text),
            *reversed([i for i in range(1, len(text)) if text[i] in " (-/" and text[i - 1].isdigit()]),
        ][:4]:
            number = self._phone_number(match.string, match.start(), match.start() + end)
            if number is not None:
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                return self._pseudonym("PHONE", text[:end], e164) + text[end:]
        return text

    def _phone_number(self, string: str, start: int, end: int) -> phonenumbers.PhoneNumber | None:
        candidate = string[start:end]
        digits = _NOT_DIGIT.sub("", candidate)
        if not 7 <= len(digits) <= 15 or _DATE_LIKE.fullmatch(candidate.strip()):
            return None
        before, after = string[max(0, start - 3) : start], string[end:][:8]
        if _MONEY_NEAR.search(before) or _MONEY_NEAR.search(after):
            return None
        cued = bool(_PHONE_CUE.search(string[max(0, start - 24) : start]))
        if candidate.startswith(("+", "00")):
            # international form: a "+" and the right length is evidence enough, valid range or not
            return _parsed("+" + (digits[2:] if candidate.startswith("00") else digits), None, possible=True)
        if len(digits) < 8:
            return None
        # national form: a valid number, or a possible one with a trunk "0" or a cue such as "tel:"
        if valid := self._in_regions(candidate, possible=False):
            return valid
        if cued or (digits.startswith("0") and len(digits) >= 10):
            return self._in_regions(candidate, possible=True)
        return None

    def _in_regions(self, candidate: str, possible: bool) -> phonenumbers.PhoneNumber | None:
        return next(filter(None, (_parsed(candidate, region, possible) for region in self.regions)), None)

    def _fake_name(self, form: str) -> str:
        real = self._full_name[form.casefold()]  # "Maria", "maria" and "Maria Lopez" get the same fake name
        if real not in self.mapping:
            taken = {pseudonym.casefold() for pseudonym in self.mapping.values()}
            free = [name for name in FAKE_NAMES if name.casefold() not in taken | self._unusable]
            self.mapping[real] = free[0] if free else f"[PERSON_{len(taken) + 1}]"
        return self.mapping[real]


def _name_forms(names: Iterable[str], visible_words: set[str]) -> dict[str, str]:
    """Each way a hidden name may appear, casefolded → the full name: the full name, each of its capitalised words
    of two letters or more ("Dana", "Scully"; not a particle such as "de"), and its words joined as in a handle or
    an address ("Dana_Scully", "dana.scully", "Charlie-Brown", "DanaScully"). A word that is also a word of a
    visible name (Robin Jones hidden, Robin Smith the persona) is left out: hiding it would rename the visible
    person."""
    forms: dict[str, str] = {}
    for name in sorted(set(names)):
        forms.setdefault(name.casefold(), name)
        words = [word for word in re.split(r"[\s_.\-]+", name) if word]
        if len(words) > 1:
            for joint in ("", "_", ".", "-"):
                forms.setdefault(joint.join(words).casefold(), name)
        for word in words:
            if len(word) >= 2 and word[0].isupper() and word.casefold() not in visible_words:
                forms.setdefault(word.casefold(), name)
    return forms


def _name_words(names: Iterable[str]) -> set[str]:
    """Every name and every word of every name, casefolded: what a made-up name must never be."""
    return {form.casefold() for name in names for form in (name, *name.split())}


@functools.lru_cache(maxsize=65_536)
def _parsed(number: str, region: str | None, possible: bool = False) -> phonenumbers.PhoneNumber | None:
    """The phone number `number` is in `region` (or in international form), if it is a valid one (or, with
    `possible`, one of a possible length there)."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    check = phonenumbers.is_possible_number if possible else phonenumbers.is_valid_number
    return parsed if check(parsed) else None


def _luhn_ok(candidate: str) -> bool:
    digits = [int(char) for char in candidate if char.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = sum(
        digit if index % 2 == 0 else (digit * 2 - 9 if digit > 4 else digit * 2)
        for index, digit in enumerate(reversed(digits))
    )
    return total % 10 == 0


def _iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1
