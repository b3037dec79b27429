"""Which of the model's speech an export holds: what the caller heard, where a carrier said so.

A live call records what became of the model's speech as Playback events (`schemas.Playback`):
`played` when the carrier echoed the mark sent after a turn's audio, `cleared` when a barge-in
`clear` dropped it from the carrier's buffer unheard. Exports place model audio by these rules:

- **carrier** (the session has Playback events, or its SessionStarted names a live ingress in
  `metadata["ingress"]`): only the audio of turns a `played` record confirms. Cleared turns are
  silent, and so are turns whose audio was sent but never confirmed (the call ended before the
  echo: audio played while a call drains is not recorded, since nothing follows SessionEnded).
  The model's subtitles follow the audio: only text of turns that played.
- **unconfirmed** (no carrier: a file streamed with `microturn stream`, or a synthetic session):
  nobody listened, so there is nothing to confirm; every output's audio and text is placed, as the
  model produced it, and the export says `model_audio.basis = "unconfirmed"`.

`ModelAudio.as_dict()` is what exports report (`export --json`, FDB's microturn.json).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from replay.session.recording import Recording
from schemas import SessionStarted

AUDIBLE = ("SPEAK", "BACKCHANNEL")
"""Actions whose audio a live ingress plays into the call (`streams.ingress.playback.AUDIBLE`)."""

Basis = Literal["carrier", "unconfirmed"]


@dataclass(frozen=True)
class ModelAudio:
    """Which output turns an export places on the model's channel, and why."""

    basis: Basis
    """carrier: confirmed by the carrier's marks; unconfirmed: no carrier, every output placed."""
    placed: frozenset[int]
    """Output turns (ModelOutput.seq) whose audio and text the export holds."""
    played: frozenset[int]
    """Turns a `played` record confirms (carrier sessions)."""
    cleared: frozenset[int]
    """Turns a barge-in `clear` dropped unheard (carrier sessions)."""
    unconfirmed: frozenset[int]
    """Audible turns with audio that no record confirms or clears (carrier sessions: left out)."""

    def places(self, turn: int) -> bool:
        """Whether the export holds the model's audio and text of output turn `turn`."""
        return turn in self.placed

    def as_dict(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "placed_turns": len(self.placed),
            "played_turns": sorted(self.played),
            "cleared_turns": sorted(self.cleared),
            "unconfirmed_turns": sorted(self.unconfirmed),
        }


def is_live(recording: Recording) -> bool:
    """Whether the session came through a live ingress (a carrier confirmed or cut its playback)."""
    return bool(recording.playbacks) or any(s.metadata.get("ingress") for s in recording.of_type(SessionStarted))


def model_audio(recording: Recording) -> ModelAudio:
    """The model speech an export of `recording` holds (module docstring)."""
    audible = frozenset(o.seq for o in recording.outputs if o.action in AUDIBLE and (o.audio or o.encrypted))
    if not is_live(recording):
        every = frozenset(o.seq for o in recording.outputs)
        return ModelAudio("unconfirmed", every, frozenset(), frozenset(), frozenset())
    played = frozenset(t for p in recording.playbacks if p.kind == "played" for t in p.turns)
    cleared = frozenset(t for p in recording.playbacks if p.kind == "cleared" for t in p.turns) - played
    return ModelAudio("carrier", played, played, cleared, audible - played - cleared)
