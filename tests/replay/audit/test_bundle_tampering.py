"""`microturn audit export` and the stand-alone verifier on a real archive (real archiver, real Parquet).

The bundle is exported from the intact archive; then a copy of the archive's files is altered the way
someone with write access to it could, and the verifier, run on the bundle and the altered copy, must
name each modified, deleted, inserted or reordered event, and exit 4.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from processors.archiver.tables import TABLES
from replay.audit import verify_bundle as vb
from tests.replay.audit.test_tampering import Rows, rewrite, rows_of, tampered_copy
from tests.replay.audit.test_verify_bundle import run_isolated
from tests.replay.conftest import Archived, Cli


@pytest.fixture(scope="module")
def bundle(archived: Archived, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """alice's bundle, exported once through the CLI from the intact archive."""
    from infra.cli.main import main

    out = tmp_path_factory.mktemp("bundle") / "alice"
    code = main(["audit", "export", "alice", str(out), "--public-key", f"{archived.key}.pub", *archived.cli_flags()])
    assert code == 0
    return out


def findings(bundle: Path, archive: Path, archived: Archived) -> list[tuple[str, str]]:
    doc = vb.verify(bundle, archive, Path(f"{archived.key}.pub"))
    assert not doc["intact"]
    assert vb.main([str(bundle), str(archive), "--public-key", f"{archived.key}.pub"]) == vb.EXIT_TAMPERED
    return [(f["kind"], f["event_id"]) for f in doc["findings"]]


def test_audit_export_writes_the_bundle_and_says_what_it_holds(archived: Archived, cli: Cli, tmp_path: Path) -> None:
    code, out, _ = cli(
        "audit", "export", "bob", str(tmp_path / "b"), "--key", f"{archived.key}.pub", *archived.cli_flags(), "--json"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["verdict"]["intact"] and doc["model_audio"]["basis"] == "unconfirmed"
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    lines = (tmp_path / "b" / "hashes.jsonl").read_text().splitlines()
    assert len(lines) == manifest["events"] == doc["verdict"]["events"]
    assert (tmp_path / "b" / "playback.jsonl").read_text() == ""
    code, _, err = cli(
        "audit", "export", "bob", str(tmp_path / "b"), "--key", f"{archived.key}.pub", *archived.cli_flags()
    )
    assert code == 1 and "not an empty folder" in err


def test_an_intact_session_verifies_isolated_from_microturn(archived: Archived, bundle: Path, tmp_path: Path) -> None:
    script = Path(shutil.copy(bundle / "verify_bundle.py", tmp_path))
    done = run_isolated(script, str(bundle), str(archived.archive), "--public-key", f"{archived.key}.pub")
    assert done.returncode == 0, done.stderr
    assert "alice: intact" in done.stdout and "no carrier confirmed" in done.stdout


def test_a_modified_event_is_named(archived: Archived, bundle: Path, tmp_path: Path) -> None:
    archive = tampered_copy(archived, tmp_path)

    def change(rows: Rows) -> Rows:
        for r in rows:
            if r["event_id"] == "alice/output/3":
                r["text"] = "something the model never said"
                r["audit_digest"] = b"\0" * 32  # stored hints do not matter to the verifier
        return rows

    assert rewrite(archive, "model_output", change) == 1
    assert findings(bundle, archive, archived) == [("modified", "alice/output/3")]


def test_a_deleted_event_is_named(archived: Archived, bundle: Path, tmp_path: Path) -> None:
    archive = tampered_copy(archived, tmp_path)
    assert rewrite(archive, "audio_chunk", lambda rows: [r for r in rows if r["event_id"] != "alice/audio/4"]) == 1
    assert findings(bundle, archive, archived) == [("deleted", "alice/audio/4")]


def test_an_inserted_event_is_named_and_renumbering_is_not_a_reorder(
    archived: Archived, bundle: Path, tmp_path: Path
) -> None:
    archive = tampered_copy(archived, tmp_path)
    original = rows_of(archive, "text_event", "alice/text/1")[0]
    position = original["audit_seq"]
    for table in TABLES:
        rewrite(
            archive,
            table,
            lambda rows: [
                {**r, "audit_seq": r["audit_seq"] + 1}
                if r["session_id"] == "alice" and r["audit_seq"] >= position
                else r
                for r in rows
            ],
        )
    forged: dict[str, Any] = {**original, "event_id": "alice/text/9", "seq": 9, "text": "I agree to everything"}
    rewrite(
        archive, "text_event", lambda rows: [*rows, forged] if any(r["session_id"] == "alice" for r in rows) else rows
    )
    assert findings(bundle, archive, archived) == [("inserted", "alice/text/9")]


def test_reordered_events_are_named(archived: Archived, bundle: Path, tmp_path: Path) -> None:
    archive = tampered_copy(archived, tmp_path)
    seqs = {e: rows_of(archive, "audio_chunk", e)[0]["audit_seq"] for e in ("alice/audio/2", "alice/audio/6")}
    swapped = {"alice/audio/2": seqs["alice/audio/6"], "alice/audio/6": seqs["alice/audio/2"]}
    assert (
        rewrite(
            archive,
            "audio_chunk",
            lambda rows: [{**r, "audit_seq": swapped.get(r["event_id"], r["audit_seq"])} for r in rows],
        )
        >= 1
    )
    found = findings(bundle, archive, archived)
    assert found and {kind for kind, _ in found} == {"reordered"}
    assert {e for _, e in found} <= {"alice/audio/2", "alice/audio/6"}
    assert found[0] == ("reordered", "alice/audio/6")


def test_a_rewritten_bundle_cannot_cover_a_tampered_archive(archived: Archived, bundle: Path, tmp_path: Path) -> None:
    """Whoever alters the archive and recomputes the bundle's hashes still fails against the signed head."""
    archive = tampered_copy(archived, tmp_path)

    def change(rows: Rows) -> Rows:
        for r in rows:
            if r["event_id"] == "alice/output/3":
                r["text"] = "something the model never said"
        return rows

    rewrite(archive, "model_output", change)
    copy = Path(shutil.copytree(bundle, tmp_path / "bundle"))
    manifest = json.loads((copy / "manifest.json").read_text())
    rows = vb.read_rows(archive, "alice", manifest)
    (copy / "hashes.jsonl").write_text(
        "".join(
            json.dumps({"audit_seq": r.audit_seq, "event_id": r.event_id, "table": r.table, "digest": r.digest.hex()})
            + "\n"
            for r in rows
        )
    )
    kinds = {kind for kind, _ in findings(copy, archive, archived)}
    assert "hashes_mismatch" in kinds and "modified" in kinds


def test_a_bundle_exported_from_a_tampered_archive_says_so(archived: Archived, tmp_path: Path, cli: Cli) -> None:
    archive = tampered_copy(archived, tmp_path)
    assert rewrite(archive, "audio_chunk", lambda rows: [r for r in rows if r["event_id"] != "alice/audio/4"]) == 1
    flags = [*archived.cli_flags()[2:], "--archive", str(archive)]
    code, out, _ = cli(
        "audit", "export", "alice", str(tmp_path / "b"), "--key", f"{archived.key}.pub", *flags, "--json"
    )
    assert code == 4 and not json.loads(out)["verdict"]["intact"]
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["verdict_at_export"]["finding"]["kind"] == "deleted"
    kinds = {kind for kind, _ in findings(tmp_path / "b", archive, archived)}
    assert "hashes_mismatch" in kinds and "deleted" in kinds
