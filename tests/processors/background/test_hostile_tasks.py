"""Hostile tasks: every tool runs with bounded cost off the event loop, and every failure is a result."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.background import BackgroundAgent, Calculator, SessionFacts, ToolError
from schemas import BackgroundResult, BackgroundTask
from tests.processors.background.test_agent import no_text, task

TOWERS = [
    "9**9**9**9**9**9**9**9**9**9**9**9**9**9**9**9**9**9**9**9**9**9",  # 22 levels: 23 s on the event loop
    "1**" * 21 + "1",  # every exponent small: the old evaluator took 2**22 steps (23 s)
    "2**64**64",
    "9**9**9",
    "99999999999**64",
    "(10**60)*(10**60)*(10**60)",
    "10.0**60 * 10.0**60",
    "10.0**400",
    "(-8)**0.5",
    "0**-1",
    "((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))",
    "1" + "+1" * 400,
    "9" * 5000 + "*2",
]


@pytest.mark.parametrize("expression", TOWERS, ids=range(len(TOWERS)))
async def test_a_costly_or_invalid_expression_is_a_tool_error(expression: str) -> None:
    with pytest.raises(ToolError):
        await Calculator().run(f"what is {expression}", {})


async def test_bounded_expressions_still_evaluate() -> None:
    assert await Calculator().run("2 ** 10 ** 1", {}) == "2 ** 10 ** 1 = 1024"
    assert await Calculator().run("what is 1.5 * 4", {}) == "1.5 * 4 = 6"
    assert await Calculator().run("7//2 + 7 % 2", {}) == "7//2 + 7 % 2 = 4"


async def test_the_calculator_evaluates_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    evaluate = Calculator._evaluate

    def spy(expression: str) -> float:
        threads.append(threading.get_ident())
        return evaluate(expression)

    monkeypatch.setattr(Calculator, "_evaluate", staticmethod(spy))
    assert await Calculator().run("3 * 4", {}) == "3 * 4 = 12"
    assert threads and threads[0] != threading.get_ident()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789.+-*/%() e", max_size=120))
def test_any_arithmetic_looking_text_is_an_answer_or_a_tool_error(text: str) -> None:
    async def run() -> None:
        try:
            answer = await Calculator().run(text, {})
        except ToolError as exc:
            assert str(exc)
        else:
            assert " = " in answer and len(answer) < 1000

    asyncio.run(run())


async def test_any_exception_of_a_tool_becomes_an_error_result_and_the_task_is_delivered() -> None:
    class Broken:
        name = "broken"

        async def run(self, text: str, context: object) -> str:
            raise RuntimeError("kaputt")

    delivered: list[BackgroundResult] = []

    async def deliver(t: BackgroundTask, r: BackgroundResult) -> None:
        delivered.append(r)

    agent = BackgroundAgent(SessionFacts(no_text), deliver, fallback=Broken())
    agent.submit(task("tell me something"))
    agent.submit(task("what is 9**9**9**9**9", seq=1))
    await agent.drain()
    by_seq = {r.seq: r for r in delivered}
    assert by_seq[0].status == "error" and "RuntimeError" in by_seq[0].result and "kaputt" in by_seq[0].result
    assert by_seq[1].status == "error" and by_seq[1].tool == "calculator"


async def test_a_giant_faq_query_is_cut_and_answered() -> None:
    from processors.background import FaqSearch

    answer = await FaqSearch().run("how can I reset my password " + "zzz " * 250_000, {})
    assert "Reset password" in answer
