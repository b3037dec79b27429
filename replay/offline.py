"""Running recorded MicroTurns through the interaction network offline, as Triton would.

Offline means: no broker writes, no server, no wall clock. The session key is the same one the
server derives from the correlation id, so seeded sampling draws the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from inference.client import correlation_id
from inference.network import InteractionNetwork, TurnInput, TurnOutput
from processors.interaction import to_request
from schemas import MicroTurn


def turn_input(turn: MicroTurn, session_key: str) -> TurnInput:
    """The network input recorded in `turn`."""
    request = to_request(turn)
    return TurnInput(
        session_key=session_key,
        turn=turn.seq,
        audio=request.audio,
        video=request.video,
        text=request.text,
        background=request.background,
    )


def run_session(net: InteractionNetwork, session_id: str, turns: Sequence[MicroTurn]) -> Iterator[TurnOutput]:
    """The network's output for each of a session's turns, in order, from a fresh state."""
    key = str(correlation_id(session_id))
    state = net.new_state()
    for turn in turns:
        yield net.step([turn_input(turn, key)], [state])[0]
