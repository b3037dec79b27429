"""A real archiver process against the real broker: SIGKILLed mid-stream, every record archived once.

Each test compares the archive with the log itself: the (topic, partition, offset) of every
archived row must be exactly the records on the archived topics, each once, and every session
must verify against its signed chain head.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from infra.testing import ArchiverProcess
from infra.topics import ensure_topics
from processors.archiver.settings import archiver_group
from processors.archiver.sync import wait_synced
from processors.archiver.tables import TABLES
from replay.analytics import connect
from replay.audit import load_verify_key, verify_session
from schemas import Topics
from streams.log import read_topics
from streams.media import TextLine
from streams.publish import publish_file
from tests.integration.test_end_to_end import write_wav

Coords = list[tuple[str, int, int]]


def archived_coords(archive: Path) -> Coords:
    con = connect(archive)
    union = " UNION ALL ".join(f"SELECT kafka_topic, kafka_partition, kafka_offset FROM {t}" for t in TABLES)
    rows = con.execute(f"SELECT * FROM ({union}) ORDER BY ALL").fetchall()
    con.close()
    return [(str(t), int(p), int(o)) for t, p, o in rows]


async def logged_coords(bootstrap: str, topics: Topics) -> Coords:
    names = [s.name for s in topics.specs() if s.name != topics.audit]
    return sorted((r.topic, r.partition, r.offset) for r in await read_topics(bootstrap, names))


async def assert_exactly_once_and_sealed(
    bootstrap: str, topics: Topics, archive: Path, key: Path, sessions: list[str]
) -> None:
    logged = await logged_coords(bootstrap, topics)
    archived = archived_coords(archive)
    assert len(archived) == len(set(archived)), "a record was archived twice"
    assert archived == logged
    for session_id in sessions:
        verdict = await verify_session(archive, bootstrap, topics, session_id, load_verify_key(key))
        assert verdict.intact, verdict.finding


def checkpoint_epoch(archive: Path) -> int:
    try:
        return int(json.loads((archive / "_archiver" / "checkpoint.json").read_text())["epoch"])
    except (OSError, ValueError):
        return 0


async def test_sigkill_mid_stream_then_restart_archives_every_record_exactly_once(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, topics)
    archive, key = tmp_path / "archive", tmp_path / "keys" / "audit.key"
    archiver = ArchiverProcess(
        kafka_bootstrap, topic_prefix, archive, key, log_path=tmp_path / "archiver.log", roll_age_s=0.2
    )
    await asyncio.to_thread(archiver.start)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    await producer.send_and_wait(topics.audio, b"\x00not an event\xff", key=b"alice")
    await producer.stop()
    streaming = asyncio.gather(
        publish_file(
            kafka_bootstrap,
            topics,
            write_wav(tmp_path / "a.wav", 3.0, 220.0),
            "alice",
            realtime=True,
            texts=[TextLine(500, "hello"), TextLine(2100, "still there?")],
        ),
        publish_file(kafka_bootstrap, topics, write_wav(tmp_path / "b.wav", 3.0, 330.0), "bob", realtime=True),
    )
    while checkpoint_epoch(archive) < 2:
        await asyncio.sleep(0.05)
    archiver.kill()
    assert not streaming.done(), "the kill should land while the sessions still stream"
    await streaming

    await asyncio.to_thread(archiver.start)
    await wait_synced(kafka_bootstrap, topics, timeout_s=60)
    await asyncio.to_thread(archiver.stop)

    await assert_exactly_once_and_sealed(kafka_bootstrap, topics, archive, key, ["alice", "bob"])
    con = connect(archive)
    letters = con.execute("SELECT session_id, source_topic, reason, raw_value FROM dead_letters").fetchall()
    counts = dict(con.execute("SELECT session_id, count(*) FROM audio_chunks GROUP BY ALL").fetchall())
    con.close()
    assert [(s, t) for s, t, _, _ in letters] == [("alice", topics.audio)]
    assert "expected a microturn event" in letters[0][2] and letters[0][3] == b"\x00not an event\xff"
    assert counts == {"alice": 15, "bob": 15}


@pytest.mark.parametrize("fault", ["after_files", "after_checkpoint"])
async def test_a_crash_at_either_side_of_the_commit_point_loses_and_repeats_nothing(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path, fault: str
) -> None:
    topics = Topics(topic_prefix)
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, topics)
    await publish_file(kafka_bootstrap, topics, write_wav(tmp_path / "c.wav", 1.0, 440.0), "carol")
    archive, key = tmp_path / "archive", tmp_path / "keys" / "audit.key"
    archiver = ArchiverProcess(kafka_bootstrap, topic_prefix, archive, key, log_path=tmp_path / "archiver.log")

    archiver.start(fault=fault)
    await asyncio.to_thread(archiver.wait_exit)
    assert list(archive.rglob("part-0000000001-*.parquet")), "the crash came after the files were written"
    assert checkpoint_epoch(archive) == (1 if fault == "after_checkpoint" else 0)

    await asyncio.to_thread(archiver.start)
    synced = await wait_synced(kafka_bootstrap, topics, timeout_s=60)
    await asyncio.to_thread(archiver.stop)

    assert synced["group"] == archiver_group(topic_prefix)
    await assert_exactly_once_and_sealed(kafka_bootstrap, topics, archive, key, ["carol"])
