"""The background agent's built-in tools; each answers a task from data it has offline.

A tool is a name and an async `run(task, context) -> str`. `route()` picks one per task.
"""

from __future__ import annotations

import ast
import asyncio
import json
import math
import operator
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Protocol

import duckdb

from processors.errors import ProcessorError

FAQ_PATH = Path(__file__).with_name("faq.jsonl")


class Tool(Protocol):
    name: str

    async def run(self, task: str, context: Mapping[str, str]) -> str:
        """The answer to `task`, as text the model reads; raise ToolError when it cannot answer."""
        ...


class ToolError(ProcessorError):
    """A tool could not answer; the result records status "error" with this message."""


_OPS: dict[type, Callable[..., float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_EXPRESSION = re.compile(r"[\d.]+(?:\s*(?:\*\*|//|[-+*/%()])\s*[\d.()]+)+")

MAX_EXPRESSION_CHARS = 200
"""Longest arithmetic expression the calculator takes."""
MAX_NODES = 64
"""Most syntax-tree nodes (numbers and operators) in one expression."""
MAX_MAGNITUDE = 10**100
"""Largest absolute value of any number, operand or intermediate result (about 333 bits)."""
MAX_EXPONENT = 64
"""Largest absolute exponent of `**`."""


class Calculator:
    """Arithmetic found in the task (+ - * / // % ** and parentheses), evaluated without eval().

    Cost is bounded before anything is computed: at most MAX_EXPRESSION_CHARS characters and
    MAX_NODES syntax nodes, every value within MAX_MAGNITUDE, exponents within MAX_EXPONENT and
    a power whose result would leave that range is refused without computing it. So one
    evaluation takes microseconds whatever the task says; it still runs in a worker thread, so
    even that never blocks the event loop that serves real-time sessions.
    """

    name = "calculator"

    @staticmethod
    def finds(task: str) -> bool:
        return _EXPRESSION.search(task) is not None

    async def run(self, task: str, context: Mapping[str, str]) -> str:
        match = _EXPRESSION.search(task)
        if match is None:
            raise ToolError(f"expected an arithmetic expression in the task; got {task[:200]!r}")
        expression = match.group(0)
        if len(expression) > MAX_EXPRESSION_CHARS:
            raise ToolError(
                f"expected an expression of at most {MAX_EXPRESSION_CHARS} characters; got {len(expression)}"
            )
        value = await asyncio.to_thread(self._evaluate, expression)
        shown = int(value) if isinstance(value, int) or value.is_integer() else round(value, 6)
        return f"{expression} = {shown}"

    @staticmethod
    def _evaluate(expression: str) -> float:
        """The value of `expression`; raises ToolError for anything out of bounds or invalid."""
        try:
            tree = ast.parse(expression, mode="eval")
            nodes = sum(1 for _ in ast.walk(tree))
            if nodes > MAX_NODES:
                raise ValueError(f"expected at most {MAX_NODES} numbers and operators; got {nodes}")
            return _bounded(_eval(tree.body))
        except (SyntaxError, ZeroDivisionError, OverflowError, ValueError, TypeError, RecursionError) as exc:
            raise ToolError(f"cannot evaluate {expression!r}: {exc}") from exc


def _bounded(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a real number; got a {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise OverflowError("result is not finite")
    if abs(value) > MAX_MAGNITUDE:
        raise OverflowError(f"a value exceeds {MAX_MAGNITUDE:.0e} in magnitude")
    return value


def _eval(node: ast.AST) -> float:
    """Each node evaluated once, every value checked against the bounds."""
    if isinstance(node, ast.Constant):
        return _bounded(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _bounded(_OPS[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _bounded(_OPS[type(node.op)](_eval(node.operand)))
    raise ValueError(f"unsupported element {type(node).__name__}")


def _check_power(base: float, exponent: float) -> None:
    if abs(exponent) > MAX_EXPONENT:
        raise ValueError(f"exponent too large: expected at most {MAX_EXPONENT} in magnitude; got {exponent:.6g}")
    if base < 0 and not float(exponent).is_integer():
        raise ValueError("a negative number to a fractional power is not a real number")
    if abs(base) > 1 and exponent > 0 and exponent * math.log10(abs(base)) > math.log10(MAX_MAGNITUDE):
        raise OverflowError(f"{base:.6g} ** {exponent:.6g} exceeds {MAX_MAGNITUDE:.0e}")


MAX_QUERY_CHARS = 2000
"""Longest FAQ search query; a longer task is cut."""


class FaqSearch:
    """Full-text search (DuckDB fts, BM25) over the bundled contact-center FAQ."""

    name = "faq_search"

    def __init__(self, path: Path = FAQ_PATH) -> None:
        import duckdb_extension_fts

        extension = next(Path(duckdb_extension_fts.__file__).parent.rglob("fts.duckdb_extension"))
        self._db = duckdb.connect()
        self._db.execute(f"LOAD '{extension}'")
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        self._db.execute("CREATE TABLE faq (id INTEGER, question TEXT, answer TEXT)")
        self._db.executemany("INSERT INTO faq VALUES (?, ?, ?)", [(r["id"], r["question"], r["answer"]) for r in rows])
        self._db.execute("PRAGMA create_fts_index('faq', 'id', 'question', 'answer')")

    async def run(self, task: str, context: Mapping[str, str]) -> str:
        """Searches in a worker thread (its own cursor), with the query cut to MAX_QUERY_CHARS."""
        query = task[:MAX_QUERY_CHARS]
        row = await asyncio.to_thread(self._search, query)
        if row is None:
            raise ToolError(f"no FAQ entry matches {query[:200]!r}")
        return f"{row[1]} (FAQ: {row[0]})"

    def _search(self, query: str) -> tuple[str, str] | None:
        cursor = self._db.cursor()  # a connection is not shared between threads; a cursor per search
        try:
            row = cursor.execute(
                "SELECT question, answer FROM (SELECT *, fts_main_faq.match_bm25(id, ?) AS score FROM faq) "
                "WHERE score IS NOT NULL ORDER BY score DESC LIMIT 1",
                [query],
            ).fetchone()
        finally:
            cursor.close()
        return (str(row[0]), str(row[1])) if row is not None else None


SessionText = Callable[[str], Awaitable[list[tuple[int, str]]]]
"""Reads a session's text events as (event_time_ms, text), in time order, from the log."""


class SessionFacts:
    """Elapsed time and what was said, answered from the session's own events."""

    name = "session_facts"
    _ELAPSED = re.compile(r"how long|elapsed|how much time", re.I)
    _START = re.compile(r"at the (start|beginning)|first thing|what did i say", re.I)

    def __init__(self, session_text: SessionText) -> None:
        self._session_text = session_text

    @classmethod
    def finds(cls, task: str) -> bool:
        return bool(cls._ELAPSED.search(task) or cls._START.search(task))

    async def run(self, task: str, context: Mapping[str, str]) -> str:
        if self._START.search(task):
            lines = await self._session_text(context["session_id"])
            if not lines:
                raise ToolError(f"session {context['session_id']} has no text yet")
            at, text = lines[0]
            return f"At {at / 1000:.1f} s you said: {text}"
        seconds = int(context.get("elapsed_ms", "0")) // 1000
        return f"You have been talking for {seconds // 60} min {seconds % 60} s."
