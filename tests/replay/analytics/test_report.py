"""`microturn report`: a session's timeline (text, JSON, PNG) and the fleet's figures."""

from __future__ import annotations

import json
from pathlib import Path

from tests.replay.conftest import Archived, Cli


def test_session_report_finds_who_spoke_when(archived: Archived, cli: Cli, tmp_path: Path) -> None:
    png = tmp_path / "bob.png"
    code, out, _ = cli("report", "bob", "--json", "--png", str(png), *archived.cli_flags())
    doc = json.loads(out)
    assert code == 0
    # write_wav: a tone during the first 0.6 s of every second
    assert doc["caller"]["segments"] == [[0, 600], [1000, 1600], [2000, 2600]]
    assert doc["turns"] == 15 and doc["duration_ms"] == 3000 and doc["end_reason"] == "complete"
    assert sum(doc["model"]["actions"].values()) == 15
    assert [r["stopped_at_ms"] for r in doc["responses"]] == [600, 1600, 2600]
    speaking = {start // 200 for start, end in doc["model"]["segments"] for start in range(start, end, 200)}
    for r in doc["responses"]:
        assert r["talked_over"] == ((r["stopped_at_ms"] - 200) // 200 in speaking)
        if r["latency_ms"] is not None:
            assert r["response_turn"] in speaking
            assert r["latency_ms"] >= 200 * (r["response_turn"] + 1) - r["stopped_at_ms"]
    overlap_ms = sum(end - start for start, end in doc["overlaps"]["segments"])
    assert overlap_ms == doc["overlaps"]["total_ms"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and doc["png"] == str(png)

    code, out, _ = cli("report", "alice", *archived.cli_flags())
    assert code == 0 and out.startswith("session alice: 2.0 s, 10 turns, complete") and "caller  speaks 0.6 s" in out


def test_fleet_report_aggregates_every_session(archived: Archived, cli: Cli) -> None:
    code, out, _ = cli("report", "--fleet", "--json", *archived.cli_flags())
    doc = json.loads(out)
    assert code == 0 and doc["sessions"] == 2 and doc["turns"] == 25
    assert doc["response_latency_ms"]["caller_stops"] == 5  # alice: 2 tones, bob: 3
    assert doc["speech_turns"]["caller"] == 3 * 2 + 3 * 3
    assert doc["dead_letters"]["count"] == archived.dead_letters_logged() and doc["pipeline_ms"]["p50"] > 0
    assert doc["turn_taking"]["sessions"] == 2  # the headline of `eval --fleet`
    code, out, _ = cli("report", "--fleet", *archived.cli_flags())
    assert code == 0 and "talk-over ratio" in out
    assert "turn-taking       (the 2 latest sessions; `microturn eval --fleet` for all)" in out
    code, out, _ = cli("report", "--fleet", "--json", "--turn-taking-sessions", "1", *archived.cli_flags())
    assert code == 0 and json.loads(out)["turn_taking"]["sessions"] == 1  # bounded: a VAD runs per session
    code, out, _ = cli("report", "--fleet", "--json", "--turn-taking-sessions", "0", *archived.cli_flags())
    assert code == 0 and json.loads(out)["turn_taking"] is None
    code, _, err = cli("report", "nobody", *archived.cli_flags())
    assert code == 1 and "not in the archive" in err
    assert cli("report", *archived.cli_flags())[0] == 2
