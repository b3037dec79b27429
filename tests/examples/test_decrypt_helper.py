"""examples/decrypt.py, microturn-free, opens what `schemas.encryption` and the key store wrote."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import msgpack
import pytest
from cryptography.exceptions import InvalidTag

from schemas import ModelOutput, SessionEnded, SessionStarted, TextEvent, encode
from schemas.encryption import PAYLOAD_FIELDS
from streams.keystore import KeyStore, generate_master_key
from streams.vault import Vault


def helper() -> ModuleType:
    path = Path(__file__).parents[2] / "examples" / "decrypt.py"
    spec = importlib.util.spec_from_file_location("decrypt_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_helper_knows_every_encrypted_field_in_order() -> None:
    ours = {kind.__struct_config__.tag: names for kind, names in PAYLOAD_FIELDS.items()}
    assert ours == helper().PAYLOAD_FIELDS


def test_the_helper_opens_events_from_the_wire_until_the_session_is_erased(tmp_path: Path) -> None:
    decrypt = helper()
    master = tmp_path / "master.key"
    store = KeyStore(tmp_path / "sessions", generate_master_key(master))
    vault = Vault(store, encrypting=True)
    envelope = {"session_id": "call-7", "seq": 3, "event_time_ms": 600, "turn": 3}
    events = [
        SessionStarted(event_id="call-7/session/0", **envelope, metadata={"caller": "x"}),  # type: ignore[arg-type]
        TextEvent(event_id="call-7/text/3", **envelope, text="hello"),  # type: ignore[arg-type]
        ModelOutput(event_id="call-7/output/3", **envelope, action="SPEAK", text="hi", audio=b"\x01\x00" * 3200),  # type: ignore[arg-type]
        SessionEnded(event_id="call-7/session/1", **envelope),  # type: ignore[arg-type]
    ]
    wires = [msgpack.unpackb(encode(vault.encrypt(event))) for event in events]  # the key is made first
    key = decrypt.data_key(master, tmp_path / "sessions", "call-7")
    for event, wire in zip(events, wires, strict=True):
        assert decrypt.open_payload(wire, key) == msgpack.unpackb(encode(event))
    wire = msgpack.unpackb(encode(vault.encrypt(events[1])))
    with pytest.raises(InvalidTag):
        decrypt.open_payload({**wire, "event_id": "call-7/text/4"}, key)
    store.erase("call-7")
    with pytest.raises(FileNotFoundError):
        decrypt.data_key(master, tmp_path / "sessions", "call-7")
