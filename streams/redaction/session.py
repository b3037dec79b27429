"""One session's redaction: its caller text, keys, metadata and sensitive window, and the counts.

Used by the producers of a session's input events (live calls, `microturn stream`), which publish
what it returns and put `stats()` in SessionEnded. Pure: no I/O, time is the session clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from streams import metrics
from streams.redaction.dtmf import CVV_RUN_MS, DtmfGate
from streams.redaction.redactor import Redactor
from streams.redaction.window import SensitiveWindow

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

    def text(self, text: str, now_ms: int) -> str:
        """Caller text at `now_ms`, redacted (a 3-4 digit number soon after a card is its CVV)."""
        near = self._card_ms is not None and now_ms - self._card_ms <= CVV_RUN_MS
        redacted = self.redactor.redact(text, near_card=near)
        if redacted.counts:
            self._count("caller_text", redacted.counts)
            if redacted.card:
                self._card_ms = now_ms
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
