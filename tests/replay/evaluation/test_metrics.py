"""Metric definitions on hand-made timelines with known answers."""

from __future__ import annotations

import math

import pytest

from replay.evaluation.errors import LabelError
from replay.evaluation.labels import Labels, Moment
from replay.evaluation.metrics import ModelTurn, Run, model_runs, moments_from_vad, score

SILENT = -math.inf


def speak(*turns: int, action: str = "SPEAK") -> list[ModelTurn]:
    return [ModelTurn(k, action, -26.0) for k in turns]


def listen(*turns: int) -> list[ModelTurn]:
    return [ModelTurn(k, "LISTEN", SILENT) for k in turns]


def test_runs_are_heard_one_turn_after_the_input_and_split_by_kind() -> None:
    turns = listen(0, 1) + speak(2, 3) + listen(4) + speak(5, action="BACKCHANNEL") + [ModelTurn(6, "LISTEN", -30.0)]
    assert model_runs(turns) == [Run(600, 1000, True, 600), Run(1200, 1600, False)]


def test_a_backchannel_running_into_an_answer_takes_the_floor_at_the_answer() -> None:
    model = listen(*range(5)) + speak(5, action="BACKCHANNEL") + speak(6)
    doc = score([(0, 1000)], model, 3000, [Moment("turn_end", 1000, 3000)]).as_dict()["smooth_turn_taking"]
    assert doc["latency_s"]["mean"] == pytest.approx(0.4)  # the answer is heard from 1400 ms


def test_smooth_turn_taking_latency_and_takeover_rate() -> None:
    # caller speaks 0-1000 ms and 3000-3900 ms; the model answers turn 5 (heard from 1200 ms), and
    # never answers the second turn end
    caller = [(0, 1000), (3000, 3900)]
    model = listen(*range(5)) + speak(5, 6) + listen(*range(7, 25))
    moments = [Moment("turn_end", 1000, 3000), Moment("turn_end", 3900, 5000)]
    doc = score(caller, model, 5000, moments).as_dict()["smooth_turn_taking"]
    assert doc["turn_ends"] == 2
    assert doc["takeovers"] == 1
    assert doc["takeover_rate"] == 0.5
    assert doc["latency_s"]["mean"] == pytest.approx(0.2)


def test_labelled_turn_end_is_measured_from_the_vad_end_nearest_to_it() -> None:
    caller = [(0, 1100)]  # the VAD ends speech 100 ms after the label
    model = listen(*range(6)) + speak(6)
    doc = score(caller, model, 3000, [Moment("turn_end", 1000, 3000)]).as_dict()
    assert doc["smooth_turn_taking"]["latency_s"]["mean"] == pytest.approx(0.3)  # heard at 1400


def test_pause_takeover_counts_only_takeovers_heard_within_a_turn_of_the_pause() -> None:
    caller = [(0, 1000), (1600, 3000), (3500, 4000)]
    # pause 1 (1000-1600): the model speaks turn 7, heard from 1600 ms (the pause's end: taken over);
    # pause 2 (3000-3500): a backchannel only, not a takeover
    model = listen(*range(7)) + speak(7) + listen(*range(8, 15)) + speak(15, action="BACKCHANNEL")
    moments = [Moment("pause", 1000, 1600), Moment("pause", 3000, 3500)]
    doc = score(caller, model, 4000, moments).as_dict()
    assert doc["pause"] == {"moments": 2, "takeovers": 1, "takeover_rate": 0.5}
    assert doc["backchannel"]["runs"] == 1
    assert doc["backchannel"]["per_minute"] == pytest.approx(15.0)  # one in 4 s


def test_backchannel_opportunities() -> None:
    caller = [(0, 2000), (2300, 4000)]
    model = listen(*range(10)) + speak(10, action="BACKCHANNEL") + listen(*range(11, 20))
    doc = score(caller, model, 4000, [Moment("backchannel", 2000, 2300)]).as_dict()["backchannel"]
    assert (doc["opportunities"], doc["backchannels"], doc["rate"], doc["takeover_rate"]) == (1, 1, 1.0, 0.0)


def test_interruption_yield_latency_and_a_model_that_talks_over_the_caller() -> None:
    # the model speaks turns 5-6 (heard 1200-1600); the caller barges in at 1500 and the run ends
    # at 1600 (it yields); later a run heard 4200-7800 is barged into at 4500 and lasts 3.3 s
    # longer: no yield
    caller = [(0, 1000), (1500, 2500), (4500, 5000)]
    model = listen(*range(5)) + speak(5, 6) + listen(*range(7, 20)) + speak(*range(20, 38))
    doc = score(caller, model, 8000, [Moment("interruption", 1500, 2500)]).as_dict()["interruption"]
    assert doc["interruptions"] == 2
    assert doc["yields"] == 1
    assert doc["takeover_rate"] == 0.5
    assert doc["labelled"] == 1
    assert doc["latency_s"]["mean"] == pytest.approx(0.1)


def test_unlabelled_sessions_get_pauses_and_turn_ends_from_the_vad() -> None:
    moments = moments_from_vad([(0, 1000), (1400, 2000), (4000, 5000)], 6000)
    assert moments == [Moment("pause", 1000, 1400), Moment("turn_end", 2000, 4000), Moment("turn_end", 5000, 6000)]


def test_tallies_add_up_over_sessions() -> None:
    one = score([(0, 1000)], listen(*range(5)) + speak(5), 2000, [Moment("turn_end", 1000, 2000)])
    two = score([(0, 1000)], listen(*range(10)), 2000, [Moment("turn_end", 1000, 2000)])
    one.add(two)
    doc = one.as_dict()
    assert doc["sessions"] == 2
    assert doc["smooth_turn_taking"]["takeover_rate"] == 0.5
    assert doc["smooth_turn_taking"]["latency_s"]["median"] == pytest.approx(0.2)


def test_labels_round_trip_and_bad_labels_name_the_field() -> None:
    labels = Labels((Moment("pause", 10, 20),), ((0, 10),))
    assert Labels.from_json(labels.to_json()) == labels
    with pytest.raises(LabelError, match=r"moments\[0\].kind must be one of"):
        Labels.from_json('{"moments": [{"kind": "cough", "start_ms": 0, "end_ms": 1}]}')
    with pytest.raises(LabelError, match="start_ms <= end_ms"):
        Labels.from_json('{"moments": [{"kind": "pause", "start_ms": 5, "end_ms": 1}]}')
