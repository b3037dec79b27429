"""DTMF keys on their way to the log: held as runs, redacted whole, swallowed in sensitive windows.

A card number keyed on a phone arrives one digit per message, so no single event holds it. The
gate therefore holds digits: a run is released as one entry when a non-digit key comes, or when
`hold_ms` of session clock passed without a key (`tick`), or at the end of the call, and the
redactor sees the whole run ("4111111111111111" -> "[card]"; "737" right after a card -> "[cvv]").
A caller reading a card off its face pauses between groups, so only short entries (at most
`SHORT_ENTRY` digits keyed within `CVV_RUN_MS`, e.g. a menu choice) are released after `hold_ms`;
a longer one is held until a non-digit key, `CVV_RUN_MS` without a key, or the end of the call.
A run is checked for a card glued to other digits (a menu choice before it, its CVV after it)
and together with the digits released just before it, so pausing cannot split a card past it.
The window key (e.g. `*`) opens a sensitive window: the keys up to the end key (e.g. `#`) or the
window's timeout are never released as digits, only as "[masked N keys]". Released entries are
stamped with the session clock at release.
"""

from __future__ import annotations

from collections import Counter

from streams.redaction.redactor import Redacted, Redactor
from streams.redaction.rules import has_card
from streams.redaction.settings import RedactionSettings
from streams.redaction.window import SensitiveWindow

CVV_RUN_MS = 30_000
"""A 3-4 digit run this soon after a card-number run is taken for its CVV; also how long a long
entry is held without a key, and how far back released digits join a run's card check."""
SHORT_ENTRY = 4
"""Digits (keyed within `CVV_RUN_MS` of each other) an entry may have to be released after `hold_ms`."""


class DtmfGate:
    """Turns one call's DTMF keys into the texts to publish."""

    def __init__(self, redactor: Redactor, window: SensitiveWindow, settings: RedactionSettings) -> None:
        self._redactor = redactor
        self._window = window
        self._open_key = settings.dtmf_window_key
        self._end_key = settings.dtmf_window_end_key
        self._hold_ms = settings.dtmf_hold_ms
        self._run: list[str] = []
        self._last_ms = 0
        self._card_ms: int | None = None
        self._recent = ""
        """Digits released as they were within `CVV_RUN_MS` before the run (a card's first groups)."""
        self._recent_ms = 0
        self._masked = 0
        self.counts: Counter[str] = Counter()
        """Findings in released runs by rule, and `masked_keys` (keys swallowed by windows)."""

    def key(self, key: str, now_ms: int) -> list[str]:
        """The texts to publish now for `key` pressed at `now_ms` (often none: the key is held)."""
        out = self.tick(now_ms)
        if self._window.active(now_ms):
            if key == self._end_key:
                self._window.close()
                out += self._unmask()
            else:
                self._masked += 1
            return out
        if key == self._open_key:
            out += self._release(now_ms)
            self._window.open(now_ms)
            return out
        if key.isdigit():
            self._run.append(key)
            self._last_ms = now_ms
            if not self._hold_ms and not self._long(now_ms):
                out += self._release(now_ms)
            return out
        return [*out, *self._release(now_ms), key]

    def tick(self, now_ms: int) -> list[str]:
        """Texts due at `now_ms`: a run idle for `hold_ms`, the summary of a window that timed out."""
        out = []
        if self._masked and not self._window.active(now_ms):
            out += self._unmask()
        if self._run and now_ms - self._last_ms >= (CVV_RUN_MS if self._long(now_ms) else self._hold_ms):
            out += self._release(now_ms)
        return out

    def _long(self, now_ms: int) -> bool:
        """Whether the run, with the digits released just before it, is longer than a short entry."""
        return len(self._context(now_ms)) + len(self._run) > SHORT_ENTRY

    def _context(self, now_ms: int) -> str:
        if now_ms - self._recent_ms > CVV_RUN_MS:
            self._recent = ""
        return self._recent

    def finish(self, now_ms: int) -> list[str]:
        """Everything still held, at the end of the call."""
        self._window.close()
        return [*self._unmask(), *self._release(now_ms)]

    def _release(self, now_ms: int) -> list[str]:
        if not self._run:
            return []
        context = self._context(now_ms)
        digits, self._run = "".join(self._run), []
        near = self._card_ms is not None and now_ms - self._card_ms <= CVV_RUN_MS
        redacted: Redacted = self._redactor.redact(digits, near_card=near and len(digits) <= 4)
        if not redacted.card and "card" in self._redactor.settings.rules and has_card(context + digits):
            redacted = Redacted("[card]", {"card": 1})  # glued to other digits, or its first groups released
        self.counts.update(redacted.counts)
        self._recent, self._recent_ms = ("", now_ms) if redacted.counts else (context + digits, now_ms)
        if redacted.card:
            self._card_ms = now_ms
        return [redacted.text]

    def _unmask(self) -> list[str]:
        if not self._masked:
            return []
        count, self._masked = self._masked, 0
        self.counts["masked_keys"] += count
        return [f"[masked {count} keys]"]
