"""`microturn report SESSION`: one session's timeline, from the archive's views.

Who spoke when comes from the segment views (caller: audio energy per 200 ms turn; model: its
SPEAK actions), response latencies from `responses`, delegations from `delegations`, the per-turn
picture from `turn_activity`: the same definitions the fleet report aggregates (see
`replay.analytics.shape`). The segments, overlaps and responses are one statement over the
session's segments computed once (as the fleet aggregate does); five queries in all.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

import duckdb

from replay.analytics.shape import overlaps_sql, responses_sql
from replay.errors import ReplayError
from schemas.clock import TURN_MS
from schemas.ids import escape_controls


@dataclass(frozen=True)
class Activity:
    """Per turn of one session, in turn order: what the picture and the segments are made of."""

    turns: list[int]
    caller_rms: list[float]
    caller: list[bool]
    model: list[bool]
    actions: list[str | None]
    pipeline_ms: list[float]
    """Input produced -> output produced of each output that records it (wall clock)."""


_SHAPE = f"""
WITH c AS MATERIALIZED (SELECT session_id, start_turn, end_turn FROM caller_segments WHERE session_id = $1),
m AS MATERIALIZED (SELECT session_id, start_turn, end_turn, start_pipeline_ms FROM model_segments WHERE session_id = $1)
SELECT (SELECT list([start_turn, end_turn] ORDER BY start_turn) FROM c),
       (SELECT list([start_turn, end_turn] ORDER BY start_turn) FROM m),
       (SELECT list([start_turn, end_turn] ORDER BY start_turn) FROM ({overlaps_sql("c", "m")})),
       (SELECT list({{'stopped_at_ms': stopped_at_ms, 'response_turn': response_turn, 'latency_ms': latency_ms,
                     'talked_over': talked_over}} ORDER BY stop_turn) FROM ({responses_sql("c", "m")}))
"""
"""One session's caller, model and overlap segments and its responses in one statement: the
definitions of the views of those names, over the session's segments computed once."""


def _shape(
    con: duckdb.DuckDBPyConnection, session_id: str
) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, int]], list[dict[str, Any]]]:
    """(caller, model, overlap) segments as (start_ms, end_ms), and the responses, of `session_id`."""
    row = con.execute(_SHAPE, [session_id]).fetchone() or (None, None, None, None)
    caller, model, overlap = ([(start * TURN_MS, (end + 1) * TURN_MS) for start, end in runs or ()] for runs in row[:3])
    return caller, model, overlap, list(row[3] or ())


