"""`audit verify` against an attacker with write access to the archive and the audit topic (issue 12).

Each case tampers with a copy of a real archive and, where heads are involved, with a copy of its
real audit topic (`audit_topic.copy_audit_topic`), so the shared archive stays intact for others.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import msgspec
import pyarrow.parquet as pq
import pytest

from processors.archiver.tables import TABLES
from schemas.audit import ChainHead, decode_head, encode_head
from tests.replay.audit.audit_topic import audit_records, copy_audit_topic, publish
from tests.replay.audit.test_tampering import archived_events, rewrite, tampered_copy
from tests.replay.conftest import Archived, Cli


def run_verify(archived: Archived, archive: Path, cli: Cli, prefix: str, session: str = "alice") -> tuple[int, Any]:
    code, out, err = cli(
        "audit",
        "verify",
        session,
        "--json",
        "--public-key",
        f"{archived.key}.pub",
        "--kafka",
        archived.bootstrap,
        "--topic-prefix",
        prefix,
        "--archive",
        str(archive),
    )
    return code, json.loads(out) if out.strip() else err


def heads_of(archived: Archived, session: str) -> list[tuple[int, bytes, ChainHead]]:
    return [(p, v, decode_head(v)) for p, v in asyncio.run(audit_records(archived.bootstrap, archived.prefix, session))]


def an_older_head(archived: Archived) -> tuple[str, int, bytes, ChainHead]:
    """A genuine head of alice or bob that an archiver later superseded."""
    for session in ("alice", "bob"):
        heads = heads_of(archived, session)
        latest = max(h.count for _, _, h in heads)
        for partition, value, head in heads:
            if head.count < latest:
                return session, partition, value, head
    raise AssertionError("the archiver sealed each session once; the fixture should archive in several epochs")


def truncate(archive: Path, session: str, keep: int) -> None:
    for table in TABLES:
        rewrite(archive, table, lambda rows: [r for r in rows if r["session_id"] != session or r["audit_seq"] < keep])


def test_the_latest_head_is_tied_to_session_ended(archived: Archived, cli: Cli) -> None:
    # a session the archiver sealed in several epochs (which one depends on how its records fell into epochs)
    session = an_older_head(archived)[0]
    head = max((h for _, _, h in heads_of(archived, session)), key=lambda h: h.count)
    assert head.final and head.prev_head, "the last head is final and chains to the one before"
    code, doc = run_verify(archived, archived.archive, cli, archived.prefix, session)
    assert code == 0 and doc["intact"] and doc["ended"] and doc["head_findings"] == []


def test_republishing_an_older_head_and_deleting_later_rows_is_truncation(
    archived: Archived, tmp_path: Path, cli: Cli
) -> None:
    session, partition, value, older = an_older_head(archived)
    prefix = asyncio.run(copy_audit_topic(archived.bootstrap, archived.prefix))
    asyncio.run(publish(archived.bootstrap, prefix, session, [value], partition))
    archive = tampered_copy(archived, tmp_path)
    truncate(archive, session, older.count)
    code, doc = run_verify(archived, archive, cli, prefix, session)
    assert code == 4 and not doc["intact"]
    assert [f["kind"] for f in doc["head_findings"]] == ["truncated"]


def test_junk_unsigned_and_forged_heads_are_tampering_and_the_genuine_chain_is_still_checked(
    archived: Archived, tmp_path: Path, cli: Cli
) -> None:
    partition, _, latest = max(heads_of(archived, "alice"), key=lambda x: x[2].count)
    unsigned = encode_head(msgspec.structs.replace(latest, signature=b""))
    forged = encode_head(msgspec.structs.replace(latest, count=latest.count + 1))
    prefix = asyncio.run(copy_audit_topic(archived.bootstrap, archived.prefix))
    asyncio.run(publish(archived.bootstrap, prefix, "alice", [b"\x00junk\xff", unsigned, forged], partition))

    code, doc = run_verify(archived, archived.archive, cli, prefix)
    assert code == 4 and not doc["intact"] and doc["finding"] is None
    assert [f["kind"] for f in doc["head_findings"]] == ["forged_head"] * 3
    assert doc["events"] == latest.count and doc["ended"]

    archive = tampered_copy(archived, tmp_path)

    def change(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "text": "transfer 10000 dollars"} if r["event_id"] == "alice/output/3" else r for r in rows]

    rewrite(archive, "model_output", change)
    code, doc = run_verify(archived, archive, cli, prefix)
    assert code == 4 and (doc["finding"]["kind"], doc["finding"]["event_id"]) == ("modified", "alice/output/3")
    assert len(doc["head_findings"]) == 3


@pytest.mark.parametrize("name", ["_planted.parquet", ".planted.parquet"])
def test_query_and_verify_read_the_same_files(archived: Archived, tmp_path: Path, cli: Cli, name: str) -> None:
    archive = tampered_copy(archived, tmp_path)
    genuine = next(p for p in sorted((archive / "text_event").rglob("*.parquet")) if not p.name.startswith(("_", ".")))
    data = pq.read_table(genuine, partitioning=None)
    rows = [{**r, "event_id": "alice/text/99", "text": "I agree to everything"} for r in data.to_pylist()[:1]]
    pq.write_table(data.from_pylist(rows, schema=data.schema), genuine.with_name(name))
    code, doc = run_verify(archived, archive, cli, archived.prefix)
    assert archived_events(archive, "alice") == doc["events"], "rows the views show are rows the verifier checks"
    assert code == 0 and doc["intact"]


def test_verify_takes_the_public_key_given_separately(
    archived: Archived, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = archived.cli_flags()
    monkeypatch.delenv("MICROTURN_AUDIT_KEY", raising=False)
    monkeypatch.delenv("MICROTURN_AUDIT_PUBLIC_KEY", raising=False)
    code, _, err = cli("audit", "verify", "alice", *flags)
    assert code == 2 and "--public-key" in err
    code, _, err = cli("audit", "verify", "alice", "--public-key", str(archived.key), *flags)
    assert code == 2 and "expected a public key" in err
    code, out, _ = cli("audit", "verify", "alice", "--public-key", f"{archived.key}.pub", *flags)
    assert code == 0 and "intact" in out
    monkeypatch.setenv("MICROTURN_AUDIT_PUBLIC_KEY", f"{archived.key}.pub")
    code, out, _ = cli("audit", "verify", "alice", *flags)
    assert code == 0 and "intact" in out
