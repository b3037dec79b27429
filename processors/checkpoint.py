"""Per-partition checkpoints of a worker's state, kept in Kafka: what bounds recovery.

A worker that gets a partition rebuilds its sessions from the partition's latest checkpoint and
the records after it, instead of the whole retention (`processors.recovery`). Checkpoints live on
the compacted `<prefix>.checkpoints` topic, keyed by partition number, so reading them costs the
live keys, not their history.

A checkpoint of partition p is one consistent moment of the worker that owned p:

- `sessions`: the assembly state of each session of p it held (`SessionAssembly`, msgpack);
- `answered`: the highest turn per session whose ModelOutput it had queued;
- `inputs`: per input topic, the offset of the first record of p the assembler had NOT applied
  (recovery replays from there);
- `turns`, `output`: end offsets of p's turns and output partitions read just BEFORE the snapshot,
  so every turn or output queued after it has an offset at or past them (recovery reads those
  partitions from there; what it reads twice is idempotent: the highest turn wins).

Taking one (`Checkpointer.take`, every `CHECKPOINT_S`): read the two end offsets, copy the state
without yielding to the event loop, flush the producer (everything the copy reflects is then in
the log), then write the checkpoint. A crash before the write leaves the previous checkpoint,
which is older but just as consistent; so does a late write by a worker that lost the partition.

The events a session's state holds (pending text and frames, background results, the last audio
chunk) are written encrypted as on the input topics (`encrypted_checkpoint`), and opened when the
checkpoint is read back (`opened_checkpoint`); those of an erased session are left out both ways.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from processors.assembler import SessionAssembly
from processors.errors import ProcessorError
from schemas import Topics
from schemas.errors import DecodeError
from streams.kafka_security import aiokafka_options
from streams.key_paths import KeyStoreError
from streams.vault import Vault

log = structlog.get_logger(__name__)

CHECKPOINT_S = 10.0
"""How often a worker checkpoints the partitions that changed (seconds of records to replay at most)."""


class Checkpoint(msgspec.Struct, frozen=True):
    """A worker's state of one partition at one moment, and the offsets it reflects."""

    partition: int
    """The partition (the same number on every session-keyed topic)."""
    sessions: list[SessionAssembly]
    """Assembly state of each session of the partition the worker held."""
    answered: dict[str, int]
    """Session -> highest turn whose ModelOutput was queued (durable: flushed before the write)."""
    inputs: dict[str, int]
    """Input topic -> offset of the partition's first record not applied (replayed from there)."""
    turns: int
    """Offset of the turns partition from which turns may be missing from `sessions`."""
    output: int
    """Offset of the output partition from which outputs may be missing from `answered`."""


class CheckpointError(ProcessorError):
    """A checkpoint could not be read."""


_DECODER = msgspec.msgpack.Decoder(Checkpoint)


def encode_checkpoint(checkpoint: Checkpoint) -> bytes:
    """The record value of `checkpoint` (a copy: later changes to the live state do not reach it)."""
    return msgspec.msgpack.encode(checkpoint)


def decode_checkpoint(value: bytes) -> Checkpoint:
    """The checkpoint in a record value; CheckpointError naming what arrived when it is not one."""
    try:
        return _DECODER.decode(value)
    except msgspec.DecodeError as exc:
        got = f"got {len(value)} bytes ({exc})"
        raise CheckpointError(f"expected a msgpack Checkpoint on the checkpoints topic; {got}") from exc


def _each_event(checkpoint: Checkpoint, change: Callable[[Any], Any]) -> Checkpoint:
    def kept(event: Any) -> Any:
        try:
            return change(event)
        except (DecodeError, KeyStoreError):  # erased (or its key out of reach): its payloads are not kept
            return None

    def state(s: SessionAssembly) -> SessionAssembly:
        if not s.pending and not s.background and s.last_chunk is None:
            return s
        pending = [e for e in map(kept, s.pending) if e is not None]
        background = [e for e in map(kept, s.background) if e is not None]
        last = kept(s.last_chunk) if s.last_chunk is not None else None
        return msgspec.structs.replace(s, pending=pending, background=background, last_chunk=last)

    return msgspec.structs.replace(checkpoint, sessions=[state(s) for s in checkpoint.sessions])


def encrypted_checkpoint(checkpoint: Checkpoint, vault: Vault) -> Checkpoint:
    """`checkpoint` with the events its sessions hold encrypted by `vault` (as they are when it does not encrypt)."""
    return _each_event(checkpoint, vault.encrypt)


def opened_checkpoint(checkpoint: Checkpoint, vault: Vault) -> Checkpoint:
    """`checkpoint` with the events its sessions hold opened by `vault`."""
    return _each_event(checkpoint, vault.open)


def checkpoint_key(partition: int) -> bytes:
    """The compaction key of partition `partition`'s checkpoints."""
    return str(partition).encode()


async def read_checkpoints(bootstrap: str, topics: Topics) -> dict[int, Checkpoint]:
    """The latest checkpoint of each partition that has one (the compacted topic, read to its end).
    A record that is not a checkpoint is logged and skipped: recovery then starts further back."""
    from streams.log import read_topics

    latest: dict[int, Checkpoint] = {}
    for record in await read_topics(bootstrap, [topics.checkpoints], 1):
        try:
            checkpoint = decode_checkpoint(record.value)
        except CheckpointError as exc:
            log.warning("checkpoint_unreadable", offset=record.offset, error=str(exc))
            continue
        latest[checkpoint.partition] = checkpoint
    return latest


async def end_offsets(bootstrap: str, names: Iterable[str], partitions: Iterable[int]) -> dict[tuple[str, int], int]:
    """The current end offset of each topic's partitions; CheckpointError when the broker cannot be
    reached (during a broker restart, say): the caller skips this checkpoint and tries again later."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **aiokafka_options())
    try:
        await consumer.start()
        wanted = [TopicPartition(t, p) for t in names for p in partitions]
        ends: Mapping[TopicPartition, int] = await consumer.end_offsets(wanted)
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}
    except KafkaError as exc:
        raise CheckpointError(f"cannot read end offsets for a checkpoint: {exc}") from exc
    finally:
        await consumer.stop()
