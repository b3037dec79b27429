"""The interaction step: a session's MicroTurns, in order, through its Triton sequence.

One Triton sequence per session, the session id as correlation id: START on turn 0, END on the
final turn. The model keeps the session's state; this side only remembers the next turn it
expects per session, to drop MicroTurns it already answered (redelivery after a restart).
"""

from __future__ import annotations

import time

import numpy as np
import structlog

from inference.client import InteractionClient, TurnRequest
from schemas import ACTIONS, MicroTurn, ModelOutput, event_id

log = structlog.get_logger(__name__)


def to_request(turn: MicroTurn) -> TurnRequest:
    """The model input recorded in `turn`, as the client's request."""
    audio = np.frombuffer(turn.audio, dtype="<i2") if turn.audio is not None else None
    video = None
    if turn.video is not None:
        from streams.media import decode_jpeg

        video = decode_jpeg(turn.video)
    return TurnRequest(
        turn=turn.seq,
        audio=audio,
        video=video,
        text=turn.text.encode(),
        background=turn.background.encode(),
    )


class Interaction:
    """Answers MicroTurns with ModelOutputs through an InteractionClient."""

    def __init__(self, client: InteractionClient, producer: str = "worker:interaction") -> None:
        self._client = client
        self._producer = producer
        self._next_turn: dict[str, int] = {}

    async def answer(self, turn: MicroTurn) -> ModelOutput | None:
        """The model's output for `turn`, or None if this turn was already answered."""
        expected = self._next_turn.get(turn.session_id, 0)
        if turn.seq < expected:
            log.info("duplicate_turn_skipped", session_id=turn.session_id, turn=turn.seq, expected=expected)
            return None
        result = await self._client.step(turn.session_id, to_request(turn), start=turn.seq == 0, end=turn.final)
        if turn.final:
            self._next_turn.pop(turn.session_id, None)
        else:
            self._next_turn[turn.session_id] = turn.seq + 1
        return ModelOutput(
            event_id=event_id(turn.session_id, "output", turn.seq),
            session_id=turn.session_id,
            seq=turn.seq,
            event_time_ms=turn.event_time_ms,
            turn=turn.seq,
            wall_time_ns=time.time_ns(),
            producer=self._producer,
            action=ACTIONS[result.action],
            text=result.text.decode(errors="replace"),
            audio=result.audio.astype("<i2").tobytes(),
            delegate=result.delegate.decode(errors="replace"),
            model_version=result.model_version,
            input_wall_time_ns=turn.ingest_wall_time_ns,
            model_ms=result.model_ms,
            final=turn.final,
        )
