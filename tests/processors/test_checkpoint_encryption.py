"""A checkpoint holds a session's pending payloads encrypted, like the log, and opens them on recovery."""

from __future__ import annotations

from pathlib import Path

from processors.assembler import SessionAssembly
from processors.checkpoint import (
    Checkpoint,
    decode_checkpoint,
    encode_checkpoint,
    encrypted_checkpoint,
    opened_checkpoint,
)
from schemas.encryption import new_data_key
from streams.keystore import KeyStore
from streams.vault import Vault
from tests.processors.test_assembler import S, audio, run_on, text

SECRET = "card 4111 1111 1111 1111"


def test_pending_payloads_are_ciphertext_in_the_checkpoint_and_open_on_recovery(tmp_path: Path) -> None:
    live = SessionAssembly(S)
    run_on(live, audio(0), audio(1), text(0, 500, SECRET))  # the text waits for turn 2
    assert [e.text for e in live.pending] == [SECRET]  # type: ignore[union-attr]
    master = new_data_key()
    vault = Vault(KeyStore(tmp_path, master), encrypting=True)
    value = encode_checkpoint(encrypted_checkpoint(Checkpoint(0, [live], {S: 1}, {"audio": 3}, 0, 0), vault))
    assert SECRET.encode() not in value
    reader = Vault(KeyStore(tmp_path, master), encrypting=True)
    assert opened_checkpoint(decode_checkpoint(value), reader).sessions[0] == live


def test_an_erased_sessions_payloads_are_left_out_of_a_checkpoint(tmp_path: Path) -> None:
    live = SessionAssembly(S)
    run_on(live, audio(0), audio(1), text(0, 500, SECRET))
    store = KeyStore(tmp_path, new_data_key())
    value = encode_checkpoint(
        encrypted_checkpoint(Checkpoint(0, [live], {S: 1}, {"audio": 3}, 0, 0), Vault(store, encrypting=True))
    )
    store.erase(S)
    state = opened_checkpoint(decode_checkpoint(value), Vault(store, encrypting=True)).sessions[0]
    assert state.pending == [] and state.last_chunk is None
    assert state.next_turn == live.next_turn  # the rest of the state (turn bookkeeping) is kept


def test_without_encryption_a_checkpoint_is_as_before(tmp_path: Path) -> None:
    live = SessionAssembly(S)
    run_on(live, audio(0), text(0, 500, "hi"))
    checkpoint = Checkpoint(0, [live], {}, {}, 0, 0)
    assert encrypted_checkpoint(checkpoint, Vault(None, encrypting=False)) == checkpoint
