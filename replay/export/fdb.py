"""A session in Full-Duplex-Bench v1's sample layout, so its official scripts run on real traffic.

    DIR/SESSION/input.wav     the caller, 16 kHz mono s16, on the session clock
    DIR/SESSION/output.wav    the model, 16 kHz mono s16, same length and clock
    DIR/SESSION/turn_taking.json  (labelled sessions) [{"timestamp": [turn end s, next caller onset s]}]
    DIR/SESSION/interrupt.json    (labelled sessions) [{"context": "", "interrupt": "", "timestamp": [start s, end s]}]
    DIR/SESSION/microturn.json    every labelled moment, the model versions, how output.wav is aligned

FDB's scripts then need their ASR step (`prepare_for_eval/asr.py` writes output.json beside
output.wav). The model's output for turn k sits at [200(k+1), 200(k+2)) ms in output.wav: it is
heard once turn k's input is complete (the same convention as `microturn eval`; the stereo WAV
export places it at turn k instead). A session holds several moments where FDB's samples hold one
each: the first turn end and the first interruption fill FDB's metadata files, microturn.json lists
them all. We have no transcripts, so "context" and "interrupt" are empty.

output.wav holds what the caller heard (`replay.export.heard`): in a live call only the turns the
carrier confirmed as played; microturn.json's `model_audio` says which basis applied and which
turns were played, cleared or left unconfirmed.
"""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from replay.export.errors import ExportError
from replay.export.heard import ModelAudio, model_audio
from replay.session.recording import Recording
from schemas import AudioChunk, SessionStarted
from schemas.clock import TURN_MS

SAMPLE_RATE = 16_000
TURN_SAMPLES = SAMPLE_RATE * TURN_MS // 1000
LABELS_KEY = "eval.labels"
"""SessionStarted.metadata key of turn-taking labels (replay.evaluation.labels.LABELS_KEY)."""


def _mono(path: Path, samples: npt.NDArray[np.int16]) -> None:
    try:
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(samples.astype("<i2").tobytes())
    except OSError as exc:
        raise ExportError(f"writing {path}: {exc}") from exc


def tracks(
    recording: Recording, heard: ModelAudio | None = None
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
    """(caller, model) mono tracks of equal length; the model's turn k at turn k + 1, for the turns
    `heard` places (default: `model_audio(recording)`, what the caller heard)."""
    heard = model_audio(recording) if heard is None else heard
    turns = recording.duration_ms // TURN_MS + 1
    caller = np.zeros(turns * TURN_SAMPLES, dtype=np.int16)
    model = np.zeros(turns * TURN_SAMPLES, dtype=np.int16)
    for chunk in recording.of_type(AudioChunk):
        start = chunk.event_time_ms // TURN_MS * TURN_SAMPLES
        pcm = np.frombuffer(chunk.samples, dtype="<i2")[:TURN_SAMPLES]
        caller[start : start + len(pcm)] = pcm
    for output in recording.outputs:
        if not heard.places(output.seq):
            continue
        start = (output.seq + 1) * TURN_SAMPLES
        pcm = np.frombuffer(output.audio, dtype="<i2")[:TURN_SAMPLES]
        if start + len(pcm) <= len(model):
            model[start : start + len(pcm)] = pcm
    return caller, model


def write_fdb(recording: Recording, root: Path) -> Path:
    """Write `recording` under `root/SESSION/` in FDB's layout; that folder."""
    if not root.is_dir():
        raise ExportError(f"export --format full-duplex-bench: {root} is not a folder")
    if not recording.of_type(AudioChunk):
        raise ExportError(f"session {recording.session_id!r} has no caller audio to export from {recording.source}")
    folder = root / recording.session_id
    folder.mkdir(exist_ok=True)
    heard = model_audio(recording)
    caller, model = tracks(recording, heard)
    _mono(folder / "input.wav", caller)
    _mono(folder / "output.wav", model)
    moments: list[dict[str, object]] = []
    for started in recording.of_type(SessionStarted):
        raw = started.metadata.get(LABELS_KEY)
        if raw:
            moments = list(json.loads(raw).get("moments", []))
    ends = [m for m in moments if m.get("kind") == "turn_end"]
    if ends:
        first = ends[0]
        timestamp = [int(str(first["start_ms"])) / 1000, int(str(first["end_ms"])) / 1000]
        (folder / "turn_taking.json").write_text(json.dumps([{"timestamp": timestamp}]) + "\n")
    interruptions = [m for m in moments if m.get("kind") == "interruption"]
    if interruptions:
        first = interruptions[0]
        timestamp = [int(str(first["start_ms"])) / 1000, int(str(first["end_ms"])) / 1000]
        doc = [{"context": "", "interrupt": "", "timestamp": timestamp}]
        (folder / "interrupt.json").write_text(json.dumps(doc) + "\n")
    meta = {
        "session_id": recording.session_id,
        "model_versions": sorted({o.model_version for o in recording.outputs}),
        "output_alignment": "model turn k at [200(k+1), 200(k+2)) ms",
        "model_audio": heard.as_dict(),
        "moments": moments,
    }
    (folder / "microturn.json").write_text(json.dumps(meta, indent=1) + "\n")
    return folder
