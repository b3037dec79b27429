"""The README's plain-Python consumer (examples/consumer.py) reads a real session's outputs (issue 16, item 6)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from infra.stack import Stack
from schemas import Topics
from streams.publish import publish_file
from tests.integration.test_end_to_end import write_wav

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "consumer.py"


def test_the_readme_shows_the_example_consumer_verbatim() -> None:
    code = EXAMPLE.read_text()
    body = code[code.index("import asyncio") :].strip()
    assert body in (ROOT / "README.md").read_text()


async def test_the_example_consumer_prints_every_output_of_a_real_session(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    summary = await publish_file(kafka_bootstrap, topics, write_wav(tmp_path / "a.wav", 1.0, 220.0), "example")
    consumer = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        env={**os.environ, "KAFKA": kafka_bootstrap, "TOPIC": topics.output},
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(consumer.communicate(), 120)
    assert consumer.returncode == 0
    lines = [line.split(" ", 3) for line in stdout.decode().splitlines()]
    assert [int(seq) for _, seq, _, _ in lines] == list(range(summary.audio_chunks))
    assert {session for session, _, _, _ in lines} == {summary.session_id}
    assert all(action in ("LISTEN", "SPEAK", "BACKCHANNEL", "DELEGATE") for _, _, action, _ in lines)
