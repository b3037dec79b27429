"""One session's redaction: its caller text, keys, metadata and sensitive window, and the counts.

Used by the producers of a session's input events (live calls, `microturn stream`), which publish
what it returns and put `stats()` in SessionEnded. Pure: no I/O, time is the session clock.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

from streams import metrics
from streams.redaction.dtmf import CVV_RUN_MS, DtmfGate
from streams.redaction.redactor import Redactor
from streams.redaction.rules import CARD_DIGITS, find_cards, fold_for_cards
from streams.redaction.window import SensitiveWindow

_EDGE = 4 * CARD_DIGITS[1]
"""How many characters at a text's end (and the next one's start) can hold part of one card number."""
_LEADING = re.compile(r" *\d(?: {0,3}\d)*")
_TRAILING = re.compile(r"\d(?: {0,3}\d)* *\Z")
STATS_PREFIX = "redacted."
"""SessionEnded.stats keys of the redaction counts: `redacted.<rule>`, `redacted.masked_chunks`, ..."""


class SessionRedaction:
    """The redaction state of one session (a CVV may follow its card number in the next line)."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.window = SensitiveWindow(redactor.settings.window_ms)
        """The session's sensitive window; its audio is stored as silence while it is open."""
        self.dtmf = DtmfGate(redactor, self.window, redactor.settings)
        self.counts: Counter[str] = Counter()
        """Findings by rule in text and metadata, and `masked_chunks` (audio chunks stored as silence)."""
        self._card_ms: int | None = None
        self._tail = ""
        """The digits the last caller text ended with (folded), which the next text may continue."""
        self._tail_ms = 0

    def text(self, text: str, now_ms: int) -> str:
        """Caller text at `now_ms`, redacted (a 3-4 digit number soon after a card is its CVV)."""
        near = self._card_ms is not None and now_ms - self._card_ms <= CVV_RUN_MS
        split = self._split_card(text, now_ms)
        if split:  # the digits this text starts with end a card the last text began
            text = "[card]" + text[split:]
            self._count("caller_text", {"card": 1})
            self._card_ms, near = now_ms, True
        redacted = self.redactor.redact(text, near_card=near)
        if redacted.counts:
            self._count("caller_text", redacted.counts)
            if redacted.card:
                self._card_ms = now_ms
        tail = _TRAILING.search(fold_for_cards(redacted.text[-_EDGE:]))
        self._tail, self._tail_ms = (tail.group().rstrip() if tail else ""), now_ms
        return redacted.text

    def _split_card(self, text: str, now_ms: int) -> int:
        """Where the digits at the start of `text` end when they finish a card number that the
        trailing digits of the last caller text began (0 when they do not): speech-to-text and
        chat split a number across events, and each piece alone is no card."""
        if not self._tail or now_ms - self._tail_ms > CVV_RUN_MS or not self.redactor.settings.enabled:
            return 0
        if "card" not in self.redactor.settings.rules:
            return 0
        lead = _LEADING.match(fold_for_cards(text[:_EDGE]))
        if lead is None:
            return 0
        joined = f"{self._tail} {lead.group().lstrip()}"
        crossing = any(a < len(self._tail) < b for a, b in find_cards(joined))
        return lead.end() if crossing else 0

    def speaker(self, name: str) -> str:
        """A speaker name from a transcript, redacted (transcripts of meetings name people by e-mail)."""
        redacted = self.redactor.redact(name)
        self._count("speaker", redacted.counts)
        return redacted.text

    def metadata(self, values: Mapping[str, str]) -> dict[str, str]:
        """Call metadata (caller numbers, custom parameters), each value redacted."""
        found: Counter[str] = Counter()
        out = self.redactor.mapping(values, found)
        self._count("metadata", found)
        return out

    def keys(self, released: list[str]) -> list[str]:
        """What the DTMF gate released (already redacted), its new counts moved into the session's."""
        if self.dtmf.counts:
            self._count("dtmf", self.dtmf.counts)
            self.dtmf.counts.clear()
        return released

    def masked_chunk(self) -> None:
        """One audio chunk was stored as silence (wholly or partly)."""
        self.counts["masked_chunks"] += 1
        metrics.redacted("audio", {"masked_chunks": 1})

    def stats(self) -> dict[str, str]:
        """The counts for SessionEnded.stats, keys prefixed `redacted.`, plus the windows opened."""
        counts = {**self.counts, "windows": self.window.opened}
        return {f"{STATS_PREFIX}{name}": str(n) for name, n in sorted(counts.items()) if n}

    def _count(self, source: str, counts: Mapping[str, int]) -> None:
        if counts:
            self.counts.update(counts)
            metrics.redacted(source, counts)
