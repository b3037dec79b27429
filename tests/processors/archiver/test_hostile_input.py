"""A real archiver against a hostile archive and hostile records (issue 12, items 1 and 7)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import msgspec
import pytest

from infra.cli.main import main
from infra.testing import ArchiverProcess
from infra.topics import ensure_topics
from processors.archiver.checkpoint import Checkpoint
from processors.archiver.sync import wait_synced
from replay.analytics import connect
from replay.audit import load_verify_key, verify_session
from schemas import DeadLetter, SessionEnded, SessionStarted, TextEvent, Topics
from schemas.audit import decode_head
from streams.log import read_topics
from tests.processors.archiver.hostile import produce, rechain
from tests.processors.archiver.samples import envelope
from tests.replay.audit.audit_topic import publish
from tests.replay.audit.test_tampering import rewrite


async def test_a_head_planted_in_the_checkpoint_is_never_endorsed(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, topics)
    archive, key = tmp_path / "archive", tmp_path / "keys" / "audit.key"
    archiver = ArchiverProcess(kafka_bootstrap, topic_prefix, archive, key, log_path=tmp_path / "archiver.log")
    await asyncio.to_thread(archiver.start)
    said = "please transfer 10 dollars to account 123"
    await produce(
        kafka_bootstrap,
        [
            (topics.session, SessionStarted(**envelope("victim", "session", 0), source="call"), "victim"),
            (topics.text, TextEvent(**envelope("victim", "text", 0, 0), text=said), "victim"),
            (topics.text, TextEvent(**envelope("victim", "text", 1, 1), text="thanks"), "victim"),
        ],
    )
    await wait_synced(kafka_bootstrap, topics, timeout_s=60)
    await asyncio.to_thread(archiver.stop)

    # The attacker rewrites the event, recomputes the stored hints and plants a matching head.
    forged_link = rechain(
        archive, "victim", {"victim/text/0": {"text": "please transfer 10000 dollars to account 666"}}
    )
    path = archive / "_archiver" / "checkpoint.json"
    checkpoint = msgspec.json.decode(path.read_bytes(), type=Checkpoint)
    genuine = [h for h in checkpoint.heads if h.session_id == "victim"]
    assert genuine, "the last epoch sealed the victim's chain"
    planted = msgspec.structs.replace(genuine[0], link=forged_link)
    others = tuple(h for h in checkpoint.heads if h.session_id != "victim")
    path.write_bytes(msgspec.json.encode(msgspec.structs.replace(checkpoint, heads=(*others, planted))))

    await asyncio.to_thread(archiver.start)
    ended = SessionEnded(**envelope("victim", "session", 1), turns=2)
    await produce(kafka_bootstrap, [(topics.session, ended, "victim")])
    await wait_synced(kafka_bootstrap, topics, timeout_s=60)
    await asyncio.to_thread(archiver.stop)

    verdict = await verify_session(archive, kafka_bootstrap, topics, "victim", load_verify_key(Path(f"{key}.pub")))
    assert not verdict.intact, "the rewritten event must not verify"
    assert "checkpoint_head_rejected" in (tmp_path / "archiver.log").read_text()


async def test_a_record_the_archive_cannot_hold_is_dead_lettered_and_archiving_goes_on(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, topics)
    archive, key = tmp_path / "archive", tmp_path / "keys" / "audit.key"
    archiver = ArchiverProcess(kafka_bootstrap, topic_prefix, archive, key, log_path=tmp_path / "archiver.log")
    await asyncio.to_thread(archiver.start)
    huge = TextEvent(**{**envelope("huge", "text", 0, 0), "seq": 2**63}, text="x")
    await produce(
        kafka_bootstrap,
        [
            (topics.session, SessionStarted(**envelope("huge", "session", 0)), "huge"),
            (topics.text, huge, "huge"),
            (topics.text, TextEvent(**envelope("huge", "text", 1, 1), text="after"), "huge"),
            (topics.session, SessionEnded(**envelope("huge", "session", 1)), "huge"),
        ],
    )
    await wait_synced(kafka_bootstrap, topics, timeout_s=30)
    await asyncio.to_thread(archiver.kill)  # a restart must not trip over the record again
    await asyncio.to_thread(archiver.start)
    await wait_synced(kafka_bootstrap, topics, timeout_s=30)
    await asyncio.to_thread(archiver.stop)

    letters = [r.event for r in await read_topics(kafka_bootstrap, [topics.dlq], topics.partitions)]
    assert len(letters) == 1 and isinstance(letters[0], DeadLetter)
    assert letters[0].source_topic == topics.text and letters[0].producer == "archiver"
    assert f"{topics.text}[" in letters[0].reason and "seq" in letters[0].reason
    con = connect(archive)
    texts = con.execute("SELECT event_id FROM text_events ORDER BY ALL").fetchall()
    dead = con.execute("SELECT source_topic, source_offset FROM dead_letters").fetchall()
    con.close()
    assert texts == [("huge/text/1",)]
    assert dead == [(topics.text, letters[0].source_offset)]
    verdict = await verify_session(archive, kafka_bootstrap, topics, "huge", load_verify_key(Path(f"{key}.pub")))
    assert verdict.intact and verdict.ended


async def test_a_session_whose_final_head_is_gone_has_no_signed_end(
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topics = Topics(topic_prefix)
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, topics)
    archive, key = tmp_path / "archive", tmp_path / "keys" / "audit.key"
    archiver = ArchiverProcess(kafka_bootstrap, topic_prefix, archive, key, log_path=tmp_path / "archiver.log")
    await asyncio.to_thread(archiver.start)
    opened = [
        (topics.session, SessionStarted(**envelope("open", "session", 0)), "open"),
        (topics.text, TextEvent(**envelope("open", "text", 0, 0), text="hello"), "open"),
    ]
    await produce(kafka_bootstrap, opened)
    await wait_synced(kafka_bootstrap, topics, timeout_s=60)
    early = [r.value for r in await read_topics(kafka_bootstrap, [topics.audit], topics.partitions, "open")][-1]
    assert decode_head(early).count == 2 and not decode_head(early).final
    ended = [
        (topics.text, TextEvent(**envelope("open", "text", 1, 1), text="bye"), "open"),
        (topics.session, SessionEnded(**envelope("open", "session", 1)), "open"),
    ]
    await produce(kafka_bootstrap, ended)
    await wait_synced(kafka_bootstrap, topics, timeout_s=60)
    await asyncio.to_thread(archiver.stop)
    public = load_verify_key(Path(f"{key}.pub"))
    verdict = await verify_session(archive, kafka_bootstrap, topics, "open", public)
    assert verdict.intact and verdict.ended and verdict.events == 4

    # Compaction keeps one head per session; suppose an attacker left only the early one and cut the rows after it.
    only_early = Topics(f"{topic_prefix}-c")
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, only_early)
    await publish(kafka_bootstrap, only_early.prefix, "open", [early], partition=0)
    truncated = Path(shutil.copytree(archive, tmp_path / "truncated", ignore=shutil.ignore_patterns("lock")))
    for table in ("text_event", "session_ended"):
        rewrite(truncated, table, lambda rows: [r for r in rows if r["audit_seq"] < 2])  # the end is gone
    verdict = await verify_session(truncated, kafka_bootstrap, only_early, "open", public)
    assert verdict.intact and not verdict.ended and verdict.events == 2

    monkeypatch.setattr(sys.modules["infra.cli.main"], "configure", lambda *args, **kwargs: None)
    flags = ["--public-key", f"{key}.pub", "--kafka", kafka_bootstrap, "--topic-prefix", only_early.prefix]
    code = await asyncio.to_thread(main, ["audit", "verify", "open", *flags, "--archive", str(truncated)])
    assert code == 6 and "no signed end" in capsys.readouterr().out
