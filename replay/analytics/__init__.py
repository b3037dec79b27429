"""SQL over the archive: DuckDB views, the session timeline and the fleet report.

The exports resolve on first use (PEP 562, `schemas.lazy`): a query needs only `connect`, not the
report's and the fleet's modules (with dataclasses and statistics, ~10 ms of its start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.lazy import lazy_exports

if TYPE_CHECKING:
    from replay.analytics.fleet import fleet_report
    from replay.analytics.report import session_report
    from replay.analytics.shape import SPEECH_RMS
    from replay.analytics.views import connect, query

__all__ = ["SPEECH_RMS", "connect", "fleet_report", "query", "session_report"]

_HOME = {
    "fleet_report": "fleet",
    "session_report": "report",
    "SPEECH_RMS": "shape",
    "connect": "views",
    "query": "views",
}

__getattr__ = lazy_exports(__name__, _HOME)
