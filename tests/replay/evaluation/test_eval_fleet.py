"""`microturn eval --fleet` over an archive the pipeline wrote (real broker, worker, Triton, archiver)."""

from __future__ import annotations

import json

from tests.replay.conftest import Archived, Cli


def test_eval_fleet_scores_every_archived_session_and_agrees_with_eval_per_session(
    archived: Archived, cli: Cli
) -> None:
    code, out, err = cli("eval", "--fleet", "--json", *archived.cli_flags())
    assert code == 0, err
    fleet = json.loads(out)
    assert fleet["sessions"] == 2 and fleet["model"] == "recorded" and fleet["skipped"] == []
    assert fleet["labelled_sessions"] == 0  # streamed without labels: moments come from the VAD
    assert {s["session_id"] for s in fleet["per_session"]} == {"alice", "bob"}
    code, out, _ = cli("eval", "alice", "bob", "--json", *archived.cli_flags())
    both = json.loads(out)
    for key in ("pause", "backchannel", "smooth_turn_taking", "interruption", "duration_s"):
        assert both[key] == fleet[key]
    code, out, _ = cli("eval", "bob", "--model", "harness", *archived.cli_flags())
    assert code == 0 and out.startswith("model harness-vad700-") and "pause handling" in out
    code, _, err = cli("eval", "nobody", *archived.cli_flags())
    assert code == 1 and "none of 1 session(s)" in err
