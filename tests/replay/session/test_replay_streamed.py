"""A session streamed through the real broker, worker and Triton, then replayed, what-if'd and exported
through the `microturn` command line: the same scenario run live and in replay, compared."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from inference.network import CONFIGS, InteractionNetwork, save_checkpoint
from infra.cli.main import main
from infra.stack import Stack, StackSettings
from infra.triton import TritonServer
from schemas import Topics
from streams.media import TextLine
from streams.media.testing import Picture, Tone, write_media
from streams.publish import StreamSummary, publish_file
from streams.tail import OutputTail, sessions_complete
from tests.conftest import CACHE_DIR, unique_prefix
from tests.integration.test_end_to_end import write_wav
from tests.replay.export.probe import probe, subtitles

SESSION = "replayed"
AUDIO_ONLY = "audio-only"


@dataclass(frozen=True)
class Streamed:
    kafka: str
    prefix: str
    summary: StreamSummary
    flags: list[str]
    """--kafka, --topic-prefix and --state-dir for the CLI."""


async def _stream(kafka: str, topics: Topics, media: Path, wav: Path) -> StreamSummary:
    async with OutputTail(kafka, topics.output) as capture:
        texts = [TextLine(500, "hello there"), TextLine(1700, "are you still there?")]
        summary, _ = await asyncio.gather(
            publish_file(kafka, topics, media, SESSION, texts=texts), publish_file(kafka, topics, wav, AUDIO_ONLY)
        )
        await capture.until(sessions_complete([SESSION, AUDIO_ONLY]), timeout_s=90)
    return summary


@pytest.fixture(scope="module")
def streamed(
    run_dir: Path, kafka_bootstrap: str, triton_server: TritonServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Streamed]:
    """Two sessions answered by the pipeline, streamed concurrently: SESSION with audio, video and text
    (its summary is kept), AUDIO_ONLY an 8 kHz WAV; shared by this module's tests."""
    prefix = unique_prefix("replay-streamed")
    settings = StackSettings(run_dir / "stacks" / prefix, CACHE_DIR, kafka_bootstrap, triton_server.grpc_url, prefix)
    stack = Stack(settings)
    stack.up(say=lambda _: None)
    try:
        folder = tmp_path_factory.mktemp("media")
        media = write_media(folder / "call.mp4", Tone(codec="aac", seconds=3.0), Picture(fps=12, frames=36))
        wav = write_wav(folder / "call.wav", 2.1, 330.0, rate=8_000)
        summary = asyncio.run(_stream(kafka_bootstrap, Topics(prefix), media, wav))
        flags = ["--kafka", kafka_bootstrap, "--topic-prefix", prefix, "--state-dir", str(settings.state_dir)]
        yield Streamed(kafka_bootstrap, prefix, summary, flags)
    finally:
        stack.down(say=lambda _: None)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    """Exit code, the JSON document (or {"text": stdout} without --json), stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if "--json" in argv and out.strip() else {"text": out}, err


@pytest.mark.parametrize(("session", "turns"), [(SESSION, None), (AUDIO_ONLY, 11)])
def test_replaying_a_streamed_session_is_identical(
    streamed: Streamed, capsys: pytest.CaptureFixture[str], session: str, turns: int | None
) -> None:
    code, doc, err = cli(capsys, "replay", session, *streamed.flags, "--json")
    assert code == 0, err
    assert doc["identical"] and doc["first_divergence"] is None and doc["assembly"]["identical"]
    assert doc["session_id"] == session and doc["turns"] == (turns or streamed.summary.audio_chunks)
    assert doc["speed_x_realtime"] > 1
    code, human, _ = cli(capsys, "replay", session, *streamed.flags)
    assert code == 0 and "identical: re-derived turns and every output match" in human["text"]


def test_other_weights_refuse_exact_replay_and_a_checkpoint_reports_differences(
    streamed: Streamed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MICROTURN_MODEL_CHECKPOINT", "")  # seeded weights instead of the served checkpoint,
    monkeypatch.setenv("MICROTURN_MODEL_SEED", "7")  # so the weights here are no longer the recorded ones
    code, doc, err = cli(capsys, "replay", SESSION, *streamed.flags, "--json")
    assert code == 1 and doc == {"text": ""}
    assert "was answered by model tiny-" in err and "MICROTURN_MODEL_CHECKPOINT" in err and "--model" in err
    checkpoint = tmp_path / "seed7.pt"
    save_checkpoint(InteractionNetwork.seeded(CONFIGS["tiny"], 7), checkpoint)
    code, doc, err = cli(capsys, "replay", SESSION, *streamed.flags, "--model", str(checkpoint), "--json")
    assert code == 0, err
    assert not doc["identical"] and doc["turns"] == streamed.summary.audio_chunks
    assert doc["turns_changed"] == len(doc["differences"]) > 0 and doc["first_divergence"]["fields"]
    assert doc["model_version"] != doc["recorded_version"]
    assert doc["latency_ms"]["recorded_median"] > 0 and doc["latency_ms"]["what_if_median"] > 0
    code, human, _ = cli(capsys, "replay", SESSION, *streamed.flags, "--model", str(checkpoint))
    assert code == 0 and f"first divergence: turn {doc['first_divergence']['turn']}" in human["text"]


def test_exports_have_the_streams_and_length_of_the_session(
    streamed: Streamed, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seconds = streamed.summary.audio_chunks * 0.2
    for name in ("call.wav", "call.mp4"):
        code, doc, err = cli(capsys, "export", SESSION, str(tmp_path / name), *streamed.flags, "--json")
        assert code == 0, err
        assert doc["duration_ms"] == streamed.summary.audio_chunks * 200
    wav = probe(tmp_path / "call.wav")
    assert [(s["codec_type"], s["codec_name"], s["channels"]) for s in wav["streams"]] == [("audio", "pcm_s16le", 2)]
    assert abs(wav["duration"] - seconds) < 0.2
    mp4 = probe(tmp_path / "call.mp4")
    kinds = {s["codec_type"]: s for s in mp4["streams"]}
    assert {k: s["codec_name"] for k, s in kinds.items()} == {"audio": "aac", "video": "h264", "subtitle": "mov_text"}
    assert kinds["audio"]["channels"] == 2
    assert all(abs(kinds[k]["duration"] - seconds) < 0.2 for k in ("audio", "video")), mp4
    assert abs(mp4["duration"] - seconds) < 0.2
    assert abs(mp4["duration"] - streamed.summary.duration_ms / 1000) < 0.2  # the streamed media's own length
    texts = subtitles(tmp_path / "call.mp4")
    assert any("caller: hello there" in t for t in texts) and any("caller: are you still there?" in t for t in texts)


def test_unknown_sessions_and_a_missing_archive_fail_with_what_to_do(
    streamed: Streamed, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = cli(capsys, "replay", "nobody", *streamed.flags)
    assert code == 1 and "session 'nobody' has no events" in err
    code, _, err = cli(
        capsys, "replay", SESSION, "--source", "archive", "--archive", str(tmp_path / "none"), *streamed.flags
    )
    assert code == 1 and "no archive at" in err and "microturn archive run" in err


def test_the_archived_session_replays_identically_and_exports(
    streamed: Streamed, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from infra.testing import ArchiverProcess
    from processors.archiver.sync import wait_synced

    archive = tmp_path / "archive"
    with ArchiverProcess(
        streamed.kafka,
        streamed.prefix,
        archive,
        tmp_path / "keys" / "audit.key",
        log_path=tmp_path / "archiver.log",
        roll_age_s=0.2,
    ):
        asyncio.run(wait_synced(streamed.kafka, Topics(streamed.prefix), timeout_s=60))
    code, doc, err = cli(
        capsys, "replay", SESSION, "--source", "archive", "--archive", str(archive), *streamed.flags, "--json"
    )
    assert code == 0, err
    assert doc["identical"] and doc["turns"] == streamed.summary.audio_chunks and doc["source"].startswith("archive")
    code, doc, err = cli(
        capsys,
        "export",
        SESSION,
        str(tmp_path / "a.wav"),
        "--source",
        "archive",
        "--archive",
        str(archive),
        *streamed.flags,
        "--json",
    )
    assert code == 0 and doc["duration_ms"] == streamed.summary.audio_chunks * 200, err


def test_an_unreadable_served_checkpoint_is_a_clear_error_not_a_traceback(
    streamed: Streamed, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    monkeypatch.setenv("MICROTURN_MODEL_CHECKPOINT", str(junk))  # a CheckpointError, a NetworkError
    code, doc, err = cli(capsys, "replay", SESSION, *streamed.flags, "--json")
    assert code == 1 and doc == {"text": ""}
    error = json.loads(err)  # under --json the one error line is a JSON object
    assert error["kind"] == "CheckpointError" and error["exit_code"] == 1 and "junk.pt" in error["error"]
    assert "Traceback" not in err
