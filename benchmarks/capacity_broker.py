"""What the broker recorded for a capacity level: per (session, turn), the record timestamps of its
AudioChunk, MicroTurn and ModelOutput.

Read after the level, from the offsets noted before it, so the benchmark consumes nothing while
the calls run. A record's timestamp is its CreateTime (the topics keep the default
`message.timestamp.type`): the producing client's clock when `send` queued it, in milliseconds, so
each hop includes the next stage's consumer fetch and work but not its own producer's linger.
This is the one place that reads the log; swap it for the streams tailer when that lands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import AudioChunk, DecodeError, MicroTurn, ModelOutput, Topics, decode

Offsets = dict[TopicPartition, int]


@dataclass
class TurnStamps:
    """One turn of one session as the broker saw it (None: no such record)."""

    chunk_ms: int | None = None
    """AudioChunk record timestamp (the ingress queued it)."""
    chunk_wall_ns: int = 0
    """AudioChunk.wall_time_ns: the ingress stamped the event."""
    turn_ms: int | None = None
    """MicroTurn record timestamp (the worker's assembler queued it)."""
    output_ms: int | None = None
    """ModelOutput record timestamp (the worker's interaction queued it)."""
    output_wall_ns: int = 0
    """ModelOutput.wall_time_ns: the worker built it, right after the Triton call."""
    model_ms: float = 0.0
    """ModelOutput.model_ms: the Triton request as the worker timed it."""
    action: str = ""
    final: bool = False


@dataclass
class LevelLog:
    """Every turn of the level's sessions."""

    turns: dict[tuple[str, int], TurnStamps] = field(default_factory=dict)

    def finals(self) -> set[str]:
        """Sessions whose final ModelOutput is in."""
        return {sid for (sid, _), t in self.turns.items() if t.final and t.output_ms is not None}


def _partitions(topics: Topics) -> list[TopicPartition]:
    return [TopicPartition(t, p) for t in (topics.audio, topics.turns, topics.output) for p in range(topics.partitions)]


async def end_offsets(bootstrap: str, topics: Topics) -> Offsets:
    """The current end of the audio, turns and output topics."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends: Offsets = await consumer.end_offsets(_partitions(topics))
        return ends
    finally:
        await consumer.stop()


async def read_level(bootstrap: str, topics: Topics, since: Offsets, sessions: set[str]) -> LevelLog:
    """The turns of `sessions` recorded from `since` to the current end of each partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100)
    await consumer.start()
    found = LevelLog()
    try:
        parts = _partitions(topics)
        until = await consumer.end_offsets(parts)
        todo = [tp for tp in parts if until[tp] > since.get(tp, 0)]
        consumer.assign(todo)
        for tp in todo:
            consumer.seek(tp, since.get(tp, 0))
        while todo:
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset < until[tp]:
                        _note(found, record.value or b"", record.timestamp, sessions)
            todo = [tp for tp in todo if await consumer.position(tp) < until[tp]]
    finally:
        await consumer.stop()
    return found


def _note(found: LevelLog, value: bytes, timestamp_ms: int, sessions: set[str]) -> None:
    try:
        event = decode(value)
    except DecodeError:
        return
    if event.session_id not in sessions:
        return
    if isinstance(event, AudioChunk):
        turn = found.turns.setdefault((event.session_id, event.seq), TurnStamps())
        if turn.chunk_ms is None:  # the first copy counts; a re-send is a duplicate
            turn.chunk_ms, turn.chunk_wall_ns = timestamp_ms, event.wall_time_ns
    elif isinstance(event, MicroTurn):
        turn = found.turns.setdefault((event.session_id, event.seq), TurnStamps())
        if turn.turn_ms is None:
            turn.turn_ms = timestamp_ms
    elif isinstance(event, ModelOutput):
        turn = found.turns.setdefault((event.session_id, event.seq), TurnStamps())
        if turn.output_ms is None:
            turn.output_ms, turn.output_wall_ns = timestamp_ms, event.wall_time_ns
            turn.model_ms, turn.action, turn.final = event.model_ms, event.action, event.final
