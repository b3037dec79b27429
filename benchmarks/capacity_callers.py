"""The callers of one capacity level, in their own process (so they do not share the server's loop).

    python -m benchmarks.capacity_callers SPEC.json RESULT.json

SPEC: {"url", "token", "sids", "seconds", "tail_s", "linger_s", "spread_s"}. Each call streams a
caller who talks 0.6 s of every 1.2 s (a tone, one frequency per call) in real time through
`place_call`, the calls' starts spread evenly over `spread_s`. Prints "started" once the calls
are placed (the parent times its CPU window from it), writes RESULT (per call: what was sent and
when the model's audio of each turn first arrived, and this process's own CPU over the calls) and
exits.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.live_common import caller
from streams.ingress import CallResult, place_call


async def _one(spec: dict[str, Any], sid: str, audio: bytes, delay_s: float) -> CallResult | str:
    await asyncio.sleep(delay_s)
    try:
        return await place_call(
            spec["url"], spec["token"], audio, tail_s=spec["tail_s"], stream_sid=sid, linger_s=spec["linger_s"]
        )
    except Exception as exc:  # noqa: BLE001  # one failed call is a result of the level, not a crash of the others
        return f"{type(exc).__name__}: {exc}"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _run(spec: dict[str, Any]) -> dict[str, Any]:
    sids: list[str] = spec["sids"]
    audios = [caller(spec["seconds"], 200.0 + 37.0 * (i % 40)) for i in range(len(sids))]
    cpu0, wall0 = _cpu(), time.monotonic()
    calls = asyncio.gather(
        *(_one(spec, sid, audios[i], spec["spread_s"] * i / len(sids)) for i, sid in enumerate(sids))
    )
    print("started", flush=True)
    results = await calls
    out: list[dict[str, Any]] = []
    for sid, result in zip(sids, results, strict=True):
        if isinstance(result, str):
            out.append({"sid": sid, "error": result})
            continue
        out.append(
            {
                "sid": sid,
                "sent_ns": result.sent_ns,
                "first_frame_ns": {str(k): v for k, v in result.first_frame_ns.items()},
                "server_closed": result.server_closed,
                "close_code": result.close_code,
                "clears": result.clears,
            }
        )
    return {"calls": out, "cpu_s": _cpu() - cpu0, "wall_s": time.monotonic() - wall0}


def main() -> None:
    spec_path, result_path = Path(sys.argv[1]), Path(sys.argv[2])
    doc = asyncio.run(_run(json.loads(spec_path.read_text())))
    tmp = result_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    tmp.replace(result_path)


if __name__ == "__main__":
    main()
