"""What of the model's speech goes back into a call, and when the carrier must drop what it holds.

Each ModelOutput answers one turn. An audible output (SPEAK or BACKCHANNEL) is played: its 200 ms
of audio goes to the peer followed by a mark named `turn-<k>`, and the peer echoes the mark once
that audio has actually been played. Marks are echoed in the order they were sent, so an echo
also confirms every earlier mark.

Barge-in: when the model stops speaking (an output that is not audible follows an audible one),
whatever it said that the peer has not played yet is stale: the model has yielded the floor, or
finished, and the caller must not keep hearing it. If any mark is still unechoed at that moment,
the peer is told to `clear` its buffer and the cut is recorded: which turns' audio had not been
confirmed as played, and how much audio that is (an upper bound: the oldest of them may have
been partly played). Carriers echo the marks of cleared audio too; those echoes are recognised
and ignored.

This module is pure (no I/O, no clock); a transport turns its decisions into messages.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from schemas import ModelOutput
from streams.media import SAMPLE_RATE

AUDIBLE = ("SPEAK", "BACKCHANNEL")
"""Actions whose audio is played into the call."""


def mark_name(turn: int) -> str:
    """The mark sent after the audio of turn `turn`."""
    return f"turn-{turn}"


def mark_turn(name: str) -> int | None:
    """The turn of a mark made by `mark_name`, or None for any other name."""
    prefix, _, number = name.partition("-")
    return int(number) if prefix == "turn" and number.isdigit() else None


@dataclass(frozen=True)
class Cut:
    """Model speech dropped from the peer's buffer when the model stopped speaking."""

    at_turn: int
    """The turn whose output stopped the speech."""
    turns: tuple[int, ...]
    """Turns whose audio had not been confirmed played, oldest first."""
    audio_ms: int
    """Milliseconds of audio those turns held (at most this much was cut)."""


@dataclass(frozen=True)
class Heard:
    """Model speech a mark echo confirmed as played to the peer."""

    turns: tuple[int, ...]
    """Turns whose audio the echo confirmed, oldest first (empty for the echo of cleared audio)."""
    audio_ms: int
    """Milliseconds of audio those turns held."""


@dataclass(frozen=True)
class Step:
    """What to do for one output: play `audio` then send mark `mark`, or clear the peer's buffer."""

    output: ModelOutput
    """The output this step answers."""
    audio: bytes = b""
    """16 kHz int16 PCM to play (empty when nothing is played)."""
    mark: str = ""
    """Mark to send after the audio (empty when nothing is played)."""
    cut: Cut | None = None
    """Set when the peer must clear its buffer first."""


@dataclass
class PlaybackStats:
    """Counters of one call's playback, logged when the call ends."""

    outputs: int = 0
    played_turns: int = 0
    played_ms: int = 0
    confirmed_turns: int = 0
    clears: int = 0
    cut_ms: int = 0
    duplicates: int = 0
    cuts: list[Cut] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if isinstance(v, int)}


class Playback:
    """Follows one call's outputs and mark echoes; see the module docstring for the rules."""

    def __init__(self) -> None:
        self._unplayed: OrderedDict[str, int] = OrderedDict()  # mark -> ms of audio before it
        self._cleared: set[str] = set()
        self._speaking = False
        self._next_turn = 0
        self.stats = PlaybackStats()

    @property
    def unplayed_ms(self) -> int:
        """Audio sent whose mark has not been echoed yet."""
        return sum(self._unplayed.values())

    def on_output(self, output: ModelOutput) -> Step | None:
        """The step for the next output of the session; None for a re-delivered (duplicate) one."""
        if output.seq < self._next_turn:
            self.stats.duplicates += 1
            return None
        self._next_turn = output.seq + 1
        self.stats.outputs += 1
        if output.action in AUDIBLE and output.audio:
            self._speaking = True
            name = mark_name(output.seq)
            ms = len(output.audio) // 2 * 1000 // SAMPLE_RATE
            self._unplayed[name] = ms
            self.stats.played_turns += 1
            self.stats.played_ms += ms
            return Step(output, audio=output.audio, mark=name)
        cut = self._stop(output.seq) if self._speaking else None
        self._speaking = False
        return Step(output, cut=cut)

    def on_mark(self, name: str) -> Heard | None:
        """The peer echoed mark `name`: what it confirmed as played; None for a mark this playback did not send."""
        if name in self._cleared:
            self._cleared.discard(name)
            return Heard((), 0)
        if name not in self._unplayed:
            return None
        turns: list[int] = []
        ms = 0
        while self._unplayed:  # echoes come in order: every earlier mark was played too
            done, done_ms = self._unplayed.popitem(last=False)
            self.stats.confirmed_turns += 1
            turn = mark_turn(done)
            if turn is not None:
                turns.append(turn)
            ms += done_ms
            if done == name:
                break
        return Heard(tuple(turns), ms)

    def _stop(self, turn: int) -> Cut | None:
        if not self._unplayed:
            return None
        turns = tuple(t for t in (mark_turn(name) for name in self._unplayed) if t is not None)
        cut = Cut(at_turn=turn, turns=turns, audio_ms=self.unplayed_ms)
        self._cleared.update(self._unplayed)
        self._unplayed.clear()
        self.stats.clears += 1
        self.stats.cut_ms += cut.audio_ms
        self.stats.cuts.append(cut)
        return cut
