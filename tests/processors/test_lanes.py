"""Per-session lanes: any failure of an item is handed to the failure callback; the lane goes on."""

from __future__ import annotations

import asyncio

from processors.lanes import Lanes


async def test_an_item_that_raises_anything_goes_to_the_failure_callback_and_later_items_still_run() -> None:
    handled: list[int] = []
    failed: list[tuple[int, str]] = []

    async def handle(item: int) -> None:
        if item == 1:
            raise ValueError("10 bytes of audio")
        if item == 2:
            raise KeyError("missing")
        handled.append(item)

    async def fail(item: int, exc: Exception) -> None:
        failed.append((item, type(exc).__name__))

    lanes: Lanes[int] = Lanes(handle, fail)
    for item in range(5):
        lanes.put("s", item)
    await lanes.join()
    assert handled == [0, 3, 4]
    assert failed == [(1, "ValueError"), (2, "KeyError")]


async def test_a_failing_failure_callback_does_not_stop_the_lane() -> None:
    handled: list[int] = []

    async def handle(item: int) -> None:
        if item == 0:
            raise RuntimeError("bad record")
        handled.append(item)

    async def fail(item: int, exc: Exception) -> None:
        raise OSError("dead-letter topic unreachable")

    lanes: Lanes[int] = Lanes(handle, fail)
    lanes.put("s", 0)
    lanes.put("s", 1)
    await asyncio.wait_for(lanes.join(), 5)
    assert handled == [1]
