"""Replaying a recorded session: exactly (same model, every output compared) or what-if (other weights).

recording = await from_kafka(bootstrap, Topics(prefix), "call-42")   # or from_archive(root, "call-42")
report = replay(recording, load_network(repository_params()))        # WeightsUnavailable if not the recorded model
report.identical, report.first_divergence, report.speed_x_realtime
what_if(recording, load_checkpoint(path)).as_dict()                  # per-turn differences
"""

from replay.session.errors import IncompatibleModel, SessionNotFound, SourceUnavailable, WeightsUnavailable
from replay.session.exact import ReplayReport, replay
from replay.session.recording import Recording
from replay.session.sources import from_archive, from_kafka
from replay.session.whatif import WhatIfReport, what_if

__all__ = [
    "IncompatibleModel",
    "Recording",
    "ReplayReport",
    "SessionNotFound",
    "SourceUnavailable",
    "WeightsUnavailable",
    "WhatIfReport",
    "from_archive",
    "from_kafka",
    "replay",
    "what_if",
]
