"""Per-session model state inside a Triton model instance, keyed by correlation id.

Triton's implicit state does not work in the python backend, so the instance keeps each
session's KV cache here. The registry is told the time by its caller, so it is testable
without a clock.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from inference.errors import OutOfOrder, Overloaded, SequenceLost, error_message

S = TypeVar("S")


@dataclass
class _Entry(Generic[S]):
    state: S
    next_turn: int
    last_used_s: float


class SequenceRegistry(Generic[S]):
    """Live sessions of one model instance, at most `max_sessions`, evicted after `idle_evict_s`."""

    def __init__(self, max_sessions: int, idle_evict_s: float) -> None:
        if max_sessions < 1 or idle_evict_s <= 0:
            raise ValueError(f"expected max_sessions >= 1 and idle_evict_s > 0; got {max_sessions}, {idle_evict_s}")
        self._max = max_sessions
        self._idle_s = idle_evict_s
        self._entries: OrderedDict[str, _Entry[S]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, corrid: str, turn: int, start: bool, new_state: Callable[[], S], now_s: float) -> S:
        """The state to run `turn` of `corrid` on, called once per request before the model step.

        START replaces any previous state (a rebuild restarts from turn 0). Without START the
        session must be live, else SequenceLost; the turn must be the next one, else OutOfOrder.
        """
        self.evict_idle(now_s)
        if start:
            self._entries.pop(corrid, None)
            if len(self._entries) >= self._max:
                raise Overloaded(error_message(Overloaded, f"{self._max} sessions are live; retry when one ends"))
            if turn != 0:
                raise OutOfOrder(error_message(OutOfOrder, f"START must carry turn 0; got turn {turn}"))
            self._entries[corrid] = _Entry(new_state(), 0, now_s)
        entry = self._entries.get(corrid)
        if entry is None:
            raise SequenceLost(
                error_message(
                    SequenceLost,
                    f"no state for session {corrid!r} (server restarted or session evicted); "
                    "rebuild it by re-sending its turns from turn 0 with START",
                )
            )
        if turn != entry.next_turn:
            raise OutOfOrder(
                error_message(OutOfOrder, f"session {corrid!r} expects turn {entry.next_turn}; got turn {turn}")
            )
        self._entries.move_to_end(corrid)
        return entry.state

    def commit(self, corrid: str, end: bool, now_s: float) -> None:
        """Record that the turn ran; END frees the session."""
        if end:
            self._entries.pop(corrid, None)
            return
        entry = self._entries[corrid]
        entry.next_turn += 1
        entry.last_used_s = now_s

    def evict_idle(self, now_s: float) -> list[str]:
        """Forget sessions idle longer than `idle_evict_s`; their ids."""
        evicted = []
        while self._entries:
            corrid, entry = next(iter(self._entries.items()))
            if now_s - entry.last_used_s <= self._idle_s:
                break
            del self._entries[corrid]
            evicted.append(corrid)
        return evicted
