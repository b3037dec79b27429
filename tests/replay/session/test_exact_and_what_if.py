"""Exact and what-if replay on sessions recorded offline (no broker): what each reports."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest

from inference.network import CONFIGS, InteractionNetwork
from replay.session import Recording, WeightsUnavailable, replay, what_if
from replay.session.errors import SessionNotFound
from replay.session.testing import record_offline, synthetic_inputs


@pytest.fixture(scope="module")
def net() -> InteractionNetwork:
    return InteractionNetwork.seeded(CONFIGS["tiny"], 0)


@pytest.fixture(scope="module")
def recording(net: InteractionNetwork) -> Recording:
    return record_offline(net, synthetic_inputs("x", 2.0, video=True, text_every_s=0.6))


def with_output(recording: Recording, seq: int, **changes: object) -> Recording:
    outputs = tuple(msgspec.structs.replace(o, **changes) if o.seq == seq else o for o in recording.outputs)
    return dataclasses.replace(recording, outputs=outputs)


def test_a_faithful_recording_replays_identically(net: InteractionNetwork, recording: Recording) -> None:
    report = replay(recording, net)
    doc = report.as_dict()
    assert doc["identical"] and doc["first_divergence"] is None and doc["turns"] == 10
    assert doc["speed_x_realtime"] > 0 and doc["model_version"] == net.version


def test_the_first_divergence_names_turn_stage_and_fields(net: InteractionNetwork, recording: Recording) -> None:
    flipped = bytearray(recording.outputs[6].audio)
    flipped[100] ^= 1
    other_action = "LISTEN" if recording.outputs[3].action != "LISTEN" else "SPEAK"
    tampered = with_output(with_output(recording, 6, audio=bytes(flipped)), 3, action=other_action)
    report = replay(tampered, net)
    assert not report.identical
    assert report.as_dict()["first_divergence"] == {"turn": 3, "stage": "output", "fields": ["action"]}
    assert [(d.turn, d.fields) for d in report.divergences] == [(3, ("action",)), (6, ("audio",))]
    turns = tuple(msgspec.structs.replace(t, text="x") if t.seq == 8 else t for t in recording.turns)
    report = replay(dataclasses.replace(recording, turns=turns), net)  # the model now sees other text
    assert report.divergences[0].as_dict() == {"turn": 8, "stage": "assembly", "fields": ["text"]}
    missing = dataclasses.replace(recording, outputs=recording.outputs[:-1])
    assert replay(missing, net).divergences[-1].fields == ("missing_recorded_output",)


def test_other_weights_are_refused_with_both_versions_named(recording: Recording) -> None:
    other = InteractionNetwork.seeded(CONFIGS["tiny"], 1)
    with pytest.raises(WeightsUnavailable) as refused:
        replay(recording, other, "seed 1")
    message = str(refused.value)
    assert recording.outputs[0].model_version in message and other.version in message
    assert "MICROTURN_MODEL_CHECKPOINT" in message and "--model" in message
    with pytest.raises(SessionNotFound, match="ModelOutputs"):
        replay(dataclasses.replace(recording, outputs=()), other)


def test_what_if_reports_per_turn_differences(net: InteractionNetwork, recording: Recording) -> None:
    doc = what_if(recording, InteractionNetwork.seeded(CONFIGS["tiny"], 1)).as_dict()
    assert not doc["identical"] and doc["turns_changed"] == len(doc["differences"]) > 0
    first = doc["differences"][0]
    assert doc["first_divergence"] == {"turn": first["turn"], "fields": first["fields"]}
    assert set(first) >= {"action", "text", "audio_max_abs_diff", "audio_rms_diff", "model_ms"}
    assert doc["recorded_version"] == net.version != doc["model_version"]
    assert doc["latency_ms"]["what_if_median"] > 0
    same = what_if(recording, net).as_dict()
    assert same["identical"] and same["differences"] == [] and same["first_divergence"] is None


def test_a_model_with_another_frame_size_resizes_the_recorded_frames(recording: Recording) -> None:
    """Models take frames of any size and resize them (issue 12 item 16), so a model with another
    input size runs the recording instead of refusing it."""
    bigger = InteractionNetwork.seeded(dataclasses.replace(CONFIGS["tiny"], video_size=120), 0)
    doc = what_if(recording, bigger).as_dict()
    assert doc["model_version"] == bigger.version and not doc["identical"]
