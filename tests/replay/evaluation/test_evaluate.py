"""`eval` on a recorded spoken session: the recorded outputs, a what-if model, and the
Full-Duplex-Bench export of the same recording."""

from __future__ import annotations

import json
import shutil
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inference.harness import Harness, HarnessSettings
from inference.training.speech import dialogue
from processors.assembler import InputEvent
from replay.evaluation import LABELS_KEY, EvaluationError, evaluate, load_model
from replay.evaluation.evaluate import evaluate_session
from replay.export.fdb import write_fdb
from replay.offline import HarnessNetwork
from replay.session.recording import Recording
from replay.session.testing import record_offline
from schemas import AudioChunk, SessionEnded, SessionStarted
from schemas.clock import TURN_MS
from schemas.envelope import Stamper

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make setup)")


def _envelope(session_id: str, stream: str, seq: int, time_ms: int) -> dict[str, Any]:
    return Stamper("testing", session_id).stamp(stream, seq, time_ms, time_ms // TURN_MS, wall_time_ns=0)


def spoken_inputs(session_id: str, pcm: np.ndarray, labels: str | None) -> list[InputEvent]:
    turns = -(-len(pcm) // 3200)
    pcm = np.concatenate([pcm, np.zeros(turns * 3200 - len(pcm), dtype=np.int16)])
    events: list[InputEvent] = [
        SessionStarted(**_envelope(session_id, "session", 0, 0), metadata={LABELS_KEY: labels} if labels else {})
    ]
    for k in range(turns):
        events.append(
            AudioChunk(
                **_envelope(session_id, "audio", k, k * TURN_MS),
                samples=pcm[k * 3200 : (k + 1) * 3200].astype("<i2").tobytes(),
                last=k == turns - 1,
            )
        )
    events.append(SessionEnded(**_envelope(session_id, "session", 1, turns * TURN_MS), turns=turns, audio_chunks=turns))
    return events


@pytest.fixture(scope="module")
def spoken() -> tuple[Recording, list[dict[str, int | str]]]:
    item = dialogue("heldout", 2)
    harness = HarnessNetwork(Harness(HarnessSettings(silence_timeout_ms=700, response_ms=1000)))
    return record_offline(harness, spoken_inputs("spoken", item.audio, item.labels_json())), item.moments


def test_the_harness_answers_every_turn_end_700_to_1000_ms_after_the_caller_stops(
    spoken: tuple[Recording, list[dict[str, int | str]]],
) -> None:
    recording, moments = spoken
    doc = evaluate([recording]).as_dict()
    assert doc["labelled_sessions"] == 1 and doc["model"] == "recorded"
    smooth = doc["smooth_turn_taking"]
    assert smooth["turn_ends"] == sum(m["kind"] == "turn_end" for m in moments)
    assert smooth["takeover_rate"] is not None and smooth["takeover_rate"] > 0.5
    # 700 ms of silence by its own VAD, completed within a 200 ms turn, heard from the next turn;
    # silero's end of speech and the harness's energy VAD differ by up to ~100 ms
    assert 0.55 <= smooth["latency_s"]["mean"] <= 1.0
    assert doc["caller_speech_s"] > 2.0


def test_what_if_with_the_same_harness_scores_like_the_recording_and_tiny_v1_differs(
    spoken: tuple[Recording, list[dict[str, int | str]]],
) -> None:
    recording, _ = spoken
    recorded = evaluate([recording]).as_dict()
    same = evaluate([recording], Harness(HarnessSettings(silence_timeout_ms=700, response_ms=1000))).as_dict()
    for key in ("pause", "backchannel", "smooth_turn_taking", "interruption"):
        assert same[key] == recorded[key]
    tiny = evaluate([recording], load_model("interaction")).as_dict()
    assert tiny["model"].startswith("tiny-")
    assert tiny["smooth_turn_taking"] != recorded["smooth_turn_taking"]


def test_an_unlabelled_session_is_scored_at_the_vads_pauses_and_turn_ends() -> None:
    item = dialogue("heldout", 3)
    recording = record_offline(HarnessNetwork(Harness()), spoken_inputs("plain", item.audio, None))
    score = evaluate_session(recording)
    assert not score.labelled
    assert score.tally.turn_ends >= 1


def test_bad_model_and_missing_audio_are_explained(spoken: tuple[Recording, list[dict[str, int | str]]]) -> None:
    with pytest.raises(EvaluationError, match="expected 'harness', 'interaction' or a checkpoint file; got 'gpt'"):
        load_model("gpt")
    recording, _ = spoken
    silent = Recording("x", "test", (), recording.turns, recording.outputs)
    with pytest.raises(EvaluationError, match="has no caller audio"):
        evaluate_session(silent)


def test_full_duplex_bench_export_puts_input_and_output_on_one_timeline(
    spoken: tuple[Recording, list[dict[str, int | str]]], tmp_path: Path
) -> None:
    recording, moments = spoken
    folder = write_fdb(recording, tmp_path)
    with wave.open(str(folder / "input.wav")) as a, wave.open(str(folder / "output.wav")) as b:
        assert (a.getframerate(), a.getnchannels(), b.getframerate(), b.getnchannels()) == (16_000, 1, 16_000, 1)
        assert a.getnframes() == b.getnframes()
        model = np.frombuffer(b.readframes(b.getnframes()), dtype="<i2")
    first = next(o for o in recording.outputs if o.action == "SPEAK")
    heard = model[(first.seq + 1) * 3200 : (first.seq + 2) * 3200]
    assert np.array_equal(heard, np.frombuffer(first.audio, dtype="<i2"))  # turn k is heard in turn k + 1
    assert not model[first.seq * 3200 : (first.seq + 1) * 3200].any()
    turn_end = next(m for m in moments if m["kind"] == "turn_end")
    assert json.loads((folder / "turn_taking.json").read_text()) == [
        {"timestamp": [int(turn_end["start_ms"]) / 1000, int(turn_end["end_ms"]) / 1000]}
    ]
    assert json.loads((folder / "microturn.json").read_text())["moments"] == moments
