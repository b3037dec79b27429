"""Settings of an ingress server, checked once when they are made."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas import Topics
from streams.ingress.errors import ConfigError
from streams.redaction import RedactionSettings


@dataclass(frozen=True)
class IngressSettings:
    """Where an ingress server listens, what it publishes to, and its limits."""

    bootstrap: str
    """Kafka bootstrap servers (host:port)."""
    topics: Topics
    """The topic set sessions are published to and outputs read from."""
    host: str = "127.0.0.1"
    """Interface to listen on."""
    port: int = 0
    """Port to listen on; 0 picks a free one (the server reports it)."""
    max_calls: int = 100
    """Concurrent calls; a connection beyond this is answered 503 before the upgrade."""
    max_message_bytes: int = 64 * 1024
    """Largest WebSocket message taken; a larger one ends the call (close 1009, session aborted)."""
    idle_timeout_s: float = 10.0
    """A call whose peer sends nothing for this long is ended (aborted)."""
    drain_timeout_s: float = 15.0
    """After the caller stopped, how long to keep playing outputs while waiting for the final one."""
    jitter_frames: int = 3
    """Telephone frames held while waiting for a missing one before its gap is filled with silence."""
    max_gap_ms: int = 5_000
    """Largest jump ahead of the timeline a media timestamp may make (filled with silence)."""
    audio_burst_ms: int = 2_000
    """How far a call's audio may run ahead of real time (counted from its start message); audio
    beyond that ends the call (close 1008, session aborted) before any of it is published."""
    max_call_s: float = 4 * 3600.0
    """Longest call, in seconds of audio; audio beyond it ends the call (close 1008, aborted)."""
    max_calls_per_principal: int | None = None
    """Concurrent calls of one authenticated principal (a PCM token's name, the Twilio account);
    a connection beyond this is answered 429 before the upgrade. None: `max_calls` (one principal
    may use the whole server, as a single Twilio account or a single PCM token does)."""

    redaction: RedactionSettings = field(default_factory=RedactionSettings)
    """What calls' text, DTMF keys and metadata are redacted of, and how sensitive windows work."""

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be {rule}; got {value!r}"
            for name, value, ok, rule in (
                ("bootstrap", self.bootstrap, bool(self.bootstrap), "a host:port"),
                ("port", self.port, 0 <= self.port <= 65535, "in 0..65535"),
                ("max_calls", self.max_calls, self.max_calls >= 1, ">= 1"),
                ("max_message_bytes", self.max_message_bytes, self.max_message_bytes >= 1024, ">= 1024"),
                ("idle_timeout_s", self.idle_timeout_s, self.idle_timeout_s > 0, "> 0"),
                ("drain_timeout_s", self.drain_timeout_s, self.drain_timeout_s >= 0, ">= 0"),
                ("jitter_frames", self.jitter_frames, self.jitter_frames >= 1, ">= 1"),
                ("max_gap_ms", self.max_gap_ms, self.max_gap_ms >= 0, ">= 0"),
                ("audio_burst_ms", self.audio_burst_ms, self.audio_burst_ms >= 200, ">= 200 (one turn)"),
                ("max_call_s", self.max_call_s, self.max_call_s > 0, "> 0"),
                (
                    "max_calls_per_principal",
                    self.max_calls_per_principal,
                    self.max_calls_per_principal is None or self.max_calls_per_principal >= 1,
                    ">= 1 or None",
                ),
            )
            if not ok
        ]
        if problems:
            raise ConfigError("ingress settings: " + "; ".join(problems))

    @property
    def principal_limit(self) -> int:
        """Concurrent calls one principal may have (`max_calls_per_principal`, else `max_calls`)."""
        return self.max_calls if self.max_calls_per_principal is None else self.max_calls_per_principal
