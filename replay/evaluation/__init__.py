"""Turn-taking evaluation in the terms of Full-Duplex-Bench v1, from the log (docs/evaluation.md).

report = evaluate(recordings, load_model("harness"))   # or model=None: the recorded outputs
"""

from __future__ import annotations

from replay.evaluation.errors import EvaluationError, LabelError
from replay.evaluation.evaluate import EvalReport, evaluate, load_model
from replay.evaluation.labels import LABELS_KEY, Labels, Moment

__all__ = ["LABELS_KEY", "EvalReport", "EvaluationError", "LabelError", "Labels", "Moment", "evaluate", "load_model"]
