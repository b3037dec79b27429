"""`microturn serve twilio` and `microturn call`, as processes, through the whole pipeline."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.request
import wave
from pathlib import Path

import numpy as np

from infra.stack import Stack
from tests.streams.ingress.helpers import TOKEN, talk_and_pause, write_mulaw_wav


async def test_a_recorded_call_played_through_microturn_call_comes_back_with_model_audio(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    recording = write_mulaw_wav(tmp_path / "call.wav", talk_and_pause(2.0, 350.0))
    reply = tmp_path / "reply.wav"
    env = {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN}
    cli = [str(Path(sys.executable).parent / "microturn")]
    server = await asyncio.create_subprocess_exec(
        *cli,
        "serve",
        "twilio",
        "--kafka",
        kafka_bootstrap,
        "--topic-prefix",
        topic_prefix,
        "--state-dir",
        str(tmp_path / "state"),
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert server.stdout is not None
        banner = (await asyncio.wait_for(server.stdout.readline(), 60)).decode()
        url = banner.split("listening on ")[1].split()[0] + "media"
        metrics_url = (await asyncio.wait_for(server.stdout.readline(), 60)).decode().split()[1].rstrip(";")
        call = await asyncio.create_subprocess_exec(
            *cli,
            "call",
            str(recording),
            "--twilio",
            url,
            "--out",
            str(reply),
            "--tail",
            "1",
            "--param",
            "lang=en",
            "--json",
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        stdout, _ = await asyncio.wait_for(call.communicate(), 90)
        assert call.returncode == 0, stdout
        with urllib.request.urlopen(metrics_url, timeout=10) as response:  # the server's own /metrics
            page = response.read().decode()
        assert 'microturn_ingress_calls_total{protocol="twilio"} 1.0' in page
        assert "microturn_live_sessions 0.0" in page  # the call ended
    finally:
        server.send_signal(signal.SIGINT)
        await asyncio.wait_for(server.wait(), 30)
    assert server.returncode == 0

    summary = json.loads(stdout)
    assert summary["caller_audio_s"] == 2.0 and summary["sent_s"] == 3.0  # the recording and the 1 s tail
    assert summary["model_audio_s"] > 0 and summary["marks"] > 0 and summary["close_code"] == 1000
    with wave.open(str(reply)) as heard:
        assert (heard.getframerate(), heard.getnchannels(), heard.getsampwidth()) == (8000, 1, 2)
        samples = np.frombuffer(heard.readframes(heard.getnframes()), dtype="<i2")
    assert len(samples) >= 3 * 8000 and np.abs(samples).max() > 0
