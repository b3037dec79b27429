"""The redactor every piece of text passes before it is produced: findings become `[rule]` tokens.

Built once from `RedactionSettings` (patterns compiled, rules ordered); `redact` is the hot path,
called on every text event, model output, background task and result. A text with neither a digit
nor an @ skips the built-in rules, so ordinary chat costs one regular-expression scan.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from streams.redaction.rules import BUILT_IN, CVV, Rule, Span, find_cards, find_cvvs, fold_spaces, pattern_rule
from streams.redaction.settings import RedactionSettings

_NOTHING: Mapping[str, int] = MappingProxyType({})
_NON_ASCII = {code: "\0" for code in range(128, 256)}
_MAYBE = re.compile(r"[\d@]")
"""What every built-in rule's finding holds: a digit (cards, CVVs, phones, IBANs) or an @ (e-mail)."""


class Redacted(NamedTuple):
    """A text after redaction, and what was taken out of it."""

    text: str
    """The text, every finding replaced by its rule's token."""
    counts: Mapping[str, int] = _NOTHING
    """Findings by rule name (empty when nothing was found)."""

    @property
    def card(self) -> bool:
        """Whether the text held a card number (a CVV may follow in the next text)."""
        return "card" in self.counts


class Redactor:
    """Replaces card numbers, CVVs, e-mail addresses, phone numbers, IBANs and configured patterns."""

    def __init__(self, settings: RedactionSettings | None = None) -> None:
        """Compile the rules of `settings` (checked when the settings were made); defaults: every built-in."""
        self.settings = settings = settings or RedactionSettings()
        self.digest = settings.digest
        """Names the text redaction ("" when off); see `RedactionSettings.digest`."""
        self._on = settings.enabled
        self._built_in = [rule for name, rule in BUILT_IN.items() if name in settings.rules]
        self._cvv = CVV in settings.rules and "card" in settings.rules
        self._patterns = [pattern_rule(name, re.compile(p)) for name, p in settings.patterns.items()]

    def redact(self, text: str, near_card: bool = False) -> Redacted:
        """`text` with every finding replaced; `near_card`: a card number was just given, so any
        3-4 digit number in `text` is taken for its CVV."""
        if not self._on or not text:
            return Redacted(text)
        spans = self._spans(text, near_card, loose=False)
        if not spans:
            return Redacted(text)
        return _replace(text, spans)

    def _spans(self, original: str, near_card: bool, loose: bool) -> list[tuple[int, int, str]]:
        spans: list[tuple[int, int, str]] = []
        text = fold_spaces(original)  # one character for one: the spans are the original's
        if _MAYBE.search(text) is not None:
            for rule in self._built_in:
                cvv_only = rule.name == "card" and near_card
                if not loose and not cvv_only and rule.first_look is not None and not rule.first_look.search(text):
                    continue
                found = list(find_cards(text, loose) if rule.name == "card" else rule.find(text))
                spans += [(a, b, rule.name) for a, b in found]
                if rule.name == "card" and self._cvv and (found or near_card):
                    spans += [(a, b, CVV) for a, b in find_cvvs(text, found, self.settings.cvv_chars, near_card)]
        for rule in self._patterns:
            spans += [(a, b, rule.name) for a, b in rule.find(original)]
        return spans

    def text(self, text: str) -> str:
        """`redact(text).text`."""
        return self.redact(text).text

    def mapping(self, values: Mapping[str, str], counts: Counter[str] | None = None) -> dict[str, str]:
        """Each key and value of `values` redacted (a caller chooses the names of custom parameters
        too); findings are added to `counts` when given. Keys that redact alike are told apart
        by `#2`, `#3`, ... in the order given."""
        out: dict[str, str] = {}
        for key, value in values.items():
            name, redacted = self.redact(key), self.redact(value)
            unique, n = name.text, 1
            while unique in out:
                n += 1
                unique = f"{name.text}#{n}"
            out[unique] = redacted.text
            if counts is not None:
                counts.update(name.counts)
                counts.update(redacted.counts)
        return out

    def raw(self, data: bytes) -> bytes:
        """Bytes of unknown format (a dead letter's record) redacted: findings are looked for in
        the ASCII text of the bytes (other bytes read as a non-word character; card digits need no
        word boundary) and replaced; every other byte is kept as it was."""
        if not self._on or not data:
            return data
        text = data.decode("latin-1")
        spans = self._spans(text.translate(_NON_ASCII), near_card=False, loose=True)
        return _replace(text, spans).text.encode("latin-1") if spans else data


def _replace(text: str, spans: list[tuple[int, int, str]]) -> Redacted:
    """`text` with the spans replaced; of overlapping spans the first found (earlier rule) wins."""
    taken: list[tuple[int, int, str]] = []  # disjoint, sorted: a new span can only overlap its neighbours
    for span in spans:  # in the order found: earlier rules first
        at = bisect_left(taken, span)
        if (at and taken[at - 1][1] > span[0]) or (at < len(taken) and taken[at][0] < span[1]):
            continue
        taken.insert(at, span)
    parts, counts, at = [], Counter[str](), 0
    for start, end, name in taken:
        parts += [text[at:start], f"[{name}]"]
        counts[name] += 1
        at = end
    parts.append(text[at:])
    return Redacted("".join(parts), MappingProxyType(dict(counts)))


__all__ = ["Redacted", "Redactor", "Rule", "Span"]
