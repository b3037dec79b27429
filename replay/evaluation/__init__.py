"""Turn-taking evaluation in the terms of Full-Duplex-Bench v1, from the log (docs/evaluation.md).

report = evaluate(recordings, load_model("harness"))   # or model=None: the recorded outputs

The exports resolve on first use: the evaluator loads torch and the VAD, which a fleet report
whose scores are kept (`replay.evaluation.scores`) never needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.lazy import lazy_exports

if TYPE_CHECKING:
    from replay.evaluation.errors import EvaluationError, LabelError
    from replay.evaluation.evaluate import evaluate, load_model
    from replay.evaluation.labels import LABELS_KEY, Labels, Moment
    from replay.evaluation.scores import EvalReport

__all__ = ["LABELS_KEY", "EvalReport", "EvaluationError", "LabelError", "Labels", "Moment", "evaluate", "load_model"]

_HOME = {
    "EvaluationError": "errors",
    "LabelError": "errors",
    "evaluate": "evaluate",
    "load_model": "evaluate",
    "LABELS_KEY": "labels",
    "Labels": "labels",
    "Moment": "labels",
    "EvalReport": "scores",
}


__getattr__ = lazy_exports(__name__, _HOME)
