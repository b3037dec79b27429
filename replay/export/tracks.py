"""A recording laid out on the session clock: stereo PCM, one video frame per turn, subtitle cues.

Sample n of either channel is session time n/16 ms, so both sides line up exactly as the model
heard and answered them:

- left (caller): AudioChunk k at samples [3200k, 3200k + 3200) (its padding is silence already);
- right (model): the ModelOutput of turn k at the same place (it answers turn k right after it),
  for the turns `replay.export.heard.model_audio` places: in a live call only what the carrier
  confirmed as played (cleared and unconfirmed turns are silent); without a carrier, every turn;
- video: turn k shows the recorded frame of turn k, else the latest earlier one (black before any);
- cues: each caller TextEvent for `CALLER_HOLD_MS` from its event time ("caller: ..."); the model's
  utterance as it grows, turn by turn ("model: ...", its last `MAX_CUE_CHARS` characters; an
  utterance is a run of consecutive turns with text), held `MODEL_HOLD_MS` after its last turn;
  only the text of turns whose audio is placed (what the caller did not hear is not subtitled).
  Cues never overlap (mov_text shows one sample at a time): where lines overlap, one cue holds
  them all, caller first. Control characters are dropped.

Missing turns (never answered, or no audio) are silence; the length is `Recording.duration_ms`.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from replay.export.heard import ModelAudio, model_audio
from replay.session.recording import Recording
from schemas import AudioChunk, TextEvent, VideoFrame
from schemas.clock import TURN_MS, TURN_SAMPLES

CALLER_HOLD_MS = 2000
MODEL_HOLD_MS = 1000
MAX_CUE_CHARS = 120


@dataclass(frozen=True)
class Cue:
    """One subtitle: `text` shown during [start_ms, end_ms) of the session clock."""

    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True)
class Tracks:
    """Everything an export writes."""

    session_id: str
    stereo: npt.NDArray[np.int16]
    """[samples, 2] int16 at 16 kHz: column 0 the caller, column 1 the model."""
    frames: tuple[bytes | None, ...]
    """JPEG shown during each turn (None: black); empty when the session has no video."""
    cues: tuple[Cue, ...]
    """Subtitles in time order, not overlapping."""
    model_audio: ModelAudio
    """Which of the model's turns the right channel and the model's cues hold, and on what basis."""

    @property
    def turns(self) -> int:
        return len(self.stereo) // TURN_SAMPLES

    @property
    def duration_ms(self) -> int:
        return self.turns * TURN_MS


def _place(track: npt.NDArray[np.int16], turn: int, pcm: bytes) -> None:
    samples = np.frombuffer(pcm, dtype="<i2")[:TURN_SAMPLES]
    start = turn * TURN_SAMPLES
    if turn >= 0 and start + len(samples) <= len(track):
        track[start : start + len(samples)] = samples


def _printable(text: str) -> str:
    return "".join(c for c in text if c == "\n" or c.isprintable()).strip()


def _spans(recording: Recording, heard: ModelAudio) -> list[Cue]:
    """Caller lines and growing model utterances, possibly overlapping."""
    callers = [
        Cue(e.event_time_ms, e.event_time_ms + CALLER_HOLD_MS, f"caller: {_printable(e.text)}")
        for e in recording.of_type(TextEvent)
        if _printable(e.text)
    ]
    model: list[Cue] = []
    said, last = "", -2
    for output in recording.outputs:
        if not output.text or not heard.places(output.seq):
            continue
        said = said + output.text if output.seq == last + 1 else output.text
        last = output.seq
        shown = _printable(said)[-MAX_CUE_CHARS:]
        if shown:  # shown until the next turn, or the hold after the utterance's last turn
            model.append(Cue(output.seq * TURN_MS, (output.seq + 1) * TURN_MS + MODEL_HOLD_MS, f"model: {shown}"))
    held = [Cue(a.start_ms, min(a.end_ms, b.start_ms), a.text) for a, b in itertools.pairwise(model)]
    return callers + held + model[-1:]  # each model line ends where the next begins


def _cues(recording: Recording, heard: ModelAudio, end_ms: int) -> tuple[Cue, ...]:
    """Non-overlapping cues: between any two span boundaries, every span active there, callers first."""
    spans = [Cue(s.start_ms, min(s.end_ms, end_ms), s.text) for s in _spans(recording, heard)]
    spans = [s for s in spans if s.end_ms > s.start_ms]
    starts: dict[int, list[int]] = defaultdict(list)
    ends: dict[int, list[int]] = defaultdict(list)
    for index, span in enumerate(spans):
        starts[span.start_ms].append(index)
        ends[span.end_ms].append(index)
    active: dict[int, str] = {}
    cues: list[Cue] = []
    for start, end in itertools.pairwise(sorted(starts.keys() | ends.keys())):
        for index in ends.get(start, ()):
            active.pop(index, None)
        active.update((index, spans[index].text) for index in starts.get(start, ()))
        text = "\n".join(active[index] for index in sorted(active))
        if text and cues and cues[-1].text == text and cues[-1].end_ms == start:
            cues[-1] = Cue(cues[-1].start_ms, end, text)
        elif text:
            cues.append(Cue(start, end, text))
    return tuple(cues)


def lay_out(recording: Recording) -> Tracks:
    """The recording's tracks on the session clock (module docstring)."""
    turns = recording.duration_ms // TURN_MS
    stereo = np.zeros((turns * TURN_SAMPLES, 2), dtype=np.int16)
    for chunk in recording.of_type(AudioChunk):
        _place(stereo[:, 0], chunk.event_time_ms // TURN_MS, chunk.samples)
    heard = model_audio(recording)
    for output in recording.outputs:
        if heard.places(output.seq):
            _place(stereo[:, 1], output.seq, output.audio)
    by_turn = {f.event_time_ms // TURN_MS: f.jpeg for f in recording.of_type(VideoFrame)}
    frames: list[bytes | None] = []
    for k in range(turns if by_turn else 0):
        frames.append(by_turn.get(k, frames[-1] if frames else None))
    cues = _cues(recording, heard, turns * TURN_MS)
    return Tracks(recording.session_id, stereo, tuple(frames), cues, heard)
