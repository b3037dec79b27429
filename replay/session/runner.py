"""Running a recording's MicroTurns through a network offline, and checking which model it needs.

Offline is `replay.offline.run_session`: a fresh session state, the recorded turns in order, the
session key the server derives from the correlation id. Nothing here writes to Kafka or reads the
wall clock for anything but the time each step took.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from inference.network import InteractionNetwork, NetworkError, TurnOutput
from replay.offline import Model, run_session
from replay.session.errors import IncompatibleModel, SessionNotFound, WeightsUnavailable
from replay.session.recording import Recording
from schemas import ACTIONS, MicroTurn, ModelOutput
from streams.redaction import Redactor

OUTPUT_FIELDS = ("action", "text", "audio", "delegate", "model_version", "final", "redaction")
"""ModelOutput fields an exact replay compares, bit for bit (`redaction`: the digest of the
redaction rules the text and delegate passed; a replay whose rules differ reports it)."""


@dataclass(frozen=True)
class Step:
    """One turn run offline."""

    turn: MicroTurn
    """The recorded input."""
    output: TurnOutput
    """What the network produced for it now."""
    model_ms: float
    """How long the network step took, in milliseconds."""
    redactor: Redactor | None = None
    """What the text and delegate pass, as the live worker's did (None: the recording was not redacted)."""

    @property
    def action(self) -> str:
        return ACTIONS[int(self.output.action)]

    @property
    def audio(self) -> bytes:
        return self.output.audio.astype("<i2").tobytes()

    @property
    def text(self) -> bytes:
        """The text as the live worker would have recorded it (UTF-8, redacted as recorded)."""
        return self._redacted(self.output.text)

    @property
    def delegate(self) -> bytes:
        """The delegate text as the live worker would have recorded it."""
        return self._redacted(self.output.delegate)

    def _redacted(self, raw: bytes) -> bytes:
        if self.redactor is None:
            return raw
        return self.redactor.text(raw.decode(errors="replace")).encode()

    def differing(self, recorded: ModelOutput, version: str) -> tuple[str, ...]:
        """The `OUTPUT_FIELDS` in which `recorded` differs from this step run by model `version`."""
        now = {
            "action": self.action,
            "text": self.text,
            "audio": self.audio,
            "delegate": self.delegate,
            "model_version": version,
            "final": self.turn.final,
            "redaction": self.redactor.digest if self.redactor is not None else "",
        }
        then = {
            "action": recorded.action,
            "text": recorded.text.encode(),
            "audio": recorded.audio,
            "delegate": recorded.delegate.encode(),
            "model_version": recorded.model_version,
            "final": recorded.final,
            "redaction": recorded.redaction,
        }
        return tuple(f for f in OUTPUT_FIELDS if now[f] != then[f])

    def audio_difference(self, recorded: ModelOutput) -> tuple[int, float]:
        """(largest absolute sample difference, RMS of the difference relative to full scale)."""
        then = np.frombuffer(recorded.audio, dtype="<i2").astype(np.int32)
        now = self.output.audio.astype(np.int32)
        if then.shape != now.shape:
            return 65535, 1.0
        delta = now - then
        return int(np.abs(delta).max(initial=0)), float(np.sqrt(np.mean(delta.astype(np.float64) ** 2)) / 32768.0)


def recorded_redaction(recording: Recording, redactor: Redactor) -> Redactor | None:
    """The redactor a replay of `recording` applies: None when its outputs were not redacted (recorded
    before redaction, or with it off), else `redactor` (a different digest shows as a divergence)."""
    return redactor if any(o.redaction for o in recording.outputs) else None


def run_turns(net: Model, recording: Recording, redactor: Redactor | None = None) -> Iterator[Step]:
    """Each recorded turn through `net`, in order, from a fresh session state, timed; the text and
    delegate of each step pass `redactor` (see `recorded_redaction`)."""
    outputs = run_session(net, recording.session_id, recording.turns)
    for turn in recording.turns:
        began = time.perf_counter()
        try:
            output = next(outputs)
        except NetworkError as exc:
            raise IncompatibleModel(
                f"model {net.version} cannot run turn {turn.seq} of session {recording.session_id!r} as recorded: {exc}"
            ) from exc
        yield Step(turn, output, (time.perf_counter() - began) * 1000.0, redactor)


def recorded_version(recording: Recording) -> str:
    """The one model version that answered the session; SessionNotFound/WeightsUnavailable otherwise."""
    versions = sorted({o.model_version for o in recording.outputs})
    if not recording.turns or not versions:
        raise SessionNotFound(
            f"session {recording.session_id!r} in {recording.source} has {len(recording.turns)} MicroTurns and "
            f"{len(recording.outputs)} ModelOutputs; replay needs both (was a worker running when it streamed? "
            "`microturn status`)"
        )
    if len(versions) > 1:
        raise WeightsUnavailable(
            f"session {recording.session_id!r} was answered by several model versions {versions}; an exact "
            "replay needs one: compare against one of them with --model CHECKPOINT"
        )
    return versions[0]


def require_version(recording: Recording, net: InteractionNetwork, available: str) -> str:
    """The recorded version, if `net` is that version; WeightsUnavailable naming both otherwise.

    `available` says where `net` came from (shown in the message).
    """
    version = recorded_version(recording)
    if version != net.version:
        digest = version.rsplit("-", 1)[-1]
        raise WeightsUnavailable(
            f"session {recording.session_id!r} was answered by model {version} (weights digest {digest}...), "
            f"but the weights available here build {net.version} ({available}). Point MICROTURN_MODEL_CHECKPOINT "
            f"at the checkpoint whose digest starts with {digest} for an exact replay, or run a what-if replay: "
            f"`microturn replay {recording.session_id} --model CHECKPOINT`"
        )
    return version
