"""`microturn report --fleet`: the session report's figures, aggregated over every archived session.

One SQL statement built from the same definitions as the views (`replay.analytics.shape`), so the
per-session and the fleet figures agree. It reads no payload column: on the archive's Parquet
files that is a few small columns per turn.
"""

from __future__ import annotations

from typing import Any

import duckdb

from replay.analytics.shape import (
    DELEGATION_RESULTS,
    PIPELINE_NS,
    SPEECH_RMS,
    overlaps_sql,
    responses_sql,
)
from replay.errors import ReplayError

FLEET_SQL = f"""
WITH c AS MATERIALIZED (SELECT session_id, start_turn, end_turn FROM caller_segments),
m AS MATERIALIZED (SELECT session_id, start_turn, end_turn, start_pipeline_ms FROM model_segments),
r AS (
    SELECT count(*) AS caller_stops, count(latency_ms) AS answered, count(*) FILTER (WHERE talked_over) AS talked_over,
           quantile_disc(latency_ms, [0.5, 0.95]) AS response_ms
    FROM ({responses_sql("c", "m")})
), ov AS (
    SELECT coalesce(sum(end_turn - start_turn + 1), 0) AS overlap_turns FROM ({overlaps_sql("c", "m")})
), o AS (
    SELECT count(*) AS turns, count(*) FILTER (WHERE action = 'SPEAK') AS model_turns,
           count(*) FILTER (WHERE action = 'BACKCHANNEL') AS backchannels,
           quantile_disc({PIPELINE_NS}, [0.5, 0.95]) AS pipeline_ns
    FROM outputs
), a AS (
    SELECT count(*) FILTER (WHERE rms >= {SPEECH_RMS}) AS caller_turns FROM audio_chunks
), d AS (
    SELECT count(*) AS delegations, count(result_ms) AS delegation_results,
           quantile_disc(result_ms, [0.5, 0.95]) AS delegation_ms
    FROM ({DELEGATION_RESULTS})
)
SELECT (SELECT count(*) FROM sessions) AS sessions, o.turns, a.caller_turns, o.model_turns, ov.overlap_turns,
       round(ov.overlap_turns / nullif(o.model_turns, 0), 4) AS talk_over_ratio, o.backchannels, o.pipeline_ns,
       r.*, d.*, (SELECT count(*) FROM dead_letters) AS dead_letters
FROM o, a, ov, r, d
"""
"""The fleet aggregate, one row. Caller and model segments are the kept ones
(`replay.analytics.kept_segments`), read once (materialized) and shared by the response and
talk-over figures; `turns` counts the model's outputs; percentiles are
nearest-rank (`quantile_disc`: always a latency that occurred)."""

DEAD_LETTERS_SQL = """
SELECT split_part(reason, ':', 1) AS source, count(*) AS n FROM dead_letters GROUP BY ALL ORDER BY n DESC LIMIT 10
"""
"""Dead letters by where they came from (topic[partition]@offset is the reason's first part)."""


def _ms(values: list[float] | None, per_ms: float = 1.0) -> dict[str, float | None]:
    p50, p95 = values if values else (None, None)
    return {
        "p50": None if p50 is None else round(p50 / per_ms, 1),
        "p95": None if p95 is None else round(p95 / per_ms, 1),
    }


def fleet_report(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The fleet document (what `microturn report --fleet --json` prints)."""
    try:
        result = con.execute(FLEET_SQL)
        names = [d[0] for d in result.description or ()]
        row = dict(zip(names, result.fetchone() or (), strict=True))
        by_topic = con.execute(DEAD_LETTERS_SQL).fetchall()
    except duckdb.Error as exc:
        raise ReplayError(f"fleet report: the aggregate over the archive failed: {exc}") from exc
    return {
        "sessions": row["sessions"],
        "turns": row["turns"],
        "response_latency_ms": {
            **_ms(row["response_ms"]),
            "answered": row["answered"],
            "talked_over": row["talked_over"],
            "caller_stops": row["caller_stops"],
        },
        "pipeline_ms": _ms(row["pipeline_ns"], per_ms=1e6),
        "talk_over_ratio": row["talk_over_ratio"],
        "speech_turns": {"caller": row["caller_turns"], "model": row["model_turns"], "overlap": row["overlap_turns"]},
        "backchannels": row["backchannels"],
        "delegations": {
            "count": row["delegations"],
            "results": row["delegation_results"],
            "result_ms": _ms(row["delegation_ms"]),
        },
        "dead_letters": {"count": row["dead_letters"], "by_source": {source: n for source, n in by_topic}},
    }


def describe_fleet(doc: dict[str, Any]) -> str:
    """The human-readable fleet summary."""
    lat, pipe, dl = doc["response_latency_ms"], doc["pipeline_ms"], doc["dead_letters"]
    dele = doc["delegations"]
    lines = [
        f"sessions {doc['sessions']}, turns {doc['turns']}",
        f"response latency  p50 {lat['p50']} ms  p95 {lat['p95']} ms  ({lat['answered']} of {lat['caller_stops']} "
        f"caller stops answered, {lat['talked_over']} talked over)",
        f"pipeline latency  p50 {pipe['p50']} ms  p95 {pipe['p95']} ms",
        f"talk-over ratio   {doc['talk_over_ratio']}  (turns both speak / turns the model speaks)",
        f"backchannels      {doc['backchannels']}",
        f"delegations       {dele['count']}, {dele['results']} with results: p50 {dele['result_ms']['p50']} ms, "
        f"p95 {dele['result_ms']['p95']} ms",
        f"dead letters      {dl['count']}" + "".join(f"\n  {n:8d}  {source}" for source, n in dl["by_source"].items()),
    ]
    turn_taking = doc.get("turn_taking")
    if turn_taking:
        lines.append(
            f"turn-taking       (the {turn_taking['sessions']} latest sessions; `microturn eval --fleet` for all) "
            f"pause takeover "
            f"{turn_taking['pause_takeover_rate']}, smooth takeover {turn_taking['smooth_takeover_rate']} "
            f"latency {turn_taking['smooth_latency_s']} s, interruption yield {turn_taking['interruption_yield_rate']} "
            f"latency {turn_taking['interruption_latency_s']} s, "
            f"backchannels/min {turn_taking['backchannel_per_minute']}"
        )
    return "\n".join(lines)
