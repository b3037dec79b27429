"""Exports of sessions recorded offline: channel alignment, cues, and files that probe right."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from inference.network import CONFIGS, InteractionNetwork
from replay.export import ExportError, export, lay_out
from replay.session import Recording
from replay.session.testing import record_offline, synthetic_inputs
from schemas import AudioChunk
from tests.replay.export.probe import probe, subtitles


@pytest.fixture(scope="module")
def recording() -> Recording:
    net = InteractionNetwork.seeded(CONFIGS["tiny"], 0)
    return record_offline(net, synthetic_inputs("v", 2.1, video=True, text_every_s=0.8))


def test_caller_left_model_right_on_the_session_clock(recording: Recording) -> None:
    tracks = lay_out(recording)
    assert tracks.turns == 11 and tracks.stereo.shape == (11 * 3200, 2) and len(tracks.frames) == 11
    for chunk in recording.of_type(AudioChunk):
        k = chunk.event_time_ms // 200
        assert np.array_equal(tracks.stereo[k * 3200 : (k + 1) * 3200, 0], np.frombuffer(chunk.samples, "<i2"))
    for output in recording.outputs:
        assert tracks.stereo[output.seq * 3200 : (output.seq + 1) * 3200, 1].tobytes() == output.audio
    assert all(a.end_ms <= b.start_ms for a, b in zip(tracks.cues, tracks.cues[1:], strict=False))
    assert any(c.text.startswith("caller: line 0") for c in tracks.cues)
    assert tracks.cues[-1].end_ms <= tracks.duration_ms


def test_wav_is_stereo_16k_and_as_long_as_the_session(recording: Recording, tmp_path: Path) -> None:
    summary = export(recording, tmp_path / "call.wav")
    with wave.open(str(tmp_path / "call.wav")) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 16_000, 2)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    assert np.array_equal(pcm, lay_out(recording).stereo) and summary.duration_ms == 2200
    info = probe(tmp_path / "call.wav")
    assert [(s["codec_name"], s["channels"]) for s in info["streams"]] == [("pcm_s16le", 2)]


def test_mp4_has_audio_video_and_subtitles_of_the_session_length(recording: Recording, tmp_path: Path) -> None:
    summary = export(recording, tmp_path / "call.mp4")
    info = probe(tmp_path / "call.mp4")
    kinds = {s["codec_type"]: s for s in info["streams"]}
    assert {k: s["codec_name"] for k, s in kinds.items()} == {"audio": "aac", "video": "h264", "subtitle": "mov_text"}
    assert kinds["audio"]["channels"] == 2
    for stream in (kinds["audio"], kinds["video"]):
        assert abs(stream["duration"] - 2.2) < 0.2, (stream, info["tool"])
    assert abs(info["duration"] - summary.duration_ms / 1000) < 0.2
    texts = subtitles(tmp_path / "call.mp4")
    assert len(texts) == summary.cues and any("caller: line 0 at 0.8s" in t for t in texts)


def test_unknown_suffixes_and_missing_folders_are_refused(recording: Recording, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"\.wav or \.mp4"):
        export(recording, tmp_path / "call.ogg")
    with pytest.raises(ExportError, match="does not exist"):
        export(recording, tmp_path / "nowhere" / "call.wav")
