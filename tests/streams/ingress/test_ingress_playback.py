"""Playback: each audible turn played with a mark; a clear, recorded, when the model stops mid-speech."""

from __future__ import annotations

from schemas import ModelOutput
from streams.ingress.playback import Cut, Heard, Playback, mark_name, mark_turn

AUDIO = b"\x01\x00" * 3200


def output(turn: int, action: str, final: bool = False) -> ModelOutput:
    audio = AUDIO if action in ("SPEAK", "BACKCHANNEL") else b"\x00\x00" * 3200
    return ModelOutput(
        event_id=f"s/output/{turn}",
        session_id="s",
        seq=turn,
        event_time_ms=200 * turn,
        action=action,
        audio=audio,
        final=final,
    )


def test_audible_turns_are_played_with_their_mark_and_silent_ones_are_not() -> None:
    playback = Playback()
    steps = [playback.on_output(output(k, a)) for k, a in enumerate(["LISTEN", "SPEAK", "BACKCHANNEL"])]
    assert [(s.audio == AUDIO, s.mark) for s in steps if s] == [(False, ""), (True, "turn-1"), (True, "turn-2")]
    assert playback.unplayed_ms == 400


def test_an_echo_confirms_its_mark_and_every_earlier_one() -> None:
    playback = Playback()
    for k in range(3):
        playback.on_output(output(k, "SPEAK"))
    assert playback.on_mark("turn-1") == Heard(turns=(0, 1), audio_ms=400)
    assert playback.unplayed_ms == 200 and playback.stats.confirmed_turns == 2
    assert not playback.on_mark("someone-else's-mark")


def test_stopping_with_unplayed_speech_clears_it_and_ignores_the_cleared_echoes() -> None:
    playback = Playback()
    for k in range(3):
        playback.on_output(output(k, "SPEAK"))
    playback.on_mark("turn-0")
    step = playback.on_output(output(3, "LISTEN"))
    assert step is not None and step.cut == Cut(at_turn=3, turns=(1, 2), audio_ms=400)
    assert playback.unplayed_ms == 0
    assert playback.on_mark("turn-1") == playback.on_mark("turn-2") == Heard((), 0)  # Twilio echoes cleared marks
    assert (playback.stats.clears, playback.stats.cut_ms) == (1, 400)


def test_stopping_after_everything_played_clears_nothing() -> None:
    playback = Playback()
    playback.on_output(output(0, "SPEAK"))
    playback.on_mark("turn-0")
    step = playback.on_output(output(1, "LISTEN"))
    assert step is not None and step.cut is None


def test_a_redelivered_output_is_skipped() -> None:
    playback = Playback()
    playback.on_output(output(0, "SPEAK"))
    assert playback.on_output(output(0, "SPEAK")) is None
    assert playback.stats.duplicates == 1


def test_mark_names_round_trip() -> None:
    assert mark_turn(mark_name(42)) == 42
    assert mark_turn("turn-x") is None and mark_turn("greeting") is None
