"""Per-session payload encryption: what crypto-shredding a session rests on. Pure: no I/O.

Each session has a random 256-bit data key. Before an event is produced, its payload fields
(`PAYLOAD_FIELDS`: audio, video, text, task and result text, call metadata) are packed as
MessagePack, encrypted with AES-256-GCM under a fresh random 96-bit nonce, and stored in the
envelope's `encrypted` field; the payload fields themselves are left at their empty values. The
associated data binds the ciphertext to its session id, event id, event type and field names, so
a ciphertext moved to another event, session or event type does not open.

`encrypted` is `b"\\x01" + nonce (12 bytes) + ciphertext and GCM tag`. Everything else (envelope,
turn, flags, counts, ids) stays in the clear, so the log is ordered, keyed, assembled, archived
and audited without any key: the audit chain hashes these wire bytes, ciphertext included.

A data key never leaves a process unwrapped: the key store keeps it wrapped (AES-256-GCM again,
associated data = the session id) by a master key (`wrap_data_key`). Destroying the wrapped key
erases every payload of the session wherever a copy of the log went.

Dead letters are not encrypted: a `DeadLetter.raw_value` is the rejected record as it arrived,
which is ciphertext for any event our producers wrote; a record that never decoded has no
trustworthy session to bind a key to (the redactor has already cleaned previews in `reason`).
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from schemas.envelope import Event
from schemas.errors import PayloadError
from schemas.events import (
    AudioChunk,
    BackgroundResult,
    BackgroundTask,
    MicroTurn,
    ModelOutput,
    SessionStarted,
    TextEvent,
    VideoFrame,
)

E = TypeVar("E", bound=Event)

VERSION = b"\x01"
"""First byte of every `encrypted` value: the format (AES-256-GCM, 12-byte nonce)."""
NONCE_BYTES = 12
KEY_BYTES = 32

PAYLOAD_FIELDS: dict[type[Event], tuple[str, ...]] = {
    SessionStarted: ("metadata",),
    AudioChunk: ("samples",),
    VideoFrame: ("jpeg",),
    TextEvent: ("text",),
    MicroTurn: ("audio", "video", "text", "background"),
    ModelOutput: ("text", "audio", "delegate"),
    BackgroundTask: ("task", "context"),
    BackgroundResult: ("result",),
}
"""Per event type, the fields that are encrypted. Other event types carry no payload."""

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(list[Any])


def _empty(field: mi.Field) -> Any:
    if field.default is not msgspec.NODEFAULT:
        return field.default
    if field.default_factory is not msgspec.NODEFAULT:
        return field.default_factory()
    return b"" if isinstance(field.type, mi.BytesType) else ""


def _blanks(kind: type[Event], names: tuple[str, ...]) -> dict[str, Any]:
    info = mi.type_info(kind)
    if not isinstance(info, mi.StructType):
        raise TypeError(f"PAYLOAD_FIELDS: expected event Structs; got {kind!r}")
    by_name = {f.name: f for f in info.fields}
    return {name: _empty(by_name[name]) for name in names}


_BLANKS: dict[type[Event], dict[str, Any]] = {kind: _blanks(kind, names) for kind, names in PAYLOAD_FIELDS.items()}
_LABELS: dict[type[Event], bytes] = {
    kind: f"{kind.__struct_config__.tag}:{','.join(names)}".encode() for kind, names in PAYLOAD_FIELDS.items()
}


def associated_data(event: Event) -> bytes:
    """What the ciphertext of `event` is bound to: session id, event id, event type and its fields."""
    return _associated(type(event), event.session_id, event.event_id)


def _associated(kind: type[Event], session_id: str, event_id: str) -> bytes:
    return b"\x00".join((b"microturn/1", session_id.encode(), event_id.encode(), _LABELS[kind]))


def is_encrypted(event: Event) -> bool:
    """Whether `event` carries encrypted payload fields."""
    return bool(event.encrypted)


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)


class SessionCipher:
    """One session's data key, ready to encrypt and open its events (built once per session)."""

    def __init__(self, session_id: str, data_key: bytes) -> None:
        if len(data_key) != KEY_BYTES:
            raise PayloadError(f"data key of session {session_id}: expected {KEY_BYTES} bytes; got {len(data_key)}")
        self.session_id = session_id
        self._aead = AESGCM(data_key)

    def encrypt(self, event: E) -> E:
        """`event` with its payload fields encrypted; events without payload, or already encrypted, as they are."""
        names = PAYLOAD_FIELDS.get(type(event))
        if names is None or event.encrypted:
            return event
        self._check_session(event)
        plain = _encoder.encode([getattr(event, name) for name in names])
        nonce = os.urandom(NONCE_BYTES)
        sealed = VERSION + nonce + self._aead.encrypt(nonce, plain, associated_data(event))
        return msgspec.structs.replace(event, encrypted=sealed, **_BLANKS[type(event)])

    def open(self, event: E) -> E:
        """`event` with its payload fields restored (and `encrypted` empty); PayloadError if they do not open."""
        if not event.encrypted:
            return event
        self._check_session(event)
        fields = self.open_fields(type(event), event.event_id, event.encrypted)
        return msgspec.structs.replace(event, encrypted=b"", **fields)

    def open_fields(self, kind: type[Event], event_id: str, data: bytes) -> dict[str, Any]:
        """The payload fields in `data`, the `encrypted` value of `kind` event `event_id` of this session."""
        names = PAYLOAD_FIELDS.get(kind)
        if names is None or len(data) < 1 + NONCE_BYTES + 16 or data[:1] != VERSION:
            raise PayloadError(
                f"opening {kind.__name__} {event_id}: expected format {VERSION!r} with a "
                f"{NONCE_BYTES}-byte nonce and a GCM tag; got {len(data)} bytes starting {data[:1]!r}"
            )
        try:
            plain = self._aead.decrypt(
                data[1 : 1 + NONCE_BYTES], data[1 + NONCE_BYTES :], _associated(kind, self.session_id, event_id)
            )
        except InvalidTag as exc:
            raise PayloadError(
                f"opening {kind.__name__} {event_id} of session {self.session_id}: the ciphertext "
                "does not authenticate (altered, moved from another event or session, or another key)"
            ) from exc
        return dict(zip(names, _decoder.decode(plain), strict=True))

    def _check_session(self, event: Event) -> None:
        if event.session_id != self.session_id:
            raise PayloadError(
                f"{type(event).__name__} {event.event_id}: expected an event of session {self.session_id}; "
                f"got one of {event.session_id}"
            )


