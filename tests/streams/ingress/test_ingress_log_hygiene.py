"""`microturn serve ws` as a process: refused tokens never reach its log (item 19), and a
duplicated header is a 400, not a 500 with a traceback (item 18)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from schemas import Topics
from tests.streams.ingress.helpers import TOKEN


async def test_refused_tokens_are_redacted_in_the_servers_log(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    env = {**os.environ, "MICROTURN_WS_TOKEN": TOKEN}
    cli = [str(Path(sys.executable).parent / "microturn")]
    server = await asyncio.create_subprocess_exec(
        *cli,
        "serve",
        "ws",
        "--kafka",
        kafka_bootstrap,
        "--topic-prefix",
        topics.prefix,
        "--state-dir",
        str(tmp_path / "state"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert server.stdout is not None
        banner = (await asyncio.wait_for(server.stdout.readline(), 60)).decode()
        url = banner.split("listening on ")[1].split()[0]
        statuses = []
        for target, headers in (
            (f"{url}pcm?access_token=leaked-query-secret-1", []),
            (url, [("Authorization", "Bearer leaked-bearer-secret-2")]),
            (url, [("Authorization", "Bearer leaked-dup-secret-3"), ("Authorization", f"Bearer {TOKEN}")]),
        ):
            with pytest.raises(InvalidStatus) as refused:
                await connect(target, additional_headers=headers)
            statuses.append(refused.value.response.status_code)
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr_bytes = await asyncio.wait_for(server.communicate(), 30)
    stderr = stderr_bytes.decode()
    assert "connection_refused" in stderr
    assert "leaked" not in stderr and TOKEN not in stderr
    assert statuses == [403, 403, 400]
    assert "Traceback" not in stderr
