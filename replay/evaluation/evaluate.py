"""Evaluating recorded sessions: the archive's outputs, or a what-if model's on the same inputs.

report = evaluate([recording, ...])                   # what the served model did
report = evaluate(recordings, load_model("harness"))  # what the harness would have done
report.as_dict()                                       # the `microturn eval --json` document
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import structlog

from inference.harness import Harness
from inference.network import InteractionNetwork, NetworkError, load_checkpoint
from replay.evaluation.errors import EvaluationError
from replay.evaluation.labels import LABELS_KEY, Labels, Moment
from replay.evaluation.metrics import ModelTurn, Tally, score
from replay.evaluation.scores import EvalReport, SessionScore
from replay.evaluation.timeline import caller_audio, model_turns, speech_segments, turns_from
from replay.offline import HarnessNetwork, run_session
from replay.session.recording import Recording
from schemas import ACTIONS, SessionStarted

log = structlog.get_logger(__name__)
Model = InteractionNetwork | Harness


def load_model(spec: str) -> Model:
    """`--model`: "harness" (its config.pbtxt settings), "interaction" (the served weights), or a
    checkpoint file."""
    from inference.harness import HarnessSettings
    from inference.loading import REPOSITORY, load_network, repository_params

    if spec == "harness":
        return Harness(HarnessSettings.from_params(repository_params(REPOSITORY / "harness")))
    if spec == "interaction":
        return load_network(repository_params())
    path = Path(spec)
    if not path.is_file():
        raise EvaluationError(f"--model: expected 'harness', 'interaction' or a checkpoint file; got {spec!r}")
    try:
        return load_checkpoint(path)
    except (NetworkError, OSError) as exc:
        raise EvaluationError(f"--model {spec}: not a loadable checkpoint ({exc})") from exc


def what_if_turns(recording: Recording, model: Model) -> list[ModelTurn]:
    """What `model` does on the session's recorded MicroTurns (offline, from a fresh state)."""
    net = HarnessNetwork(model) if isinstance(model, Harness) else model
    outputs = run_session(net, recording.session_id, recording.turns)
    triples = []
    try:
        for turn, out in zip(recording.turns, outputs, strict=False):
            triples.append((turn.seq, ACTIONS[int(out.action)], out.audio.astype("<i2").tobytes()))
    except NetworkError as exc:
        raise EvaluationError(f"model {model.version} cannot run session {recording.session_id!r}: {exc}") from exc
    return turns_from(triples)


def labelled_moments(recording: Recording) -> tuple[Moment, ...] | None:
    """The session's labelled moments (SessionStarted.metadata), or None when unlabelled."""
    for event in recording.of_type(SessionStarted):
        raw = event.metadata.get(LABELS_KEY)
        if raw:
            return Labels.from_json(raw).moments
    return None


def evaluate_session(recording: Recording, model: Model | None = None) -> SessionScore:
    """One session's score: its recorded outputs, or `model`'s what-if outputs."""
    audio = caller_audio(recording)
    if model is None:
        if not recording.outputs:
            raise EvaluationError(
                f"session {recording.session_id!r} in {recording.source} has no ModelOutputs; evaluate a what-if "
                "model with --model, or check that a worker answered it"
            )
        turns = model_turns(recording.outputs)
        version = ",".join(sorted({o.model_version for o in recording.outputs}))
    else:
        turns = what_if_turns(recording, model)
        version = model.version
    moments = labelled_moments(recording)
    duration = max(recording.duration_ms, len(audio) * 1000 // 16_000)
    tally = score(speech_segments(audio), turns, duration, moments)
    log.info("session_evaluated", session_id=recording.session_id, model_version=version, labelled=moments is not None)
    return SessionScore(recording.session_id, version, moments is not None, tally)


def evaluate(recordings: Sequence[Recording], model: Model | None = None) -> EvalReport:
    """Every session scored and summed."""
    scores = tuple(evaluate_session(r, model) for r in recordings)
    total = Tally()
    for item in scores:
        total.add(item.tally)
    return EvalReport("recorded" if model is None else model.version, scores, total)


__all__ = ["EvalReport", "Model", "SessionScore", "evaluate", "evaluate_session", "load_model"]
