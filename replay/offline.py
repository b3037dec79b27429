"""Running recorded MicroTurns through the interaction network offline, as Triton would.

Offline means: no broker writes, no server, no wall clock. The session key is the same one the
server derives from the correlation id, so seeded sampling draws the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from inference.client import correlation_id
from inference.harness import Harness
from inference.network import TurnInput, TurnOutput
from processors.interaction import to_request
from schemas import MicroTurn


class Model(Protocol):
    """What offline replay runs: the interaction network, or the harness through `HarnessNetwork`."""

    @property
    def version(self) -> str: ...

    def new_state(self) -> Any: ...

    def step(self, inputs: Sequence[TurnInput], states: Sequence[Any]) -> list[TurnOutput]: ...


class HarnessNetwork:
    """The harness baseline behind the network's step interface (what-if replay with `--model harness`)."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.version = harness.version

    def new_state(self) -> Any:
        return self.harness.new_state()

    def step(self, inputs: Sequence[TurnInput], states: Sequence[Any]) -> list[TurnOutput]:
        outputs = []
        for item, state in zip(inputs, states, strict=True):
            out = self.harness.step(state, item.turn, item.audio, item.text, item.background)
            outputs.append(TurnOutput(out.action, out.text, out.audio, b""))
        return outputs


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


def run_session(net: Model, session_id: str, turns: Sequence[MicroTurn]) -> Iterator[TurnOutput]:
    """The network's output for each of a session's turns, in order, from a fresh state."""
    key = str(correlation_id(session_id))
    state = net.new_state()
    for turn in turns:
        yield net.step([turn_input(turn, key)], [state])[0]
