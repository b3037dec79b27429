"""`microturn stream` with hostile input: everything is checked before the first event; exit 2, nothing sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas import AudioChunk, Topics
from streams.log import read_topics
from streams.media.testing import Tone, write_media
from tests.integration.test_stream_cli import input_topics, stream

HOSTILE_IDS = ["../../etc/passwd", "a\nb", "\x1b[2J\x1b[31mred", 'quo"te', "x" * 10_000, ""]


@pytest.fixture
def topics_only(kafka_bootstrap: str, topic_prefix: str) -> str:
    from infra.topics import ensure_topics

    ensure_topics(kafka_bootstrap, Topics(topic_prefix))
    return topic_prefix


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return write_media(tmp_path / "call.wav", Tone("pcm_s16le", rate=16000, channels=1, seconds=1.0))


async def everything(bootstrap: str, prefix: str) -> list[object]:
    return [r.event for r in await read_topics(bootstrap, input_topics(prefix))]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--text", "1e30:hi"], "SECONDS <= 86400"),
        (["--text", "1:" + "x" * 70_000], "at most 65536 bytes"),
        (["--transcript", "{transcript}"], '"t" at most 86400000 ms'),
    ],
    ids=["huge-time", "giant-text", "transcript-time"],
)
async def test_bad_text_input_exits_2_and_publishes_nothing(
    kafka_bootstrap: str,
    topics_only: str,
    media: Path,
    tmp_path: Path,
    extra: list[str],
    fragment: str,
) -> None:
    transcript = tmp_path / "t.jsonl"
    transcript.write_text('{"t": 1, "text": "fine"}\n{"t": 1e30, "text": "far"}\n')
    args = [a.replace("{transcript}", str(transcript)) for a in extra]
    result = stream(media, "texty", kafka_bootstrap, topics_only, *args)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]  # under --json the error line is a JSON object
    message = json.loads(last)["error"] if last.startswith("{") else last
    assert fragment in message and "Traceback" not in result.stderr
    assert await everything(kafka_bootstrap, topics_only) == []


@pytest.mark.parametrize("session", HOSTILE_IDS, ids=range(len(HOSTILE_IDS)))
async def test_an_invalid_session_id_exits_2_publishes_nothing_and_is_not_echoed_raw(
    kafka_bootstrap: str,
    topics_only: str,
    media: Path,
    session: str,
) -> None:
    result = stream(media, session, kafka_bootstrap, topics_only)
    assert result.returncode == 2, result.stderr
    assert "expected a session id of 1-128 characters from [A-Za-z0-9._:-]" in result.stderr
    assert "\x1b" not in result.stderr and len(result.stderr) < 2_000
    assert await everything(kafka_bootstrap, topics_only) == []


async def test_reusing_a_session_id_exits_2_and_publishes_nothing_more(
    kafka_bootstrap: str,
    topics_only: str,
    media: Path,
) -> None:
    first = stream(media, "once", kafka_bootstrap, topics_only)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["audio_chunks"] == 5
    before = await everything(kafka_bootstrap, topics_only)
    again = stream(media, "once", kafka_bootstrap, topics_only)
    assert again.returncode == 2, again.stderr
    assert "session once already exists" in again.stderr
    after = await everything(kafka_bootstrap, topics_only)
    assert len(after) == len(before) and sum(isinstance(e, AudioChunk) for e in after) == 5
    other = stream(media, "twice", kafka_bootstrap, topics_only)  # another id is still fine
    assert other.returncode == 0, other.stderr


async def test_the_default_session_id_of_an_oddly_named_file_is_valid(
    kafka_bootstrap: str,
    topics_only: str,
    tmp_path: Path,
) -> None:
    odd = write_media(tmp_path / "my call (1) ü.wav", Tone("pcm_s16le", rate=16000, channels=1, seconds=0.4))
    env = {**os.environ, "MICROTURN_KAFKA": kafka_bootstrap, "MICROTURN_TOPIC_PREFIX": topics_only}
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli.main", "stream", str(odd), "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["session_id"].startswith("my_call__1___-")
