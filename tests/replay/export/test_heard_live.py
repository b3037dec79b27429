"""A live Twilio call whose model speech is partly cut by a barge-in: the export and the audit bundle
hold only what the caller heard. Real broker, real ingress, real archiver.

The model's outputs are written straight to the output topic (as in the ingress's barge-in tests), so
the test decides which turns speak, which marks the carrier echoes and when the model stops: turn 0 is
echoed (played), turns 1 and 2 are cut by the clear the LISTEN at turn 3 causes, turn 4 is echoed again
and turn 5 is sent but never echoed before the call stops (unconfirmed). Each turn speaks at its own level.
"""

from __future__ import annotations

import asyncio
import json
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from aiokafka import AIOKafkaConsumer

from infra.testing import ArchiverProcess
from infra.topics import ensure_topics
from processors.archiver.sync import wait_synced
from replay.audit.bundle import SCRIPT
from replay.export import lay_out
from replay.session import from_archive, from_kafka
from schemas import ModelOutput, Topics, event_id
from streams.ingress import TwilioProtocol
from streams.producer import EventProducer
from tests.replay.audit.test_verify_bundle import run_isolated
from tests.replay.conftest import Cli
from tests.streams.ingress.helpers import TOKEN, closed_with, media, running, stream

SID = "MZcleared"
SPEAKS = {0: 1000, 1: 2000, 2: 3000, 4: 5000, 5: 6000}
"""Turns the model speaks and the constant sample value of each one's audio."""


def _output(turn: int) -> ModelOutput:
    level = SPEAKS.get(turn, 0)
    return ModelOutput(
        event_id=event_id(SID, "output", turn),
        session_id=SID,
        seq=turn,
        event_time_ms=200 * turn,
        turn=turn,
        action="SPEAK" if level else "LISTEN",
        text=f"said{turn} " if level else "",
        audio=level.to_bytes(2, "little", signed=True) * 3200,
    )


async def _events(websocket: object, count: int) -> list[dict[str, object]]:
    return [json.loads(await asyncio.wait_for(websocket.recv(), 10)) for _ in range(count)]  # type: ignore[attr-defined]


def _mark(name: str) -> str:
    return json.dumps({"event": "mark", "streamSid": SID, "mark": {"name": name}})


