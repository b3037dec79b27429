"""Exports hold the model speech the caller heard: played turns, never cleared or unconfirmed ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from replay.export import lay_out, model_audio
from replay.export.fdb import write_fdb
from replay.session import Recording
from schemas import AudioChunk, ModelOutput, Playback, SessionStarted, event_id

SID = "heard"


def _output(turn: int, action: str = "SPEAK") -> ModelOutput:
    return ModelOutput(
        event_id=event_id(SID, "output", turn),
        session_id=SID,
        seq=turn,
        event_time_ms=200 * turn,
        turn=turn,
        action=action,
        text=f"w{turn} ",
        audio=(100 + turn).to_bytes(2, "little") * 3200 if action == "SPEAK" else bytes(6400),
    )


def _playback(seq: int, kind: str, turns: tuple[int, ...], at_turn: int = -1) -> Playback:
    return Playback(
        event_id=event_id(SID, "playback", seq),
        session_id=SID,
        seq=seq,
        event_time_ms=0,
        kind=kind,  # type: ignore[arg-type]
        turns=turns,
        audio_ms=200 * len(turns),
        at_turn=at_turn,
    )


def _recording(live: bool, playbacks: tuple[Playback, ...] = ()) -> Recording:
    started = SessionStarted(
        event_id=event_id(SID, "session", 0),
        session_id=SID,
        seq=0,
        event_time_ms=0,
        metadata={"ingress": "twilio"} if live else {},
    )
    chunks = tuple(
        AudioChunk(
            event_id=event_id(SID, "audio", k), session_id=SID, seq=k, event_time_ms=200 * k, samples=b"\0" * 6400
        )
        for k in range(6)
    )
    actions = ["SPEAK", "SPEAK", "SPEAK", "LISTEN", "SPEAK", "SPEAK"]
    outputs = tuple(_output(k, a) for k, a in enumerate(actions))
    return Recording(SID, "test", (started, *chunks), (), outputs, playbacks)


LIVE = (_playback(0, "played", (0,)), _playback(1, "cleared", (1, 2), at_turn=3), _playback(2, "played", (4,)))


def test_a_live_call_places_only_played_turns_and_subtitles_only_them() -> None:
    recording = _recording(True, LIVE)
    tracks = lay_out(recording)
    model = tracks.stereo[:, 1]
    for turn in range(6):
        heard = model[turn * 3200 : (turn + 1) * 3200]
        expected = 100 + turn if turn in (0, 4) else 0
        assert set(heard.tolist()) == {expected}, turn
    assert tracks.model_audio.as_dict() == {
        "basis": "carrier",
        "placed_turns": 2,
        "played_turns": [0, 4],
        "cleared_turns": [1, 2],
        "unconfirmed_turns": [5],
    }
    said = " ".join(c.text for c in tracks.cues)
    assert "w0" in said and "w4" in said and not any(f"w{k}" in said for k in (1, 2, 5))


def test_a_live_call_without_any_playback_record_exports_no_model_audio() -> None:
    tracks = lay_out(_recording(True))
    assert not tracks.stereo[:, 1].any() and tracks.model_audio.unconfirmed == {0, 1, 2, 4, 5}


def test_without_a_carrier_every_output_is_placed_and_labelled_unconfirmed(tmp_path: Path) -> None:
    recording = _recording(False)
    heard = model_audio(recording)
    assert heard.basis == "unconfirmed" and heard.placed == set(range(6))
    tracks = lay_out(recording)
    for output in recording.outputs:
        assert tracks.stereo[output.seq * 3200 : (output.seq + 1) * 3200, 1].tobytes() == output.audio
    meta = json.loads((write_fdb(recording, tmp_path) / "microturn.json").read_text())
    assert meta["model_audio"]["basis"] == "unconfirmed"


def test_full_duplex_bench_output_holds_only_played_turns_one_turn_later(tmp_path: Path) -> None:
    import wave

    folder = write_fdb(_recording(True, LIVE), tmp_path)
    with wave.open(str(folder / "output.wav")) as wav:
        model = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    for turn in range(6):
        placed = model[(turn + 1) * 3200 : (turn + 2) * 3200]
        assert set(placed.tolist()) == {100 + turn if turn in (0, 4) else 0}, turn
    meta = json.loads((folder / "microturn.json").read_text())
    assert meta["model_audio"]["cleared_turns"] == [1, 2]


def test_an_mp4_says_in_its_metadata_which_model_speech_it_holds(tmp_path: Path) -> None:
    import av

    from replay.export import export

    export(_recording(True, LIVE), tmp_path / "live.mp4")
    export(_recording(False), tmp_path / "file.mp4")
    with av.open(str(tmp_path / "live.mp4")) as live, av.open(str(tmp_path / "file.mp4")) as file:
        assert live.metadata["comment"].startswith("microturn model audio: carrier")
        assert file.metadata["comment"].startswith("microturn model audio: unconfirmed")
