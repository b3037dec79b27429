"""The archive's sessions, evaluated: what `eval --fleet` and `report --fleet` read."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from replay.errors import ReplayError
from replay.evaluation.metrics import Tally
from replay.evaluation.scores import EvalReport, ScoreCache, SessionScore

if TYPE_CHECKING:
    import duckdb

    from replay.evaluation.evaluate import Model


def archived_sessions(root: Path, latest: int | None = None) -> list[str]:
    """Ids of every session the archive at `root` holds, sorted; with `latest`, only the `latest`
    sessions that started last."""
    from replay.analytics import connect

    con = connect(root)
    try:
        return sessions_in(con, latest)
    finally:
        con.close()


def sessions_in(con: duckdb.DuckDBPyConnection, latest: int | None = None) -> list[str]:
    """`archived_sessions` over a connection already open on the archive (`replay.analytics.connect`)."""
    if latest is None:
        rows = con.execute("SELECT DISTINCT session_id FROM sessions ORDER BY 1").fetchall()
    else:
        rows = con.execute(
            "SELECT session_id FROM (SELECT session_id, max(started_at) AS t FROM sessions GROUP BY 1) "
            "ORDER BY t DESC NULLS LAST, session_id LIMIT ?",
            [latest],
        ).fetchall()
    return sorted(str(row[0]) for row in rows)


def evaluate_archive(root: Path, session_ids: list[str], model: Model | None = None) -> tuple[EvalReport, list[str]]:
    """Sessions of the archive scored (recorded outputs, or `model`'s what-if); also the ids of
    sessions skipped because they cannot be evaluated (no audio or no outputs, erased), each logged.

    Recorded-output scores are read from the archive's kept scores where they exist, and kept once a
    session's final output is archived (`replay.evaluation.scores`): only new sessions cost a VAD run.
    """
    cache = ScoreCache(root) if model is None else None
    scores: list[SessionScore] = []
    skipped: list[str] = []
    for session_id in session_ids:
        kept = cache.get(session_id) if cache is not None else None
        if kept is not None:
            scores.append(kept)
            continue
        try:
            scores.append(_score(root, session_id, model, cache))
        except ReplayError as exc:
            import structlog  # here, not at module level: kept scores log nothing (`report --fleet` start-up)

            structlog.get_logger(__name__).warning("session_not_evaluated", session_id=session_id, reason=str(exc))
            skipped.append(session_id)
    total = Tally()
    for item in scores:
        total.add(item.tally)
    return EvalReport("recorded" if model is None else model.version, tuple(scores), total), skipped


def _score(root: Path, session_id: str, model: Model | None, cache: ScoreCache | None) -> SessionScore:
    from replay.evaluation.evaluate import evaluate_session
    from replay.session.sources import from_archive

    recording = from_archive(root, session_id)
    score = evaluate_session(recording, model)
    if cache is not None and any(o.final for o in recording.outputs):
        cache.put(score)  # the session is over: its score cannot change
    return score


def headline(doc: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of an eval document (what `report --fleet` shows)."""
    return {
        "sessions": doc["sessions"],
        "pause_takeover_rate": doc["pause"]["takeover_rate"],
        "backchannel_per_minute": doc["backchannel"]["per_minute"],
        "smooth_takeover_rate": doc["smooth_turn_taking"]["takeover_rate"],
        "smooth_latency_s": doc["smooth_turn_taking"]["latency_s"]["mean"],
        "interruption_yield_rate": doc["interruption"]["takeover_rate"],
        "interruption_latency_s": doc["interruption"]["latency_s"]["mean"],
    }
