"""The background agent: runs delegated tasks concurrently, bounded, each under a timeout.

`submit()` returns at once: tasks run as asyncio tasks limited by a semaphore, so a slow tool
never delays the micro-turn path or other tasks. Each finished task calls `deliver(result)`; the
worker publishes it on the results topic, and the assembler puts it in the session's next turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

from processors.background.tools import Calculator, FaqSearch, SessionFacts, Tool, ToolError
from schemas import BackgroundResult, BackgroundTask
from schemas.envelope import Stamper
from streams import metrics
from streams.redaction import Redactor

log = structlog.get_logger(__name__)
Deliver = Callable[[BackgroundTask, BackgroundResult], Awaitable[None]]


class BackgroundAgent:
    """Routes each task to a tool and delivers its result."""

    def __init__(
        self,
        facts: SessionFacts,
        deliver: Deliver,
        fallback: Tool | None = None,
        concurrency: int = 8,
        timeout_s: float = 10.0,
        redactor: Redactor | None = None,
    ) -> None:
        """`redactor`: what every result passes before it is delivered (None: the default rules)."""
        self._redactor = redactor or Redactor()
        if concurrency < 1 or timeout_s <= 0:
            raise ValueError(f"expected concurrency >= 1 and timeout_s > 0; got {concurrency}, {timeout_s}")
        self._stamper = Stamper("worker:background")
        self._calculator = Calculator()
        self._faq = FaqSearch()
        self._facts = facts
        self._fallback = fallback
        self._deliver = deliver
        self._slots = asyncio.Semaphore(concurrency)
        self._timeout_s = timeout_s
        self._running: set[asyncio.Task[None]] = set()

    def route(self, task: str) -> Tool:
        """The tool for `task`: arithmetic, session facts, else the LLM if configured, else the FAQ."""
        if Calculator.finds(task):
            return self._calculator
        if SessionFacts.finds(task):
            return self._facts
        return self._fallback or self._faq

    def submit(self, task: BackgroundTask) -> asyncio.Task[None]:
        """Start `task` in the background; returns the asyncio task (for draining and tests)."""
        running = asyncio.create_task(self._run(task))
        self._running.add(running)
        running.add_done_callback(self._running.discard)
        return running

    async def drain(self) -> None:
        """Wait for every submitted task (worker shutdown, tests)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def run_one(self, task: BackgroundTask) -> BackgroundResult:
        """Run `task` now and return its result; never raises for a tool's failure, whatever it is:
        a ToolError or any other exception is status "error", running past the timeout "timeout"."""
        tool = self.route(task.task)
        started = time.monotonic()
        context = {**task.context, "session_id": task.session_id}
        status: str = "ok"
        try:
            answer = await asyncio.wait_for(tool.run(task.task, context), self._timeout_s)
        except TimeoutError:
            status, answer = "timeout", f"{tool.name} did not answer within {self._timeout_s:.0f} s"
        except ToolError as exc:
            status, answer = "error", str(exc)
        except Exception as exc:  # any failure of a tool is the task's result, never a lost record
            log.exception("background_tool_failed", session_id=task.session_id, turn=task.turn, tool=tool.name)
            status, answer = "error", f"{tool.name} failed ({type(exc).__name__}): {exc}"[:2000]
        metrics.BACKGROUND_TASKS.labels(status).inc()
        log.info(
            "background_task_done",
            session_id=task.session_id,
            turn=task.turn,
            tool=tool.name,
            status=status,
            ms=round((time.monotonic() - started) * 1000, 1),
        )
        redacted = self._redactor.redact(answer)
        metrics.redacted("background", redacted.counts)
        return self._stamper.derive(
            BackgroundResult,
            task,
            "result",
            task_id=task.task_id,
            result=redacted.text,
            tool=tool.name,
            status=status,  # type: ignore[arg-type]
        )

    async def _run(self, task: BackgroundTask) -> None:
        async with self._slots:
            result = await self.run_one(task)
        await self._deliver(task, result)
