"""Turn-taking evaluation in the terms of Full-Duplex-Bench v1, from the log (docs/evaluation.md).

report = evaluate(recordings, load_model("harness"))   # or model=None: the recorded outputs

The exports resolve on first use: the evaluator loads torch and the VAD, which a fleet report
whose scores are kept (`replay.evaluation.scores`) never needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value