def _length(runs: list[tuple[int, int]]) -> int:
    return sum(end - start for start, end in runs)


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p95 and max of `values` (None when there are none), rounded to 0.1."""
    if not values:
        return {"p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1), "max": round(ordered[-1], 1)}


def activity(con: duckdb.DuckDBPyConnection, session_id: str) -> Activity:
    """The per-turn activity of `session_id`."""
    rows = con.execute(
        "SELECT turn, caller_rms, caller_speaking, model_speaking, action, pipeline_ms FROM turn_activity "
        "WHERE session_id = ? ORDER BY turn",
        [session_id],
    ).fetchall()
    turns = [r for r in rows if r[0] is not None]
    return Activity(
        [r[0] for r in turns],
        [float(r[1]) for r in turns],
        [bool(r[2]) for r in turns],
        [bool(r[3]) for r in turns],
        [r[4] for r in turns],
        [float(r[5]) for r in rows if r[5] is not None],
    )


def _records(con: duckdb.DuckDBPyConnection, sql: str, session_id: str) -> list[dict[str, Any]]:
    result = con.execute(sql, [session_id])
    names = [d[0] for d in result.description or ()]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def session_report(con: duckdb.DuckDBPyConnection, session_id: str) -> dict[str, Any]:
    """The report document of `session_id` (what `microturn report SESSION --json` prints)."""
    try:
        return _session_report(con, session_id)
    except duckdb.Error as exc:
        raise ReplayError(f"report of {session_id}: a query over the archive failed: {exc}") from exc


def _session_report(con: duckdb.DuckDBPyConnection, session_id: str) -> dict[str, Any]:
    info = _records(con, "SELECT source, end_reason, duration_ms, turns FROM sessions WHERE session_id = ?", session_id)
    act = activity(con, session_id)
    if not info and not act.turns:
        raise ReplayError(
            f"session {session_id!r} is not in the archive; list sessions with "
            '`microturn query "SELECT session_id FROM sessions"`'
        )
    caller, model, overlap, responses = _shape(con, session_id)
    answered = [float(r["latency_ms"]) for r in responses if r["latency_ms"] is not None]
    pipeline = act.pipeline_ms
    backchannels = [
        {"at_ms": t * TURN_MS, "during_caller_speech": c}
        for t, a, c in zip(act.turns, act.actions, act.caller, strict=True)
        if a == "BACKCHANNEL"
    ]
    delegations = _records(
        con,
        "SELECT turn, turn * 200 AS at_ms, task, task_id, status, result_ms, "
        "delivered_after_ms FROM delegations WHERE session_id = ? ORDER BY turn",
        session_id,
    )
    actions: dict[str, int] = {}
    for a in act.actions:
        if a is not None:
            actions[a] = actions.get(a, 0) + 1
    model_ms = _length(model)
    first = info[0] if info else {}
    return {
        "session_id": session_id,
        "source": first.get("source"),
        "end_reason": first.get("end_reason"),
        "duration_ms": first.get("duration_ms") or len(act.turns) * TURN_MS,
        "turns": len(act.turns),
        "caller": {"speech_ms": _length(caller), "segments": caller},
        "model": {"speech_ms": model_ms, "segments": model, "actions": actions},
        "overlaps": {
            "total_ms": _length(overlap),
            "segments": overlap,
            "talk_over_ratio": round(_length(overlap) / model_ms, 3) if model_ms else None,
        },
        "responses": responses,
        "response_latency_ms": {
            **percentiles(answered),
            "answered": len(answered),
            "unanswered": len(responses) - len(answered),
        },
        "pipeline_ms": percentiles(pipeline),
        "backchannels": backchannels,
        "delegations": delegations,
        "dead_letters": len(_records(con, "SELECT event_id FROM dead_letters WHERE session_id = ?", session_id)),
    }


def _s(ms: float) -> str:
    return f"{ms / 1000:7.1f} s"


def describe(doc: dict[str, Any]) -> str:
    """The human-readable timeline of a report document (text from the log with control characters escaped)."""
    lines: list[tuple[float, str]] = []
    for start, end in doc["caller"]["segments"]:
        lines.append((start, f"{_s(start)}  caller  speaks {(end - start) / 1000:.1f} s"))
    for start, end in doc["model"]["segments"]:
        lines.append((start, f"{_s(start)}  model   speaks {(end - start) / 1000:.1f} s"))
    for start, end in doc["overlaps"]["segments"]:
        lines.append((start + 0.5, f"{_s(start)}  OVERLAP both speak {(end - start) / 1000:.1f} s"))
    for r in doc["responses"]:
        what = f"model answers after {r['latency_ms']:.0f} ms" if r["latency_ms"] is not None else "no answer"
        lines.append((r["stopped_at_ms"] + 0.2, f"{_s(r['stopped_at_ms'])}  caller  stops; {what}"))
    for b in doc["backchannels"]:
        lines.append((b["at_ms"] + 0.3, f"{_s(b['at_ms'])}  model   backchannel"))
    for d in doc["delegations"]:
        took = f"result after {d['result_ms']:.0f} ms" if d["result_ms"] is not None else "no result archived"
        lines.append((d["at_ms"] + 0.4, f"{_s(d['at_ms'])}  model   delegates {d['task']!r}: {took}"))
    lat, ov = doc["response_latency_ms"], doc["overlaps"]
    head = (
        f"session {escape_controls(doc['session_id'])}: {doc['duration_ms'] / 1000:.1f} s, {doc['turns']} turns, "
        f"{doc['end_reason'] or 'no end recorded'}; actions {doc['model']['actions']}"
    )
    tail = (
        f"response latency p50 {lat['p50']} ms, p95 {lat['p95']} ms ({lat['answered']} answered, "
        f"{lat['unanswered']} not); talk-over ratio {ov['talk_over_ratio']}; overlap {ov['total_ms']} ms; "
        f"dead letters {doc['dead_letters']}"
    )
    return "\n".join([head, *(text for _, text in sorted(lines)), tail])
