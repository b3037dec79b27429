"""Twilio request signatures: `X-Twilio-Signature` on the WebSocket upgrade request.

Twilio signs every request it makes with the account's auth token: HMAC-SHA1 over the full URL it
requested, followed (for form POSTs) by every POST parameter as name + value in name order, then
base64. The Media Streams upgrade is a GET, so only the URL is signed. Behind a proxy or TLS
terminator the URL Twilio used is not the one this server sees; `public_url` says what it was.
Like Twilio's own validators, a URL is also accepted with its default port added or removed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

SIGNATURE_HEADER = "X-Twilio-Signature"
"""The header Twilio's signature travels in."""

_DEFAULT_PORTS = {"https": 443, "wss": 443, "http": 80, "ws": 80}


def sign(auth_token: str, url: str, params: Mapping[str, str] | None = None) -> str:
    """The signature Twilio would send for a request to `url` (with POST `params`, if any)."""
    fields = params or {}
    data = url + "".join(name + fields[name] for name in sorted(fields))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def url_variants(url: str) -> list[str]:
    """`url` as given, and with its scheme's default port toggled (added if absent, else removed)."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is None or parts.hostname is None:
        return [url]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is None:
        other = f"{prefix}{host}:{default}"
    elif parts.port == default:
        other = f"{prefix}{host}"
    else:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=other))]


def is_valid(auth_token: str, url: str, signature: str | None, params: Mapping[str, str] | None = None) -> bool:
    """True when `signature` is Twilio's for `url` (or its default-port variant); constant time."""
    if not signature or not auth_token:
        return False
    given = signature.encode()
    expected = [sign(auth_token, candidate, params).encode() for candidate in url_variants(url)]
    return any(hmac.compare_digest(candidate, given) for candidate in expected)
