"""`microturn audit verify` on a real archive: intact, then tampered with in each of four ways.

Each case alters a copy of the archive's Parquet files the way someone with write access to the
archive could, and expects exit 4 naming the first event that was modified, deleted, inserted or
reordered.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from processors.archiver.tables import TABLES
from replay.analytics import connect
from tests.replay.conftest import Archived, Cli

Rows = list[dict[str, Any]]


def tampered_copy(archived: Archived, tmp_path: Path) -> Path:
    return Path(shutil.copytree(archived.archive, tmp_path / "archive", ignore=shutil.ignore_patterns("lock")))


def rewrite(archive: Path, table: str, change: Callable[[Rows], Rows]) -> int:
    """Apply `change` to the rows of every file of `table`; how many files it altered."""
    altered = 0
    for path in sorted((archive / table).rglob("*.parquet")):
        data = pq.read_table(path, partitioning=None)  # the file's own columns, not date/hour from its path
        rows = data.to_pylist()
        new = change([dict(r) for r in rows])
        if new != rows:
            pq.write_table(pa.Table.from_pylist(new, schema=data.schema), path, compression="zstd")
            altered += 1
    return altered


def rows_of(archive: Path, table: str, event_id: str) -> Rows:
    return [
        r
        for path in sorted((archive / table).rglob("*.parquet"))
        for r in pq.read_table(path, partitioning=None).to_pylist()
        if r["event_id"] == event_id
    ]


def verify(archived: Archived, archive: Path, cli: Cli, session: str = "alice") -> tuple[int, dict[str, Any]]:
    code, out, _ = cli(
        "audit",
        "verify",
        session,
        "--json",
        "--key",
        f"{archived.key}.pub",
        *archived.cli_flags()[2:],
        "--archive",
        str(archive),
    )
    return code, json.loads(out)


def archived_events(archive: Path, session_id: str) -> int:
    con = connect(archive)
    union = " UNION ALL ".join(f"SELECT session_id FROM {t}" for t in TABLES)
    row = con.execute(f"SELECT count(*) FROM ({union}) WHERE session_id = ?", [session_id]).fetchone()
    con.close()
    return int(row[0]) if row else 0


def test_an_intact_session_verifies_with_its_event_count(archived: Archived, cli: Cli) -> None:
    code, doc = verify(archived, archived.archive, cli, "bob")
    assert code == 0 and doc["intact"] and doc["finding"] is None
    # 2 session events, 15 audio chunks, turns and outputs, and whatever the pipeline dead-lettered for bob
    assert doc["events"] == archived_events(archived.archive, "bob") >= 2 + 15 * 3
    code, out, _ = cli("audit", "verify", "alice", "--key", str(archived.key), *archived.cli_flags())
    alice = archived_events(archived.archive, "alice")
    assert code == 0 and f"alice: intact, {alice} events match the signed chain" in out


def test_a_modified_event_is_named(archived: Archived, tmp_path: Path, cli: Cli) -> None:
    archive = tampered_copy(archived, tmp_path)

    def change(rows: Rows) -> Rows:
        for r in rows:
            if r["event_id"] == "alice/output/3":
                r["text"] = "something the model never said"
        return rows

    assert rewrite(archive, "model_output", change) == 1
    code, doc = verify(archived, archive, cli)
    assert code == 4 and not doc["intact"]
    assert (doc["finding"]["kind"], doc["finding"]["event_id"]) == ("modified", "alice/output/3")


def test_a_deleted_event_is_named(archived: Archived, tmp_path: Path, cli: Cli) -> None:
    archive = tampered_copy(archived, tmp_path)
    assert rewrite(archive, "audio_chunk", lambda rows: [r for r in rows if r["event_id"] != "alice/audio/4"]) == 1
    code, doc = verify(archived, archive, cli)
    assert code == 4 and (doc["finding"]["kind"], doc["finding"]["event_id"]) == ("deleted", "alice/audio/4")


def test_an_inserted_event_is_named_even_when_later_positions_are_renumbered(
    archived: Archived, tmp_path: Path, cli: Cli
) -> None:
    archive = tampered_copy(archived, tmp_path)
    original = rows_of(archive, "text_event", "alice/text/1")
    position = original[0]["audit_seq"]
    for table in TABLES:  # make room: every later event of alice moves one position down the chain
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
    forged = {**original[0], "event_id": "alice/text/9", "seq": 9, "text": "I agree to everything"}
    rewrite(
        archive, "text_event", lambda rows: [*rows, forged] if any(r["session_id"] == "alice" for r in rows) else rows
    )
    code, doc = verify(archived, archive, cli)
    assert code == 4 and (doc["finding"]["kind"], doc["finding"]["event_id"]) == ("inserted", "alice/text/9")
    assert doc["finding"]["position"] == position


def test_reordered_events_are_named(archived: Archived, tmp_path: Path, cli: Cli) -> None:
    archive = tampered_copy(archived, tmp_path)
    # the two chunks may lie in different files (epochs roll by age): read both positions first
    seqs = {e: rows_of(archive, "audio_chunk", e)[0]["audit_seq"] for e in ("alice/audio/2", "alice/audio/6")}
    swapped = {"alice/audio/2": seqs["alice/audio/6"], "alice/audio/6": seqs["alice/audio/2"]}

    def swap(rows: Rows) -> Rows:
        return [{**r, "audit_seq": swapped[r["event_id"]]} if r["event_id"] in swapped else r for r in rows]

    assert rewrite(archive, "audio_chunk", swap) >= 1
    code, doc = verify(archived, archive, cli)
    assert code == 4 and (doc["finding"]["kind"], doc["finding"]["event_id"]) == ("reordered", "alice/audio/6")
    assert doc["finding"]["position"] == seqs["alice/audio/2"]


def test_the_wrong_key_and_a_missing_head_are_errors_not_verdicts(archived: Archived, tmp_path: Path, cli: Cli) -> None:
    other = tmp_path / "other.key"
    code, out, _ = cli("audit", "keygen", "--key", str(other), "--json")
    assert code == 0 and Path(json.loads(out)["public_key"]).read_bytes().startswith(b"-----BEGIN PUBLIC KEY")
    assert other.stat().st_mode & 0o777 == 0o600
    code, _, err = cli("audit", "keygen", "--key", str(other))
    assert code == 1 and "already exists" in err
    code, _, err = cli("audit", "verify", "alice", "--key", str(other), *archived.cli_flags())
    assert code == 1 and "signed by key" in err
    code, _, err = cli("audit", "verify", "nobody", "--key", str(archived.key), *archived.cli_flags())
    assert code == 1 and "no signed chain head" in err
