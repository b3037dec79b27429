"""One consumer of the output topic per server, handing each live call its ModelOutputs.

The router reads every partition of `<prefix>.output` from the end it found at start-up, so a
call sees what the pipeline produces after the server started and nothing older. A call must
`subscribe` *before* its SessionStarted is sent; outputs of sessions nobody subscribed to (other
servers' calls, files streamed with `microturn stream`) are skipped. Offsets are never
committed: a restarted server has no live calls to deliver old outputs to.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas import DecodeError, ModelOutput, decode
from streams.ingress.errors import IngressError, SessionInUse

log = structlog.get_logger(__name__)

_RETRY_S = 1.0


class OutputRouter:
    """Routes ModelOutputs to per-session queues; use as an async context manager."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self._topic = topic
        self._partitions = partitions
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100)
        self._queues: dict[str, asyncio.Queue[ModelOutput]] = {}
        self._task: asyncio.Task[None] | None = None
        self.undecodable = 0
        """Records of the output topic that did not decode (counted, skipped)."""

    async def __aenter__(self) -> OutputRouter:
        try:
            await self._consumer.start()
            if self._topic not in await self._consumer.topics():
                raise IngressError(f"output topic {self._topic} does not exist: run `microturn up` first")
            assigned = [TopicPartition(self._topic, p) for p in range(self._partitions)]
            self._consumer.assign(assigned)
            await self._consumer.seek_to_end(*assigned)
            for tp in assigned:  # resolve the end offsets now, before any call starts
                await self._consumer.position(tp)
        except (KafkaError, IngressError) as exc:
            await self._consumer.stop()
            if isinstance(exc, IngressError):
                raise
            raise IngressError(f"cannot read {self._topic}: {exc}") from exc
        self._task = asyncio.create_task(self._run(), name="output-router")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    def subscribe(self, session_id: str) -> asyncio.Queue[ModelOutput]:
        """The queue that will receive `session_id`'s outputs, in turn order; call before SessionStarted.

        Raises SessionInUse when a live call already subscribed to it (its outputs are not
        handed to a second peer).
        """
        if session_id in self._queues:
            raise SessionInUse(f"session {session_id!r} is already live on this server")
        queue: asyncio.Queue[ModelOutput] = asyncio.Queue()
        self._queues[session_id] = queue
        return queue

    def unsubscribe(self, session_id: str) -> None:
        """Stop delivering `session_id`'s outputs; called when its call is over."""
        self._queues.pop(session_id, None)

    async def _run(self) -> None:
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=500)
            except KafkaError as exc:  # the broker went away: keep the server up and retry
                log.warning("output_router_fetch_failed", topic=self._topic, error=str(exc))
                await asyncio.sleep(_RETRY_S)
                continue
            except Exception:  # anything else would silence every call's playback: log it and go on
                log.exception("output_router_failed", topic=self._topic)
                await asyncio.sleep(_RETRY_S)
                continue
            for records in batches.values():
                for record in records:
                    self._route(record.value or b"")

    def _route(self, value: bytes) -> None:
        try:
            event = decode(value)
        except DecodeError:
            self.undecodable += 1
            return
        if isinstance(event, ModelOutput):
            queue = self._queues.get(event.session_id)
            if queue is not None:
                queue.put_nowait(event)
