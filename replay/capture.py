"""Capturing a session's ModelOutputs from the output topic (demo, tests, scripts).

A capture subscribes at the current end of every partition *before* the session is streamed,
so it sees exactly what the pipeline produces from then on, and nothing older.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from aiokafka import AIOKafkaConsumer, TopicPartition

from replay.errors import ReplayError
from schemas import DecodeError, ModelOutput, decode
from schemas.topics import PARTITIONS


@dataclass(frozen=True)
class Captured:
    """One output and when it was consumed."""

    output: ModelOutput
    """The event as the pipeline emitted it."""
    received_ns: int
    """Wall time this consumer received it."""

    @property
    def latency_ms(self) -> float:
        """End to end: the turn's latest input produced -> output received here."""
        return (self.received_ns - self.output.input_wall_time_ns) / 1e6


class OutputCapture:
    """Collects ModelOutputs per session; use as an async context manager."""

    def __init__(self, bootstrap: str, topic: str, partitions: int = PARTITIONS) -> None:
        self._topic = topic
        self._partitions = partitions
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.outputs: dict[str, list[Captured]] = defaultdict(list)
        self.undecodable = 0

    async def __aenter__(self) -> OutputCapture:
        await self._consumer.start()
        if self._topic not in await self._consumer.topics():
            await self._consumer.stop()
            raise ReplayError(f"topic {self._topic} does not exist: run `microturn up` first")
        assigned = [TopicPartition(self._topic, p) for p in range(self._partitions)]
        self._consumer.assign(assigned)
        await self._consumer.seek_to_end(*assigned)
        for tp in assigned:  # resolve the end offsets now, before anything is streamed
            await self._consumer.position(tp)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._consumer.stop()

    async def until(
        self,
        done: Callable[[dict[str, list[Captured]]], bool],
        timeout_s: float,
        on_output: Callable[[Captured], None] | None = None,
    ) -> None:
        """Consume until `done(outputs)` is true; ReplayError after `timeout_s` without it."""
        deadline = time.monotonic() + timeout_s
        while not done(self.outputs):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                counts = {s: len(o) for s, o in self.outputs.items()}
                raise ReplayError(f"outputs incomplete after {timeout_s:.0f}s; got per session: {counts}")
            batches = await self._consumer.getmany(timeout_ms=int(min(remaining, 0.5) * 1000))
            now = time.time_ns()
            for records in batches.values():
                for record in records:
                    try:
                        event = decode(record.value or b"")
                    except DecodeError:
                        self.undecodable += 1
                        continue
                    if isinstance(event, ModelOutput):
                        captured = Captured(event, now)
                        self.outputs[event.session_id].append(captured)
                        if on_output is not None:
                            on_output(captured)
            await asyncio.sleep(0)


def sessions_complete(session_ids: list[str]) -> Callable[[dict[str, list[Captured]]], bool]:
    """A `done` predicate: each session has its final output and one output for every turn."""

    def check(outputs: dict[str, list[Captured]]) -> bool:
        for session_id in session_ids:
            got = outputs.get(session_id, [])
            final = [c.output.seq for c in got if c.output.final]
            if not final or len({c.output.seq for c in got}) < final[0] + 1:
                return False
        return True

    return check
