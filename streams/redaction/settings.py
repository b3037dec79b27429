"""Redaction settings, read from the environment once at start-up and checked when they are made."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from schemas.errors import ConfigError
from streams.redaction.rules import BUILT_IN, CVV

RULE_NAMES = (*BUILT_IN, CVV)
"""Every built-in rule, by name."""
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
DTMF_KEYS = frozenset("0123456789*#ABCD")
RULES_VERSION = 2
"""What the built-in rules find, by version: part of the digest, so a replay under rules that find
more (2: separators and scripts folded, see `streams.redaction.rules`) reports the difference."""


@dataclass(frozen=True)
class RedactionSettings:
    """What is redacted from text, and how sensitive windows open and close.

    Environment: MICROTURN_REDACT ("on"/"off"), MICROTURN_REDACT_RULES (comma-separated built-ins),
    MICROTURN_REDACT_PATTERNS (a JSON object name -> regular expression; matches become `[name]`),
    MICROTURN_REDACT_CVV_CHARS, MICROTURN_DTMF_WINDOW_KEY / MICROTURN_DTMF_WINDOW_END_KEY ("" for
    none), MICROTURN_SENSITIVE_WINDOW_MS and MICROTURN_DTMF_HOLD_MS.
    """

    enabled: bool = True
    """Off: text passes unchanged (windows still mask audio and keys)."""
    rules: tuple[str, ...] = RULE_NAMES
    """Built-in rules in use: card, iban, email, phone, cvv."""
    patterns: Mapping[str, str] = field(default_factory=dict)
    """Configured rules: name -> regular expression; every match becomes `[name]`."""
    cvv_chars: int = 40
    """A 3-4 digit number this many characters from a card number is a CVV."""
    dtmf_window_key: str = "*"
    """The DTMF key that opens a sensitive window on a phone call ("" for none)."""
    dtmf_window_end_key: str = "#"
    """The DTMF key that closes the window early ("" for none: only the timeout does)."""
    window_ms: int = 60_000
    """How long a sensitive window stays open at most, in milliseconds of the session clock."""
    dtmf_hold_ms: int = 3_000
    """DTMF digits are held until a non-digit key or this long without a key, then released as
    one redacted entry (so a card keyed digit by digit is caught whole); 0 releases each key at once."""

    def __post_init__(self) -> None:
        problems = [f"MICROTURN_REDACT_RULES: unknown rule {name!r}" for name in self.rules if name not in RULE_NAMES]
        for name, pattern in self.patterns.items():
            if not _NAME.fullmatch(name) or name in RULE_NAMES:
                problems.append(
                    f"MICROTURN_REDACT_PATTERNS: names must match {_NAME.pattern} and differ from the built-ins; "
                    f"got {name!r}"
                )
                continue
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                problems.append(f"MICROTURN_REDACT_PATTERNS[{name!r}]: {pattern!r} is not a regular expression: {exc}")
                continue
            if compiled.fullmatch(""):
                problems.append(f"MICROTURN_REDACT_PATTERNS[{name!r}]: {pattern!r} matches the empty string")
        for name, key in (
            ("MICROTURN_DTMF_WINDOW_KEY", self.dtmf_window_key),
            ("MICROTURN_DTMF_WINDOW_END_KEY", self.dtmf_window_end_key),
        ):
            if key and (len(key) != 1 or key not in DTMF_KEYS or key.isdigit()):
                problems.append(f"{name} must be one of * # A B C D or empty; got {key!r}")
        for name, value, low in (
            ("MICROTURN_REDACT_CVV_CHARS", self.cvv_chars, 0),
            ("MICROTURN_SENSITIVE_WINDOW_MS", self.window_ms, 200),
            ("MICROTURN_DTMF_HOLD_MS", self.dtmf_hold_ms, 0),
        ):
            if value < low:
                problems.append(f"{name} must be >= {low}; got {value}")
        if problems:
            raise ConfigError("redaction settings: " + "; ".join(problems))

    @property
    def digest(self) -> str:
        """12 hex digits naming what text redaction does ("" when off): recorded with model outputs,
        so a replay applies the same redaction or says it cannot."""
        if not self.enabled:
            return ""
        spec = {
            "rules": sorted(self.rules),
            "patterns": dict(sorted(self.patterns.items())),
            "cvv": self.cvv_chars,
            "version": RULES_VERSION,
        }
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RedactionSettings:
        """The settings in the environment (defaults for what is unset); ConfigError naming what is wrong."""
        env = os.environ if environ is None else environ
        switch = env.get("MICROTURN_REDACT", "on").strip().lower()
        if switch not in ("on", "off"):
            raise ConfigError(f"redaction settings: MICROTURN_REDACT must be 'on' or 'off'; got {switch!r}")
        listed = env.get("MICROTURN_REDACT_RULES", ",".join(RULE_NAMES))
        rules = tuple(r.strip() for r in listed.split(",") if r.strip())
        raw = env.get("MICROTURN_REDACT_PATTERNS", "") or "{}"
        try:
            patterns = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"redaction settings: MICROTURN_REDACT_PATTERNS must be a JSON object: {exc}") from exc
        if not isinstance(patterns, dict) or not all(isinstance(v, str) for v in patterns.values()):
            raise ConfigError(
                f"redaction settings: MICROTURN_REDACT_PATTERNS must map names to regular expressions; got {raw[:80]!r}"
            )
        return cls(
            enabled=switch == "on",
            rules=rules,
            patterns=patterns,
            cvv_chars=_int(env, "MICROTURN_REDACT_CVV_CHARS", cls.cvv_chars),
            dtmf_window_key=env.get("MICROTURN_DTMF_WINDOW_KEY", cls.dtmf_window_key),
            dtmf_window_end_key=env.get("MICROTURN_DTMF_WINDOW_END_KEY", cls.dtmf_window_end_key),
            window_ms=_int(env, "MICROTURN_SENSITIVE_WINDOW_MS", cls.window_ms),
            dtmf_hold_ms=_int(env, "MICROTURN_DTMF_HOLD_MS", cls.dtmf_hold_ms),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"redaction settings: {name} must be an integer; got {raw!r}") from None
