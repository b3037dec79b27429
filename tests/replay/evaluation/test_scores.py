"""Turn-taking scores kept beside the archive: read instead of scored again, never for what-ifs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from replay.evaluation.fleet import evaluate_archive
from replay.evaluation.metrics import Tally
from replay.evaluation.scores import FOLDER, FORMAT, ScoreCache, SessionScore
from tests.replay.conftest import Archived, Cli


def _score(session_id: str = "alice") -> SessionScore:
    tally = Tally(sessions=1, duration_ms=4000, pauses=3, pause_takeovers=1, interruptions=2, yields=1)
    tally.turn_latencies_s.extend([0.41, 0.6])
    tally.yield_latencies_s.append(0.25)
    return SessionScore(session_id, "tiny-v1@abc", False, tally)


def test_a_kept_score_reads_back_equal(tmp_path: Path) -> None:
    cache = ScoreCache(tmp_path)
    assert cache.get("alice") is None
    cache.put(_score())
    kept = cache.get("alice")
    assert kept is not None and kept.tally.as_dict() == _score().tally.as_dict()
    assert (kept.session_id, kept.model_version, kept.labelled) == ("alice", "tiny-v1@abc", False)
    assert [p.name for p in tmp_path.joinpath(*FOLDER).iterdir()] == ["alice.json"]  # no temporary left


def test_a_score_of_another_format_another_session_or_damaged_is_missing(tmp_path: Path) -> None:
    cache = ScoreCache(tmp_path)
    cache.put(_score())
    path = tmp_path.joinpath(*FOLDER, "alice.json")
    doc = json.loads(path.read_text())
    for broken in ({**doc, "format": FORMAT + "-old"}, {**doc, "session_id": "bob"}, {**doc, "tally": {}}):
        path.write_text(json.dumps(broken))
        assert cache.get("alice") is None
    path.write_text('{"format": ')
    assert cache.get("alice") is None


def test_a_folder_that_cannot_be_written_costs_time_not_the_report(tmp_path: Path) -> None:
    (tmp_path / "_analytics").write_text("a file where the folder should be")
    cache = ScoreCache(tmp_path)
    cache.put(_score())
    assert cache.get("alice") is None


def test_reading_kept_scores_loads_neither_torch_nor_the_vad_nor_structlog() -> None:
    probe = (
        "import sys, replay.evaluation.fleet, replay.evaluation.scores; "
        "print(sorted(m for m in ('torch', 'structlog') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_eval_keeps_the_scores_of_ended_sessions_and_reads_them_back(
    archived: Archived, cli: Cli, tmp_path: Path
) -> None:
    root = tmp_path / "archive"
    shutil.copytree(archived.archive, root)  # the shared archive stays as other tests expect it
    shutil.rmtree(root.joinpath(*FOLDER), ignore_errors=True)
    flags = ["--archive", str(root), "--kafka", archived.bootstrap, "--topic-prefix", archived.prefix]
    code, out, err = cli("eval", "--fleet", "--json", *flags)
    assert code == 0, err
    first = json.loads(out)
    assert sorted(p.name for p in root.joinpath(*FOLDER).iterdir()) == ["alice.json", "bob.json"]

    # A kept score is what the next evaluation reads: alter one and the fleet figures follow it.
    path = root.joinpath(*FOLDER, "alice.json")
    doc = json.loads(path.read_text())
    doc["tally"]["pauses"] += 100
    path.write_text(json.dumps(doc))
    code, out, _ = cli("eval", "--fleet", "--json", *flags)
    assert code == 0 and json.loads(out)["pause"]["moments"] == first["pause"]["moments"] + 100
    report, skipped = evaluate_archive(root, ["alice", "bob"])
    assert skipped == [] and report.total.pauses == first["pause"]["moments"] + 100
    code, out, _ = cli("report", "--fleet", "--json", *flags)
    assert code == 0 and json.loads(out)["turn_taking"]["sessions"] == 2

    # A what-if is scored from the recording, never from (or into) the kept scores.
    code, out, _ = cli("eval", "alice", "--model", "harness", "--json", *flags)
    assert code == 0 and json.loads(out)["pause"]["moments"] < doc["tally"]["pauses"]
    assert json.loads(path.read_text()) == doc
