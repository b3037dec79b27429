"""The conversation's shape, in SQL over the event views: who speaks when, responses, talk-over.

One definition each, used by the views of the same name, by `microturn report SESSION` and, over
materialized segments, by the fleet aggregate (`replay.analytics.fleet`):

    turn_activity     per (session, turn): caller RMS and whether the caller speaks (RMS at least
                      SPEECH_RMS), the model's action and whether it speaks (SPEAK), and
                      `pipeline_ms` (input produced -> output produced, wall clock)
    caller_segments   runs of consecutive turns in which the caller speaks: start_turn, end_turn
    model_segments    runs of consecutive SPEAK turns, with the pipeline_ms of their first turn
                      (both read from `_kept_segments`: the segments kept beside the archive,
                      `replay.analytics.kept_segments`, or `segments_sql()` where none can be kept)
    overlap_segments  where a caller and a model segment overlap (talk-over)
    responses         per caller segment end (the caller stops after turn e): `talked_over` if the
                      model speaks at e; otherwise the next model segment, if it starts before the
                      caller resumes, is the response: `latency_ms` = 200 * (start - e) + its
                      pipeline_ms, from the end of the caller's speech to the model's output.
    delegations       per DELEGATE output: its task, result, how long the result took (wall clock)
                      and the turn it was delivered in.
"""

from __future__ import annotations

SPEECH_RMS = 0.02
"""Audio RMS (full scale = 1) from which a turn counts as speech: about -34 dBFS."""

PIPELINE_NS = "CASE WHEN input_wall_time_ns > 0 THEN wall_time_ns - input_wall_time_ns END"
"""Input produced -> output produced, wall clock, in ns (NULL when the input time is unknown)."""
PIPELINE_MS = f"({PIPELINE_NS}) / 1e6"
"""The same in milliseconds."""

_TURN_ACTIVITY = f"""
SELECT session_id, turn, turn * 200 AS start_ms, coalesce(a.rms, 0) AS caller_rms,
       coalesce(a.rms, 0) >= {SPEECH_RMS} AS caller_speaking, o.action,
       coalesce(o.action = 'SPEAK', false) AS model_speaking, o.audio_rms AS model_rms,
       o.pipeline_ms
FROM (SELECT session_id, turn, rms FROM audio_chunks) a
FULL OUTER JOIN (SELECT session_id, turn, action, audio_rms, {PIPELINE_MS} AS pipeline_ms FROM outputs) o
USING (session_id, turn)
"""


def _islands(partitioned: bool) -> str:
    return "PARTITION BY session_id ORDER BY turn" if partitioned else "ORDER BY session_id, turn"


def caller_segments_sql(audio: str = "audio_chunks", partitioned: bool = True) -> str:
    """Runs of speaking turns per session.

    Gaps and islands: with a session's speaking turns in order, turn - row_number() is constant
    within a run and grows at every gap, so (session, that difference) names the run. `partitioned`
    numbers rows per session, so that a filter on session_id reaches the Parquet scan (the views);
    otherwise across all sessions at once, which gives the same runs for less work over the fleet.
    """
    return f"""
    SELECT session_id, min(turn) AS start_turn, max(turn) AS end_turn
    FROM (SELECT session_id, turn, turn - row_number() OVER ({_islands(partitioned)}) AS island
          FROM {audio} WHERE rms >= {SPEECH_RMS})
    GROUP BY session_id, island"""


def model_segments_sql(outputs: str = "outputs", partitioned: bool = True) -> str:
    """Runs of SPEAK turns per session (as in `caller_segments_sql`), with the pipeline latency of each
    run's first turn."""
    return f"""
    SELECT session_id, min(turn) AS start_turn, max(turn) AS end_turn, arg_min(pipeline_ms, turn) AS start_pipeline_ms
    FROM (SELECT session_id, turn, {PIPELINE_MS} AS pipeline_ms,
                 turn - row_number() OVER ({_islands(partitioned)}) AS island
          FROM {outputs} WHERE action = 'SPEAK')
    GROUP BY session_id, island"""


KEPT = "_kept_segments"
"""The view every segment question reads: (session_id, speaker 'caller' | 'model', start_turn,
end_turn, start_pipeline_ms), one row per segment, as `segments_sql()` computes them."""


