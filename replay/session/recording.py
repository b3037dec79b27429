"""One session's recorded events, as read back from a source (Kafka or the archive).

A `Recording` is the raw material of replay and export: the input events the assembler saw, the
MicroTurns it recorded and the ModelOutputs that answered them, and (live calls) the Playback
events that say which of the model's speech the caller actually heard. Duplicates are normal in the log
(a worker that crashed re-emits the turn and output it had not committed), so each turn and output
is kept once: the first recorded, the one that was answered and delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from processors.assembler import INPUT_TYPES, InputEvent
from processors.recovery import first_per_turn
from schemas import (
    AudioChunk,
    MicroTurn,
    ModelOutput,
    Playback,
    VideoFrame,
)
from schemas.clock import TURN_MS
from schemas.envelope import Event

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Recording:
    """Everything recorded of one session, each event once."""

    session_id: str
    """The session's id."""
    source: str
    """Where it was read from, for messages ("kafka 127.0.0.1:9092 prefix microturn", "archive /x")."""
    inputs: tuple[InputEvent, ...]
    """Input events (session, audio, video, text, background results) in log order, first copy of each id."""
    turns: tuple[MicroTurn, ...]
    """The first MicroTurn recorded per turn, by turn."""
    outputs: tuple[ModelOutput, ...]
    """The first ModelOutput recorded per turn, by turn."""
    playbacks: tuple[Playback, ...] = ()
    """Playback events of a live call (played / cleared model speech), in log order, first copy of each id;
    never model input, so replay ignores them. Empty for a session streamed from a file."""

    @classmethod
    def from_events(cls, session_id: str, source: str, events: Iterable[Event]) -> Recording:
        """The recording of `session_id` among `events` (log order; other sessions are skipped)."""
        mine = [e for e in events if e.session_id == session_id]
        seen: set[str] = set()
        inputs: list[InputEvent] = []
        for event in mine:
            if isinstance(event, INPUT_TYPES) and event.event_id not in seen:
                seen.add(event.event_id)
                inputs.append(event)
        outputs: dict[int, ModelOutput] = {}
        playbacks: dict[str, Playback] = {}
        for event in mine:
            if isinstance(event, ModelOutput):
                outputs.setdefault(event.seq, event)
            elif isinstance(event, Playback):
                playbacks.setdefault(event.event_id, event)
        return cls(
            session_id=session_id,
            source=source,
            inputs=tuple(inputs),
            turns=tuple(first_per_turn(list(mine))),
            outputs=tuple(outputs[k] for k in sorted(outputs)),
            playbacks=tuple(playbacks.values()),
        )

    @property
    def empty(self) -> bool:
        """True when the source holds no event of the session at all."""
        return not (self.inputs or self.turns or self.outputs)

    @property
    def duration_ms(self) -> int:
        """Length on the session clock: every turn that has input, a MicroTurn or an output."""
        last = max(
            [t.seq for t in self.turns]
            + [o.seq for o in self.outputs]
            + [e.event_time_ms // TURN_MS for e in self.inputs if isinstance(e, AudioChunk | VideoFrame)],
            default=-1,
        )
        return (last + 1) * TURN_MS

    def of_type(self, kind: type[E]) -> list[E]:
        """The input events of one type, in log order."""
        return [e for e in self.inputs if isinstance(e, kind)]
