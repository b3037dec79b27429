"""The background agent and its tools, offline (DuckDB full-text search is real)."""

from __future__ import annotations

import asyncio

import pytest

from processors.background import BackgroundAgent, Calculator, FaqSearch, SessionFacts, ToolError
from schemas import BackgroundResult, BackgroundTask, event_id


async def no_text(session_id: str) -> list[tuple[int, str]]:
    return [(1200, "I want to ask about my invoice"), (5000, "and my card")]


def task(text: str, seq: int = 0, elapsed_ms: int = 95_000) -> BackgroundTask:
    return BackgroundTask(
        event_id=event_id("s", "task", seq),
        session_id="s",
        seq=seq,
        event_time_ms=elapsed_ms - 200,
        turn=seq,
        task_id=event_id("s", "task", seq),
        task=text,
        context={"elapsed_ms": str(elapsed_ms)},
    )


async def test_the_calculator_evaluates_arithmetic_without_eval() -> None:
    assert await Calculator().run("what is 12 * (3 + 4) / 2 please", {}) == "12 * (3 + 4) / 2 = 42"
    with pytest.raises(ToolError, match="cannot evaluate"):
        await Calculator().run("1 / 0 + 1", {})
    with pytest.raises(ToolError, match="exponent too large"):
        await Calculator().run("2 ** 99999", {})


async def test_faq_search_finds_the_best_matching_entry() -> None:
    answer = await FaqSearch().run("I forgot my password, how can I reset it", {})
    assert "Reset password" in answer
    with pytest.raises(ToolError, match="no FAQ entry"):
        await FaqSearch().run("zzz qqq", {})


async def test_session_facts_answer_from_the_sessions_own_events() -> None:
    facts = SessionFacts(no_text)
    assert await facts.run("how long have I been talking?", {"elapsed_ms": "95000", "session_id": "s"}) == (
        "You have been talking for 1 min 35 s."
    )
    assert await facts.run("what did I say at the start?", {"session_id": "s"}) == (
        "At 1.2 s you said: I want to ask about my invoice"
    )


async def test_tasks_run_concurrently_bounded_and_a_slow_one_times_out() -> None:
    delivered: list[BackgroundResult] = []

    async def deliver(t: BackgroundTask, r: BackgroundResult) -> None:
        delivered.append(r)

    class Slow:
        name = "slow"
        running = 0
        peak = 0

        async def run(self, text: str, context: object) -> str:
            Slow.running += 1
            Slow.peak = max(Slow.peak, Slow.running)
            try:
                await asyncio.sleep(5 if "stuck" in text else 0.05)
            finally:
                Slow.running -= 1
            return "done"

    agent = BackgroundAgent(SessionFacts(no_text), deliver, fallback=Slow(), concurrency=2, timeout_s=0.5)
    for i, text in enumerate(["stuck forever", "a", "b", "c", "d"]):
        agent.submit(task(text, seq=i))
    await agent.drain()
    by_seq = {r.seq: r for r in delivered}
    assert by_seq[0].status == "timeout" and "did not answer" in by_seq[0].result
    assert all(by_seq[i].status == "ok" and by_seq[i].result == "done" for i in range(1, 5))
    assert Slow.peak == 2  # the semaphore bounds concurrency
    assert by_seq[3].event_id == event_id("s", "result", 3) and by_seq[3].task_id == event_id("s", "task", 3)


async def test_routing_picks_the_tool_by_what_the_task_asks() -> None:
    async def deliver(t: BackgroundTask, r: BackgroundResult) -> None:
        return None

    agent = BackgroundAgent(SessionFacts(no_text), deliver)
    assert agent.route("compute 17 + 25").name == "calculator"
    assert agent.route("how long have we been on the call").name == "session_facts"
    assert agent.route("what is the refund policy").name == "faq_search"
    result = await agent.run_one(task("what is the refund policy"))
    assert result.tool == "faq_search" and "30 days" in result.result
