"""`microturn stream` as users run it: summaries, exit codes, and bad input that publishes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas import SessionEnded, SessionStarted, TextEvent, Topics
from streams.log import read_topics
from streams.media.testing import Tone, write_media


def stream(path: Path, session: str, bootstrap: str, prefix: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MICROTURN_KAFKA": bootstrap, "MICROTURN_TOPIC_PREFIX": prefix}
    return subprocess.run(
        [sys.executable, "-m", "infra.cli.main", "stream", str(path), "--session", session, "--json", *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def input_topics(prefix: str) -> list[str]:
    t = Topics(prefix)
    return [t.session, t.audio, t.video, t.text]


@pytest.fixture
def topics_only(kafka_bootstrap: str, topic_prefix: str) -> str:
    from infra.topics import ensure_topics

    ensure_topics(kafka_bootstrap, Topics(topic_prefix))
    return topic_prefix


def test_a_good_file_with_text_prints_the_json_summary(kafka_bootstrap: str, topics_only: str, tmp_path: Path) -> None:
    media = write_media(tmp_path / "call.wav", Tone("pcm_mulaw", rate=8000, channels=1, seconds=1.1))
    transcript = tmp_path / "t.jsonl"
    transcript.write_text('{"t": 0.5, "text": "from the transcript"}\n')
    result = stream(
        media, "good", kafka_bootstrap, topics_only, "--text", "0.25:hello", "--transcript", str(transcript)
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary == {
        "session_id": "good",
        "status": "complete",
        "audio_chunks": 6,
        "video_frames": 0,
        "text_events": 2,
        "duration_ms": 1200,
    }


EMPTY, TEXT = b"", b"this is a text file, not media\n" * 10


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("empty.wav", EMPTY, "empty"),
        ("notes.mp3", TEXT, "notes.mp3"),
        ("missing.wav", None, "missing.wav"),
    ],
)
async def test_bad_input_exits_2_names_the_file_and_publishes_nothing(
    kafka_bootstrap: str, topics_only: str, tmp_path: Path, name: str, content: bytes | None, fragment: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    session = f"bad-{name}"
    result = stream(path, session, kafka_bootstrap, topics_only)
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr and str(path.name) in result.stderr
    assert await read_topics(kafka_bootstrap, input_topics(topics_only), session_id=session) == []


async def test_a_file_cut_midway_publishes_what_decoded_ends_truncated_and_exits_3(
    kafka_bootstrap: str, topics_only: str, tmp_path: Path
) -> None:
    whole = write_media(tmp_path / "whole.flac", Tone("flac", rate=22050, channels=1, seconds=2.0))
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = stream(cut, "cut", kafka_bootstrap, topics_only)
    assert result.returncode == 3, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "truncated" and 0 < summary["audio_chunks"] < 10
    events = [r.event for r in await read_topics(kafka_bootstrap, input_topics(topics_only), session_id="cut")]
    ended = [e for e in events if isinstance(e, SessionEnded)]
    assert len(ended) == 1 and ended[0].reason == "truncated" and ended[0].audio_chunks == summary["audio_chunks"]
    assert sum(isinstance(e, SessionStarted) for e in events) == 1
    assert not any(isinstance(e, TextEvent) for e in events)
