"""Open microturn's encrypted payloads without microturn: needs only `cryptography` and `msgpack`.

A consumer that holds the master key (the file `microturn up` made, `<state dir>/keys/master.key`,
or MICROTURN_MASTER_KEY) and can read the key store (`<state dir>/keys/sessions`, or
MICROTURN_KEY_STORE) opens an event it read from Kafka or the archive:

    key = data_key(Path("master.key"), Path("sessions"), event["session_id"])
    event = open_payload(event, key)   # payload fields restored, "encrypted" emptied

`event` is the msgpack map of a record value (`msgpack.unpackb(record.value)`). Events without
payload, or not encrypted, come back as they are. A session erased with `microturn erase` has no
key file any more: `data_key` raises FileNotFoundError, and its payloads stay ciphertext forever.

The format (schemas/encryption.py is the reference): `encrypted` = b"\\x01" + 12-byte nonce +
AES-256-GCM ciphertext and tag of the msgpack list of the payload fields, in PAYLOAD_FIELDS order;
the associated data is b"microturn/1\\0<session_id>\\0<event_id>\\0<schema>:<field,field,...>".
The key file is JSON; `wrapped` (base64) is 12-byte nonce + AES-256-GCM of the data key under the
master key, associated data b"microturn/data-key/1\\0<session_id>".
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import msgpack
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PAYLOAD_FIELDS = {
    "session_started": ("metadata",),
    "audio_chunk": ("samples",),
    "video_frame": ("jpeg",),
    "text_event": ("text",),
    "micro_turn": ("audio", "video", "text", "background"),
    "model_output": ("text", "audio", "delegate"),
    "background_task": ("task", "context"),
    "background_result": ("result",),
}
"""Per event schema, the fields that are encrypted, in the order they are packed."""


def data_key(master_key_file: Path, key_store: Path, session_id: str) -> bytes:
    """The session's data key, unwrapped with the master key (FileNotFoundError once erased)."""
    master = bytes.fromhex(master_key_file.read_text().strip())
    wrapped = base64.b64decode(json.loads((key_store / f"{session_id}.key").read_text())["wrapped"])
    associated = b"microturn/data-key/1\x00" + session_id.encode()
    return AESGCM(master).decrypt(wrapped[:12], wrapped[12:], associated)


def open_payload(event: dict[str, Any], key: bytes) -> dict[str, Any]:
    """`event` (a decoded msgpack map) with its payload fields in the clear; InvalidTag if altered."""
    sealed = event.get("encrypted") or b""
    if not sealed:
        return event
    names = PAYLOAD_FIELDS[event["schema"]]
    label = f"{event['schema']}:{','.join(names)}".encode()
    associated = b"\x00".join((b"microturn/1", event["session_id"].encode(), event["event_id"].encode(), label))
    plain = AESGCM(key).decrypt(sealed[1:13], sealed[13:], associated)
    return {**event, **dict(zip(names, msgpack.unpackb(plain), strict=True)), "encrypted": b""}
