"""A real-time session with audio, video and text, where the model delegates a task and the
background agent's result comes back into a later micro-turn."""

from __future__ import annotations

from pathlib import Path

from infra.stack import Stack
from processors.recovery import first_per_turn
from schemas import BackgroundResult, BackgroundTask, ModelOutput, Topics
from streams.log import read_topics
from streams.media import TextLine
from streams.media.testing import Picture, Tone, write_media
from streams.publish import publish_file
from streams.tail import OutputTail, sessions_complete

REQUEST = "please calculate 12 * 7 for me"


async def test_a_delegated_task_comes_back_as_input_to_a_later_turn(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    call = write_media(
        tmp_path / "call.mp4", Tone("aac", rate=44_100, channels=2, seconds=4.0), Picture("h264", fps=10, frames=40)
    )
    texts = [TextLine(time_ms=600, text=REQUEST), TextLine(time_ms=2900, text="thanks")]
    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        summary = await publish_file(kafka_bootstrap, topics, call, "full", realtime=True, texts=texts)
        await capture.until(sessions_complete(["full"]), timeout_s=120)
    assert summary.video_frames == summary.audio_chunks >= 20 and summary.text_events == 2

    log = [
        r.event
        for r in await read_topics(
            kafka_bootstrap,
            [topics.turns, topics.output, topics.background_tasks, topics.background_results],
            topics.partitions,
        )
    ]
    turns = first_per_turn(log)
    outputs = {e.seq: e for e in log if isinstance(e, ModelOutput)}
    assert sorted(outputs) == [t.seq for t in turns] == list(range(summary.audio_chunks))
    assert all(t.video is not None and t.audio is not None for t in turns)
    asked = next(t for t in turns if REQUEST in t.text)
    assert asked.seq == 3  # 600 ms lies in turn 3 (unless it arrived late, which a live run should not)

    delegated = [o for o in outputs.values() if o.action == "DELEGATE"]
    assert delegated, "the model never delegated"
    tasks = [e for e in log if isinstance(e, BackgroundTask)]
    task = next(t for t in tasks if t.turn == asked.seq)
    assert outputs[asked.seq].action == "DELEGATE"
    assert REQUEST in task.context["recent_user_text"] and task.context["elapsed_ms"] == str(200 * asked.seq + 200)
    result = next(e for e in log if isinstance(e, BackgroundResult) and e.task_id == task.task_id)
    assert (result.tool, result.status, result.result) == ("calculator", "ok", "12 * 7 = 84")
    delivered = [t for t in turns if "12 * 7 = 84" in t.background]
    assert len(delivered) == 1 and delivered[0].seq > asked.seq
    assert result.event_id in delivered[0].event_ids
