"""Per-session lanes: a session's items run in order, different sessions run concurrently.

The assembler (in process) and the interaction agent (from the turns topic) hand each MicroTurn to
its session's lane and go on, so one slow model call never holds up other sessions, and Triton gets
concurrent sessions to batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import structlog

T = TypeVar("T")
log = structlog.get_logger(__name__)


class Lanes(Generic[T]):
    """One queue and one task per live session; a lane ends when it is idle."""

    def __init__(
        self,
        handle: Callable[[T], Awaitable[None]],
        fail: Callable[[T, Exception], Awaitable[None]],
        idle_s: float = 30.0,
    ) -> None:
        """`handle(item)` processes an item; when it raises anything, `fail(item, exc)` is called
        (the worker dead-letters and acks the item's record there), and the lane goes on with the
        next item. An exception of `fail` itself is logged: it must never stop a lane."""
        self._handle = handle
        self._fail = fail
        self._idle_s = idle_s
        self._queues: dict[str, asyncio.Queue[T]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def put(self, session_id: str, item: T) -> None:
        """Queue `item` behind the session's earlier items."""
        queue = self._queues.get(session_id)
        if queue is None:
            queue = self._queues[session_id] = asyncio.Queue()
            task = asyncio.create_task(self._run(session_id, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        queue.put_nowait(item)

    async def join(self) -> None:
        """Wait until every queued item was handled (tests, shutdown)."""
        for queue in list(self._queues.values()):
            await queue.join()

    async def _run(self, session_id: str, queue: asyncio.Queue[T]) -> None:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), self._idle_s)
            except TimeoutError:
                if queue.empty():
                    del self._queues[session_id]
                    return
                continue
            try:
                await self._handle(item)
            except Exception as exc:  # noqa: BLE001  # any failure is the record's: handed to `fail`
                try:
                    await self._fail(item, exc)
                except Exception:
                    log.exception("lane_failure_handling_failed", session_id=session_id)
            finally:
                queue.task_done()
