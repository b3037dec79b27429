"""The built-in redaction rules: what each finds, how a candidate is confirmed, and its token.

A rule yields the spans of its findings in a text; the redactor resolves overlaps (earlier rules
win) and replaces each span by the rule's token. The checks that regular expressions cannot do
live here: the Luhn checksum of a card number, the ISO 13616 mod-97 check of an IBAN, and how many
digits a phone number has.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import accumulate

Span = tuple[int, int]
"""[start, end) of a finding in the text."""

CARD_DIGITS = (13, 19)
"""Lengths of a payment card number (PAN), inclusive."""
PHONE_DIGITS = (10, 15)
"""Digits of a phone number written without a leading +; with + (E.164) from 8."""
PHONE_DIGITS_INTERNATIONAL = 8
LONG_RUN = 4 * CARD_DIGITS[1]
"""A run of more digits than this is taken to hold a card without checking every window: hundreds
of 13-19 digit windows, each passing Luhn one time in ten, all fail with a chance below 1e-18
(and checking them all made a 256 KiB dead letter of digits take seconds)."""

_EIGHT_DIGITS = re.compile(r"\d(?:[ ()+-]{0,2}\d){7}")
"""Eight digits with little between them: what every card or phone number holds (a cheap first look)."""
_IBAN_START = re.compile(r"[A-Za-z]{2}\d{2}")
_DIGIT_RUN = re.compile(r"(?<!\d)\d(?: {0,3}\d)+(?!\d)")
"""In a card-folded text (`fold_for_cards`): digits with up to three separators between them.
Linear: a digit run cannot be followed by a digit, so the pattern never backtracks."""
_LOOSE_RUN = re.compile(r"\d(?: {0,3}\d)+")
"""In a card-folded text: digits with up to three separators between them, wherever they are."""
_CARD_SEPARATORS = frozenset("\t\n\r\x0b\x0c -./_,")
"""ASCII characters a card number's groups may be written with (beside Unicode spaces, dashes and
invisible format characters such as a zero-width space)."""
_CVV = re.compile(r"(?<![\w-])\d{3,4}(?![\w-])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,16}\.[A-Za-z]{2,24}")
"""Bounded repetitions (RFC 5321 sizes): unbounded ones made a 64 KiB text take seconds (each start
position rescanned the rest of the text)."""
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ -]?)?(?:\(\d{1,4}\)[ -]?)?\d[\d -]{5,18}\d(?!\w|[:./]\d)")
"""Digits in phone form; not followed by a time, a decimal or a path (e.g. a date and time)."""
_IBAN = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?(?![\w])")


def luhn(digits: str) -> bool:
    """Whether `digits` (0-9 only) pass the Luhn checksum of card numbers."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """Whether `text` (spaces allowed) is an IBAN: 15-34 characters passing the mod-97 check."""
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


_CACHED_BELOW = 0x3000
"""Characters below this (the alphabets) are remembered by the fold tables once looked up."""


class _Fold(dict[int, "str | int"]):
    """A `str.translate` table: ASCII filled in, other characters looked up once (digits of any
    script made ASCII, spaces and invisible characters a space, dashes `dash`)."""

    def __init__(self, ascii_table: dict[int, str | int], dash: str) -> None:
        super().__init__(ascii_table)
        self._dash = dash

    def __missing__(self, code: int) -> str | int:
        char = chr(code)
        kind = unicodedata.category(char)
        if kind == "Nd":
            folded = str(unicodedata.digit(char))
        elif kind in ("Zs", "Zl", "Zp", "Cc", "Cf"):
            folded = " "
        elif kind == "Pd":
            folded = self._dash
        elif code < _CACHED_BELOW:
            self[code] = code  # kept as it is, and remembered (alphabets are a few thousand characters)
            return code
        else:
            raise LookupError(code)  # kept as it is; not cached, so the table stays bounded
        self[code] = folded
        return folded


_FOLD = _Fold({code: " " if chr(code) in _CARD_SEPARATORS else code for code in range(128)}, " ")
_SPACES = _Fold({code: code for code in range(128)}, "-")


def fold_spaces(text: str) -> str:
    """`text` with digits of any script made ASCII, Unicode spaces and invisible characters (e.g. a
    zero-width space) a space and Unicode dashes a hyphen; ASCII is kept. One character for one,
    so spans found in the result are spans of `text`. The built-in rules read texts folded so."""
    return text.translate(_SPACES)


def fold_for_cards(text: str) -> str:
    """`fold_spaces`, and every separator a card's or an IBAN's groups may be written with (dashes,
    dots, slashes, underscores, commas, line breaks) a space."""
    return text.translate(_FOLD)


def find_cards(text: str, loose: bool = False) -> Iterator[Span]:
    """Card numbers: runs of 13-19 digits (up to three separators between groups) passing Luhn.

    The text is folded first (`fold_for_cards`), so "4111.1111.1111.1111", digits of other scripts
    and a card glued to a word are found too. A longer run of separated groups is searched for its
    first, longest card-number window of whole groups (e.g. a card followed by its CVV, "4111 1111
    1111 1111 737"). `loose` (bytes of unknown format, e.g. a dead letter): any digits around a
    Luhn-valid 13-19 digit window count, with no word boundary asked (a length byte may precede a
    string).
    """
    if loose:
        yield from _loose_cards(text)
        return
    folded = fold_for_cards(text)
    for run in _DIGIT_RUN.finditer(folded):
        raw = run.group()
        if len(raw) - raw.count(" ") < CARD_DIGITS[0]:
            continue
        groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", raw)]
        yield from ((run.start() + a, run.start() + b) for a, b in _card_windows(raw, groups))


def has_card(digits: str) -> bool:
    """Whether `digits` (0-9 only) hold a Luhn-valid 13-19 digit window anywhere (keyed digits,
    where a card may be keyed glued to a menu choice or its CVV)."""
    n = len(digits)
    if n > LONG_RUN:
        return True
    sizes = range(CARD_DIGITS[0], min(n, CARD_DIGITS[1]) + 1)
    return any(luhn(digits[a : a + size]) for size in sizes for a in range(n - size + 1))


def _loose_cards(text: str) -> Iterator[Span]:
    for run in _LOOSE_RUN.finditer(fold_for_cards(text)):
        if has_card(run.group().replace(" ", "")):
            yield run.span()


_DOUBLED = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]
"""A digit doubled by the Luhn checksum, its two digits summed."""


def _card_windows(raw: str, groups: list[Span]) -> Iterator[Span]:
    """The first, longest windows of whole groups holding a card number.

    Luhn sums come from prefix sums over the run's digits and only the groups ending 13-19 digits
    after a window's first digit are looked at, so the work is linear in the digits (it was
    cubic: "1 1 1 ..." of 4 KiB took minutes)."""
    values = [ord(char) - 48 for start, end in groups for char in raw[start:end]]
    sums = ([0], [0])  # prefix sums doubling the digits at even (0) or odd (1) places of the run
    for place, value in enumerate(values):
        sums[place % 2].append(sums[place % 2][-1] + _DOUBLED[value])
        sums[1 - place % 2].append(sums[1 - place % 2][-1] + value)
    ends = list(accumulate(end - start for start, end in groups))  # digits up to each group's end
    first = 0
    while first < len(groups):
        begin = ends[first - 1] if first else 0
        found = None
        low = bisect_left(ends, begin + CARD_DIGITS[0])
        for last in range(bisect_right(ends, begin + CARD_DIGITS[1]) - 1, low - 1, -1):
            end = ends[last]  # the rightmost digit is never doubled: places of the end's parity are
            if (sums[end % 2][end] - sums[end % 2][begin]) % 10 == 0:
                found = last
                break
        if found is None:
            first += 1
            continue
        yield groups[first][0], groups[found][1]
        first = found + 1


def find_cvvs(text: str, cards: list[Span], distance: int, anywhere: bool) -> Iterator[Span]:
    """3-4 digit numbers within `distance` characters of a card number (anywhere, when `anywhere`).

    `cards` are in text order and do not overlap, so only the last card starting before the end of
    the candidate (plus `distance`) can be the nearest: one bisection per candidate."""
    starts = [a for a, _ in cards]
    for match in _CVV.finditer(text):
        start, end = match.span()
        nearest = bisect_right(starts, end + distance) - 1
        if anywhere or (nearest >= 0 and start - cards[nearest][1] <= distance):
            yield start, end


def find_emails(text: str) -> Iterator[Span]:
    if "@" not in text:
        return
    for match in _EMAIL.finditer(text):
        yield match.span()


def find_phones(text: str) -> Iterator[Span]:
    """Phone numbers: 10-15 digits with spaces, hyphens or an (area code); 8-15 after a leading +."""
    for match in _PHONE.finditer(text):
        raw = match.group()
        digits = len(raw) - sum(raw.count(c) for c in " -()+")
        low = PHONE_DIGITS_INTERNATIONAL if raw.startswith("+") else PHONE_DIGITS[0]
        if low <= digits <= PHONE_DIGITS[1]:
            yield match.span()


def find_ibans(text: str) -> Iterator[Span]:
    """IBANs passing mod-97, their groups written with any separator `fold_for_cards` knows."""
    for match in _IBAN.finditer(fold_for_cards(text)):
        if iban_valid(match.group()):
            yield match.span()


@dataclass(frozen=True)
class Rule:
    """One kind of finding: its name (the counter and the token), and how it is found."""

    name: str
    """Rule name: counted under it, replaced by `[name]`."""
    find: Callable[[str], Iterator[Span]]
    """Spans of the findings in a text (called only on texts holding a digit or an @, for built-ins)."""
    first_look: re.Pattern[str] | None = None
    """What a text must hold for `find` to find anything (None: always look); skips most texts cheaply."""

    @property
    def token(self) -> str:
        return f"[{self.name}]"


def pattern_rule(name: str, pattern: re.Pattern[str]) -> Rule:
    """A configured rule: every non-empty match of `pattern`."""

    def find(text: str) -> Iterator[Span]:
        for match in pattern.finditer(text):
            if match.end() > match.start():
                yield match.span()

    return Rule(name, find)


BUILT_IN = {
    "card": Rule("card", find_cards),  # its own first look runs on the folded text
    "iban": Rule("iban", find_ibans, _IBAN_START),
    "email": Rule("email", find_emails),
    "phone": Rule("phone", find_phones, _EIGHT_DIGITS),
}
"""Built-in rules by name, in priority order (the CVV rule, tied to cards, is the redactor's)."""
CVV = "cvv"
"""Name of the CVV rule: a 3-4 digit number near a card number."""