def encrypt_event(event: E, data_key: bytes) -> E:
    """`event` encrypted with `data_key` (one-off; a process encrypting many keeps a SessionCipher)."""
    return SessionCipher(event.session_id, data_key).encrypt(event)


def open_event(event: E, data_key: bytes) -> E:
    """`event` opened with its session's `data_key`; PayloadError if it does not open."""
    return SessionCipher(event.session_id, data_key).open(event)


def _wrap_ad(session_id: str) -> bytes:
    return b"microturn/data-key/1\x00" + session_id.encode()


def wrap_data_key(master_key: bytes, session_id: str, data_key: bytes) -> bytes:
    """`data_key` encrypted by `master_key`, bound to `session_id`: nonce (12 bytes) + ciphertext and tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master_key).encrypt(nonce, data_key, _wrap_ad(session_id))


def unwrap_data_key(master_key: bytes, session_id: str, wrapped: bytes) -> bytes:
    """The data key `wrap_data_key` wrapped; PayloadError for another master key or session, or an altered one."""
    try:
        return AESGCM(master_key).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_ad(session_id))
    except (InvalidTag, ValueError) as exc:
        raise PayloadError(
            f"unwrapping the data key of session {session_id}: it does not authenticate under this master "
            "key (another master key, another session's key file, or an altered one)"
        ) from exc