async def _recorded(bootstrap: str, topics: Topics) -> None:
    """Wait until the first Playback record of the call is on the playback topic."""
    consumer = AIOKafkaConsumer(topics.playback, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async with asyncio.timeout(10):
            await consumer.getone()
    finally:
        await consumer.stop()


async def _call(bootstrap: str, topics: Topics) -> list[str]:
    """The call; the events the carrier received, by kind."""
    async with running(bootstrap, topics.prefix, TwilioProtocol(TOKEN), drain_timeout_s=0.5) as server:
        websocket = await stream(server, SID)
        for i in range(70):  # 1.4 s of caller audio: turns 0..6
            await websocket.send(media(SID, i, bytes([0xFF]) * 160))
        received: list[dict[str, object]] = []
        async with EventProducer(bootstrap, topics) as producer:
            for turn in (0, 1, 2):
                await producer.send(topics.output, _output(turn))
            await producer.flush()
            received += await _events(websocket, 33)
            await websocket.send(_mark("turn-0"))  # the carrier played turn 0 ...
            await _recorded(bootstrap, topics)  # ... and its echo is recorded before the model stops
            await producer.send(topics.output, _output(3))  # LISTEN: turns 1 and 2 are cut
            await producer.flush()
            received += await _events(websocket, 1)
            for name in ("turn-1", "turn-2"):  # carriers echo cleared marks too: ignored
                await websocket.send(_mark(name))
            for turn in (4, 5):
                await producer.send(topics.output, _output(turn))
            await producer.flush()
            received += await _events(websocket, 22)
            await websocket.send(_mark("turn-4"))  # turn 5 is never confirmed (messages are taken in order)
        await websocket.send(json.dumps({"event": "stop", "sequenceNumber": "99", "streamSid": SID}))
        await closed_with(websocket)
    return [str(e["event"]) for e in received]


def _model_turn(track: npt.NDArray[np.int16], turn: int) -> npt.NDArray[np.int16]:
    return track[turn * 3200 : (turn + 1) * 3200]


@pytest.fixture
def archive(run_dir: Path, kafka_bootstrap: str, topic_prefix: str) -> Path:
    topics = Topics(topic_prefix)
    ensure_topics(kafka_bootstrap, topics)
    home = run_dir / "heard" / topic_prefix
    archiver = ArchiverProcess(
        kafka_bootstrap, topic_prefix, home / "archive", home / "keys" / "audit.key", log_path=home / "archiver.log"
    )
    archiver.start()
    try:
        kinds = asyncio.run(_call(kafka_bootstrap, topics))
        assert kinds.count("clear") == 1 and kinds.count("mark") == 5
        asyncio.run(wait_synced(kafka_bootstrap, topics, timeout_s=60))
    finally:
        archiver.stop()
    return home


def test_the_export_and_the_audit_bundle_hold_only_model_audio_that_played(
    archive: Path, kafka_bootstrap: str, topic_prefix: str, cli: Cli, tmp_path: Path
) -> None:
    root, key = archive / "archive", archive / "keys" / "audit.key.pub"
    recording = from_archive(root, SID)
    assert [(p.kind, p.turns) for p in recording.playbacks] == [("played", (0,)), ("cleared", (1, 2)), ("played", (4,))]
    cleared = {t for p in recording.playbacks if p.kind == "cleared" for t in p.turns}
    for source in (recording, asyncio.run(from_kafka(kafka_bootstrap, Topics(topic_prefix), SID))):
        tracks = lay_out(source)
        model = tracks.stereo[:, 1]
        for output in source.outputs:
            placed = _model_turn(model, output.seq)
            pcm = np.frombuffer(output.audio, "<i2")
            if output.seq in (0, 4):  # played: there, sample for sample
                assert np.array_equal(placed, pcm), output.seq
            else:  # cleared (1, 2), never confirmed (5) or silent: nothing of it anywhere in the channel
                assert not placed.any(), output.seq
                if output.seq in SPEAKS:
                    assert not np.isin(model, pcm[:1]).any(), output.seq
        assert cleared == {1, 2} and tracks.model_audio.unconfirmed == {5}
        assert all("said1" not in c.text and "said2" not in c.text for c in tracks.cues)

    flags = ["--kafka", kafka_bootstrap, "--topic-prefix", topic_prefix]
    code, out, _ = cli(
        "export", SID, str(tmp_path / "call.wav"), "--source", "archive", "--archive", str(root), "--json", *flags
    )
    assert code == 0, out
    doc = json.loads(out)
    assert doc["model_audio"] == {
        "basis": "carrier",
        "placed_turns": 2,
        "played_turns": [0, 4],
        "cleared_turns": [1, 2],
        "unconfirmed_turns": [5],
    }
    with wave.open(str(tmp_path / "call.wav")) as wav:
        written = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)[:, 1]
    assert set(np.unique(written).tolist()) == {0, SPEAKS[0], SPEAKS[4]}

    bundle = tmp_path / "bundle"
    code, out, err = cli("audit", "export", SID, str(bundle), "--public-key", str(key), "--archive", str(root), *flags)
    assert code == 0, (out, err)
    playback = [json.loads(line) for line in (bundle / "playback.jsonl").read_text().splitlines()]
    assert [(p["kind"], p["turns"]) for p in playback] == [("played", [0]), ("cleared", [1, 2]), ("played", [4])]
    done = run_isolated(bundle / SCRIPT.name, str(bundle), str(root), "--public-key", str(key), "--json")
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["playback"] == {"records": 3, "played_turns": [0, 4], "cleared_turns": [1, 2]}
