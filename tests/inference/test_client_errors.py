"""How server errors become exception classes (the retry loop reads `retriable`)."""

from __future__ import annotations

import pytest
from tritonclient.utils import InferenceServerException

from inference.client import _classify, correlation_id
from inference.errors import BadRequest, ModelFailed, OutOfOrder, Overloaded, SequenceLost, TimedOut, Unavailable


@pytest.mark.parametrize(
    ("message", "status", "kind", "retriable"),
    [
        ("SEQUENCE_LOST: no state for session '1'", "StatusCode.INTERNAL", SequenceLost, False),
        (
            "inference request for sequence 7 to model 'interaction' must specify the START flag on the first "
            "request of the sequence",
            "StatusCode.INVALID_ARGUMENT",
            SequenceLost,
            False,
        ),
        ("OVERLOADED: 256 sessions are live; retry when one ends", "StatusCode.INTERNAL", Overloaded, True),
        ("OUT_OF_ORDER: session '1' expects turn 3; got turn 5", "StatusCode.INTERNAL", OutOfOrder, False),
        ("Deadline Exceeded", "StatusCode.DEADLINE_EXCEEDED", TimedOut, False),
        ("failed to connect to all addresses", "StatusCode.UNAVAILABLE", Unavailable, True),
        ("unexpected shape for input 'AUDIO'", "StatusCode.INVALID_ARGUMENT", BadRequest, False),
        ("BAD_REQUEST: VIDEO must be at most 2048 x 2048", "StatusCode.INTERNAL", BadRequest, False),
        ("MODEL_FAILED: model step failed: RuntimeError: boom", "StatusCode.INTERNAL", ModelFailed, False),
        # a crash inside the model is the model's failure, never the caller's bad request
        ("Stub process 'interaction_0_0' is not healthy.", "StatusCode.INTERNAL", ModelFailed, False),
        ("RuntimeError: shape mismatch in a BAD_REQUEST-free message", "StatusCode.INTERNAL", ModelFailed, False),
        # codes count only as the message's prefix, not anywhere in it
        ("model step failed: OVERLOADED: inner text", "StatusCode.INTERNAL", ModelFailed, False),
        ("Deadline Exceeded while SEQUENCE_LOST: was mentioned", "StatusCode.DEADLINE_EXCEEDED", TimedOut, False),
    ],
)
def test_server_errors_map_to_classes_with_retry_behaviour(
    message: str, status: str, kind: type, retriable: bool
) -> None:
    error = _classify(InferenceServerException(message, status=status))
    assert isinstance(error, kind) and error.retriable is retriable and message in str(error)


def test_correlation_ids_are_stable_nonzero_63_bit() -> None:
    ids = {correlation_id(f"s{i}") for i in range(1000)}
    assert len(ids) == 1000 and all(0 < i < 2**63 for i in ids)
    assert correlation_id("call-42") == correlation_id("call-42")