def segments_sql(audio: str = "audio_chunks", outputs: str = "outputs", partitioned: bool = True) -> str:
    """Every session's caller and model segments, one row each (the columns of `KEPT`)."""
    return f"""
    SELECT session_id, 'caller' AS speaker, start_turn, end_turn, NULL::DOUBLE AS start_pipeline_ms
    FROM ({caller_segments_sql(audio, partitioned)})
    UNION ALL
    SELECT session_id, 'model' AS speaker, start_turn, end_turn, start_pipeline_ms::DOUBLE
    FROM ({model_segments_sql(outputs, partitioned)})"""


def responses_sql(caller: str = "caller_segments", model: str = "model_segments") -> str:
    """Per caller stop: talked over, or the model's response and its latency (see the module docstring).

    One ASOF join finds, for the turn e where the caller stops, the last model segment starting at
    or before e (a sentinel segment at turn -1 stands in when there is none): it covers e (talk-over)
    or the segment after it is the next one the model starts.
    """
    answered = "NOT coalesce(m.end_turn >= s.end_turn, false) AND m.next_start <= coalesce(s.resumes, m.next_start)"
    return f"""
    WITH m AS (
        SELECT session_id, start_turn, end_turn, lead(start_turn) OVER w AS next_start,
               lead(start_pipeline_ms) OVER w AS next_pipeline_ms
        FROM (SELECT session_id, start_turn, end_turn, start_pipeline_ms FROM {model}
              UNION ALL SELECT session_id, -1, -1, NULL FROM {model} GROUP BY session_id)
        WINDOW w AS (PARTITION BY session_id ORDER BY start_turn)
    ), s AS (
        SELECT session_id, end_turn, lead(start_turn) OVER (PARTITION BY session_id ORDER BY start_turn) AS resumes
        FROM {caller}
    )
    SELECT s.session_id, s.end_turn AS stop_turn, (s.end_turn + 1) * 200 AS stopped_at_ms,
           coalesce(m.end_turn >= s.end_turn, false) AS talked_over,
           CASE WHEN {answered} THEN m.next_start END AS response_turn,
           CASE WHEN {answered} THEN 200 * (m.next_start - s.end_turn) + coalesce(m.next_pipeline_ms, 0)
           END AS latency_ms
    FROM s ASOF LEFT JOIN m ON s.session_id = m.session_id AND s.end_turn >= m.start_turn"""


def overlaps_sql(caller: str = "caller_segments", model: str = "model_segments") -> str:
    """Where caller and model segments overlap: both speak (talk-over)."""
    return f"""
    SELECT c.session_id, greatest(c.start_turn, m.start_turn) AS start_turn, least(c.end_turn, m.end_turn) AS end_turn
    FROM {caller} c JOIN {model} m
      ON c.session_id = m.session_id AND m.start_turn <= c.end_turn AND m.end_turn >= c.start_turn"""


DELEGATION_RESULTS = """
SELECT o.session_id, o.turn, o.delegate AS task, t.task_id, r.event_id AS result_event_id, r.status, r.tool,
       (r.wall_time_ns - t.wall_time_ns) / 1e6 AS result_ms
FROM outputs o
LEFT JOIN background_tasks t ON t.session_id = o.session_id AND t.turn = o.turn
LEFT JOIN background_results r ON r.session_id = o.session_id AND r.task_id = t.task_id
WHERE o.action = 'DELEGATE'
"""
"""Per DELEGATE output (the task is keyed by the delegating turn): its task and result, and how long
the result took from the task's publication (wall clock). Both joins name `o.session_id` (equal to
`t.session_id` wherever a task matched), so a filter on the session reaches every table's scan."""

_DELEGATIONS = f"""
SELECT g.* EXCLUDE (result_event_id), d.turn AS delivered_turn, (d.turn - g.turn) * 200 AS delivered_after_ms
FROM ({DELEGATION_RESULTS}) g
LEFT JOIN (SELECT session_id, turn, unnest(event_ids) AS event_id FROM turns WHERE background <> '') d
       ON d.session_id = g.session_id AND d.event_id = g.result_event_id
"""


def shape_views() -> dict[str, str]:
    """View name -> its SELECT, in creation order (each may use the ones before it, and `KEPT`)."""
    return {
        "turn_activity": _TURN_ACTIVITY,
        "caller_segments": f"SELECT session_id, start_turn, end_turn FROM {KEPT} WHERE speaker = 'caller'",
        "model_segments": (
            f"SELECT session_id, start_turn, end_turn, start_pipeline_ms FROM {KEPT} WHERE speaker = 'model'"
        ),
        "overlap_segments": overlaps_sql(),
        "responses": responses_sql(),
        "delegations": _DELEGATIONS,
    }
