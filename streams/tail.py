"""Tailing the output topic: the one reader of ModelOutputs as the pipeline produces them.

An `OutputTail` reads every partition of the output topic from the end it found when it was
entered, so it sees exactly what the pipeline produces from then on and nothing older; enter it
*before* the sessions it waits for are streamed. Offsets are never committed: a tail that
restarts has nobody to deliver old outputs to.

Records are filtered on their key (the session id, see `schemas.codec.session_key`) before
anything is decoded: a tail that watches some sessions never decodes the rest of the fleet's
outputs (each carries 200 ms of audio). A tail made with `sessions=None` takes every session.

Two ways to use it:
- `until(done, timeout_s)`: consume and collect into `outputs` until `done(outputs)` (demo,
  tests, benchmarks); `sessions_complete` is the usual `done`.
- `poll()`: one fetch, returning the decoded outputs of the watched sessions without keeping
  them (the live ingress routes them to its calls; see `streams.ingress.outputs`).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas import DecodeError, ModelOutput, decode
from schemas.codec import session_key
from schemas.topics import PARTITIONS
from streams.errors import StreamsError
from streams.kafka_security import aiokafka_options
from streams.key_paths import KeyStoreError
from streams.log import cluster_metadata, partitions_of
from streams.vault import Vault, current


class TailError(StreamsError):
    """The output topic cannot be read (missing, broker unreachable) or outputs did not come in time."""


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


class OutputTail:
    """Reads the output topic from its end; use as an async context manager."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        partitions: int = PARTITIONS,
        sessions: Iterable[str] | None = None,
        fetch_max_wait_ms: int = 100,
        vault: Vault | None = None,
    ) -> None:
        """`sessions`: the session ids to take (more with `watch`); None takes every session.
        Outputs are opened by `vault` (default: the process's); one that cannot be opened (erased,
        altered) is counted as undecodable."""
        self._topic = topic
        self._vault = vault if vault is not None else current()
        self._partitions = partitions
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=fetch_max_wait_ms,
            **aiokafka_options(),
        )
        self._all = sessions is None
        self._keys: set[bytes] = {session_key(s) for s in sessions or ()}
        self.outputs: dict[str, list[Captured]] = defaultdict(list)
        """What `until` collected, per session, in arrival order."""
        self.undecodable = 0
        """Records of watched sessions that did not decode as an event (counted, skipped)."""
        self.skipped = 0
        """Records skipped on their key, undecoded (other sessions' outputs)."""

    async def __aenter__(self) -> OutputTail:
        """Connect and resolve the end offset of every partition; TailError if that fails."""
        try:
            await self._consumer.start()
            cluster = await cluster_metadata(self._consumer)
            if self._topic not in cluster.topics():
                raise TailError(f"output topic {self._topic} does not exist: run `microturn up` first")
            # The broker's partition count, not an assumed one (`--partitions` sets it at creation).
            count = partitions_of(cluster, self._topic) or self._partitions
            assigned = [TopicPartition(self._topic, p) for p in range(count)]
            self._consumer.assign(assigned)
            await self._consumer.seek_to_end(*assigned)
            for tp in assigned:  # resolve the end offsets now, before anything is streamed
                await self._consumer.position(tp)
        except (KafkaError, TailError) as exc:
            await self._consumer.stop()
            if isinstance(exc, TailError):
                raise
            raise TailError(f"cannot read {self._topic}: {exc}") from exc
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._consumer.stop()

    def watch(self, session_id: str) -> None:
        """Take `session_id`'s outputs from now on (a tail made with `sessions=None` takes all)."""
        self._keys.add(session_key(session_id))

    def unwatch(self, session_id: str) -> None:
        """Stop taking `session_id`'s outputs; their records are skipped undecoded again."""
        self._keys.discard(session_key(session_id))

    async def poll(self, timeout_ms: int = 500) -> list[Captured]:
        """One fetch: the watched sessions' outputs that arrived, in partition order.

        Waits at most `timeout_ms` for records. Raises aiokafka's KafkaError when the broker
        fails (the caller decides whether to retry); records that do not decode are counted.
        """
        batches = await self._consumer.getmany(timeout_ms=timeout_ms)
        now = time.time_ns()
        taken: list[Captured] = []
        for records in batches.values():
            for record in records:
                if not self._all and record.key not in self._keys:
                    self.skipped += 1
                    continue
                try:
                    event = self._vault.open(decode(record.value or b""))
                except (DecodeError, KeyStoreError):
                    self.undecodable += 1
                    continue
                if isinstance(event, ModelOutput):
                    taken.append(Captured(event, now))
        return taken

    async def until(
        self,
        done: Callable[[dict[str, list[Captured]]], bool],
        timeout_s: float,
        on_output: Callable[[Captured], None] | None = None,
    ) -> None:
        """Consume into `outputs` until `done(outputs)` is true; TailError after `timeout_s` without it."""
        deadline = time.monotonic() + timeout_s
        while not done(self.outputs):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                counts = {s: len(o) for s, o in self.outputs.items()}
                raise TailError(f"outputs incomplete after {timeout_s:.0f}s; got per session: {counts}")
            try:
                taken = await self.poll(timeout_ms=int(min(remaining, 0.5) * 1000))
            except KafkaError as exc:
                raise TailError(f"reading {self._topic} failed: {exc}") from exc
            for captured in taken:
                self.outputs[captured.output.session_id].append(captured)
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
