"""One tail of the output topic per server, handing each live call its ModelOutputs.

The router reads the output topic through `streams.tail.OutputTail`, from the end it found at
start-up, so a call sees what the pipeline produces after the server started and nothing older.
A call must `subscribe` *before* its SessionStarted is sent; the records of sessions nobody
subscribed to (other servers' calls, files streamed with `microturn stream`) are skipped on their
key, never decoded. Offsets are never committed: a restarted server has no live calls to deliver
old outputs to.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

import structlog
from aiokafka.errors import KafkaError

from schemas import ModelOutput
from streams.errors import StreamsError
from streams.ingress.errors import IngressError, SessionInUse
from streams.tail import OutputTail

log = structlog.get_logger(__name__)

_RETRY_S = 1.0


class OutputRouter:
    """Routes ModelOutputs to per-session queues; use as an async context manager."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self._topic = topic
        self._tail = OutputTail(bootstrap, topic, partitions, sessions=())
        self._queues: dict[str, asyncio.Queue[ModelOutput]] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def undecodable(self) -> int:
        """Records of live sessions on the output topic that did not decode (counted, skipped)."""
        return self._tail.undecodable

    async def __aenter__(self) -> OutputRouter:
        try:
            await self._tail.__aenter__()
        except StreamsError as exc:
            raise IngressError(str(exc)) from exc
        self._task = asyncio.create_task(self._run(), name="output-router")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._tail.__aexit__(exc_type, exc, tb)

    def subscribe(self, session_id: str) -> asyncio.Queue[ModelOutput]:
        """The queue that will receive `session_id`'s outputs, in turn order; call before SessionStarted.

        Raises SessionInUse when a live call already subscribed to it (its outputs are not
        handed to a second peer).
        """
        if session_id in self._queues:
            raise SessionInUse(f"session {session_id!r} is already live on this server")
        queue: asyncio.Queue[ModelOutput] = asyncio.Queue()
        self._queues[session_id] = queue
        self._tail.watch(session_id)
        return queue

    def unsubscribe(self, session_id: str) -> None:
        """Stop delivering `session_id`'s outputs; called when its call is over."""
        self._queues.pop(session_id, None)
        self._tail.unwatch(session_id)

    async def _run(self) -> None:
        while True:
            try:
                taken = await self._tail.poll(timeout_ms=500)
            except KafkaError as exc:  # the broker went away: keep the server up and retry
                log.warning("output_router_fetch_failed", topic=self._topic, error=str(exc))
                await asyncio.sleep(_RETRY_S)
                continue
            except Exception:  # anything else would silence every call's playback: log it and go on
                log.exception("output_router_failed", topic=self._topic)
                await asyncio.sleep(_RETRY_S)
                continue
            for captured in taken:
                queue = self._queues.get(captured.output.session_id)
                if queue is not None:
                    queue.put_nowait(captured.output)
