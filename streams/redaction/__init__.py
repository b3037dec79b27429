"""Redaction before persistence: what a session says is redacted before any of it is produced.

`Redactor(settings)` replaces card numbers (Luhn-checked), a CVV near one, e-mail addresses, phone
numbers, IBANs (mod-97) and configured patterns by `[rule]` tokens; `SessionRedaction` adds a
session's sensitive window (audio stored as silence, DTMF keys swallowed) and its counts.
"""

from streams.redaction.redactor import Redacted, Redactor
from streams.redaction.session import SessionRedaction
from streams.redaction.settings import RedactionSettings

__all__ = ["Redacted", "RedactionSettings", "Redactor", "SessionRedaction"]
