"""SQL over the archive: DuckDB views, the session timeline and the fleet report."""

from replay.analytics.fleet import fleet_report
from replay.analytics.report import session_report
from replay.analytics.shape import SPEECH_RMS
from replay.analytics.views import connect, query

__all__ = ["SPEECH_RMS", "connect", "fleet_report", "query", "session_report"]
