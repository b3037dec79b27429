"""Replay of a session whose outputs were redacted live: the same redaction, bit for bit."""

from __future__ import annotations

import pytest

from inference.network import CONFIGS, InteractionNetwork
from replay.session import replay, what_if
from replay.session.testing import record_offline, synthetic_inputs
from streams.redaction import RedactionSettings, Redactor

EVERY_LETTER = Redactor(RedactionSettings(patterns={"letter": "[A-Za-z]"}))
"""A rule that changes nearly every output text, so a replay that skipped redaction would differ."""


@pytest.fixture(scope="module")
def net() -> InteractionNetwork:
    return InteractionNetwork.seeded(CONFIGS["tiny"], 0)


def test_outputs_redacted_live_replay_identically_with_the_same_rules(net: InteractionNetwork) -> None:
    recording = record_offline(net, synthetic_inputs("r", 2.0, text_every_s=0.6), redactor=EVERY_LETTER)
    assert {o.redaction for o in recording.outputs} == {EVERY_LETTER.digest}
    assert any("[letter]" in o.text for o in recording.outputs), "the rule changed no output: the test proves nothing"
    assert replay(recording, net, redactor=EVERY_LETTER).identical


def test_other_rules_show_as_a_redaction_divergence(net: InteractionNetwork) -> None:
    recording = record_offline(net, synthetic_inputs("r", 2.0, text_every_s=0.6), redactor=EVERY_LETTER)
    report = replay(recording, net, redactor=Redactor())
    assert not report.identical
    assert all("redaction" in d.fields for d in report.divergences)
    assert any("text" in d.fields for d in report.divergences)


def test_recordings_without_redaction_replay_without_it(net: InteractionNetwork) -> None:
    recording = record_offline(net, synthetic_inputs("r", 2.0, text_every_s=0.6))
    assert {o.redaction for o in recording.outputs} == {""}
    assert replay(recording, net, redactor=EVERY_LETTER).identical


def test_what_if_texts_are_redacted_as_the_recording_was(net: InteractionNetwork) -> None:
    recording = record_offline(net, synthetic_inputs("r", 2.0, text_every_s=0.6), redactor=EVERY_LETTER)
    other = InteractionNetwork.seeded(CONFIGS["tiny"], 1)
    report = what_if(recording, other, redactor=EVERY_LETTER)
    assert not any(c.isascii() and c.isalpha() for c in report.what_if_text.replace("[letter]", ""))
