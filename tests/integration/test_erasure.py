"""Crypto-shredding against the real broker, worker, Triton and archiver.

Two sessions go through an encrypted stack and are archived: erin and frank. `microturn erase
erin` destroys erin's data key. Then every payload of erin, on Kafka and in the Parquet archive,
no longer opens, frank's all still do, the audit of erin still verifies and says "erased", and
replay, export, report and query say clearly that erin was erased.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from infra.stack import Stack, StackSettings
from infra.testing import ArchiverProcess
from infra.triton import TritonServer
from processors.archiver.sync import wait_synced
from processors.archiver.tables import TABLES
from schemas import Event, TextEvent, Topics, decode
from schemas.encryption import PAYLOAD_FIELDS
from schemas.errors import SessionErased
from streams import vault as process_vault
from streams.keystore import KeyStore, load_master_key
from streams.log import read_topics
from streams.media import TextLine
from streams.media.testing import write_wav
from streams.publish import publish_file
from streams.tail import OutputTail, sessions_complete
from streams.vault import Vault
from tests.conftest import CACHE_DIR, unique_prefix
from tests.replay.audit.test_verify_bundle import run_isolated
from tests.replay.conftest import (
    Cli,
    cli,  # noqa: F401  # the `cli` fixture (a conftest of a sibling folder)
)

SECRET = "my mother's maiden name is Ottoline Farquharson"
"""Text erin says (nothing a redactor removes); it must never appear in the clear anywhere."""


@dataclass(frozen=True)
class Shredded:
    home: Path
    stack: Stack
    archive: Path
    audit_key: Path
    bootstrap: str
    prefix: str

    def vault(self) -> Vault:
        """A fresh process's view of the key store (no cached keys)."""
        paths = self.stack.key_paths()
        return Vault(KeyStore(paths.store, load_master_key(paths.master_key)), encrypting=False)

    def flags(self) -> list[str]:
        return ["--state-dir", str(self.home / "stack"), "--kafka", self.bootstrap, "--topic-prefix", self.prefix]


async def _stream(bootstrap: str, topics: Topics, folder: Path) -> None:
    calls = {
        "erin": (write_wav(folder / "erin.wav", 2.0, 220.0), [TextLine(300, SECRET)]),
        "frank": (write_wav(folder / "frank.wav", 2.0, 330.0), [TextLine(500, "frank says hi")]),
    }
    async with OutputTail(bootstrap, topics.output) as capture:
        await asyncio.gather(
            *(publish_file(bootstrap, topics, path, name, texts=texts) for name, (path, texts) in calls.items())
        )
        await capture.until(sessions_complete(list(calls)), timeout_s=120)
    assert all(not c.output.encrypted for c in capture.outputs["erin"])  # the tail opened them


@pytest.fixture(scope="module")
def shredded(run_dir: Path, kafka_bootstrap: str, triton_server: TritonServer) -> Iterator[Shredded]:
    prefix = unique_prefix("erasure")
    home = run_dir / "erasure" / prefix
    stack = Stack(
        StackSettings(
            state_dir=home / "stack",
            cache_dir=CACHE_DIR,
            kafka=kafka_bootstrap,
            triton=triton_server.grpc_url,
            topic_prefix=prefix,
            encryption=True,
        )
    )
    stack.up(say=lambda _: None)
    paths = stack.key_paths()
    process_vault.use(Vault(KeyStore(paths.store, load_master_key(paths.master_key)), encrypting=True))
    archive, audit_key = home / "archive", home / "audit" / "audit.key"
    archiver = ArchiverProcess(
        kafka_bootstrap, prefix, archive, audit_key, log_path=home / "archiver.log", env=stack.encryption_env()
    )
    try:
        archiver.start()
        asyncio.run(_stream(kafka_bootstrap, Topics(prefix), home))
        stack.down(say=lambda _: None)
        asyncio.run(wait_synced(kafka_bootstrap, Topics(prefix), timeout_s=60))
    finally:
        archiver.stop()
        stack.down(say=lambda _: None)
        process_vault.use(None)
    yield Shredded(home, stack, archive, audit_key, kafka_bootstrap, prefix)


@pytest.fixture(autouse=True)
def process_vault_reset() -> Iterator[None]:
    """The CLI configures this process's vault for the state dir it is given; later tests get theirs back."""
    yield
    process_vault.use(None)


def kafka_events(s: Shredded, session_id: str) -> list[tuple[bytes, Event]]:
    """(raw value, decoded event as on the wire) of every record of the session on every topic."""
    topics = Topics(s.prefix)
    records = asyncio.run(
        read_topics(s.bootstrap, list(topics.session_keyed), topics.partitions, session_id, opened=False)
    )
    return [(r.value, decode(r.value)) for r in records if r.value]


def archived_events(s: Shredded, session_id: str) -> list[Event]:
    events = []
    for name, spec in TABLES.items():
        if (s.archive / name).is_dir():
            dataset = ds.dataset(s.archive / name, schema=spec.schema, format="parquet", ignore_prefixes=[".", "_"])
            rows = dataset.to_table().to_pylist()
            events += [spec.event_from_row(r) for r in rows if r["session_id"] == session_id]
    return events


def encrypted_payloads(events: list[Event]) -> list[Event]:
    with_payload = [e for e in events if type(e) in PAYLOAD_FIELDS]
    assert with_payload and all(e.encrypted for e in with_payload)
    return with_payload


def archive_bytes(s: Shredded) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(s.archive.rglob("*.parquet")))


def test_erase_shreds_one_session_everywhere_and_the_audit_still_verifies(shredded: Shredded, cli: Cli) -> None:  # noqa: F811
    s = shredded
    before = s.vault()
    erin_kafka, frank_kafka = kafka_events(s, "erin"), kafka_events(s, "frank")
    erin_archive, frank_archive = archived_events(s, "erin"), archived_events(s, "frank")
    # Before: ciphertext on the wire and in the archive, the secret nowhere in the clear, but it opens.
    assert all(SECRET.encode() not in raw for raw, _ in erin_kafka)
    assert SECRET.encode() not in archive_bytes(s)
    texts = [before.open(e) for e in encrypted_payloads(erin_archive) if isinstance(e, TextEvent)]
    assert [t.text for t in texts] == [SECRET]
    for _, event in erin_kafka:
        before.open(event)
    paths = s.stack.key_paths()
    wrapped = (paths.store / "erin.key").read_bytes()

    code, out, _ = cli("erase", "erin", "--json", "--state-dir", str(s.home / "stack"))
    assert code == 0, out
    assert json.loads(out) == {"session_id": "erin", "key_store": str(paths.store), "before": "active", "erased": True}

    after = s.vault()
    for event in encrypted_payloads([e for _, e in erin_kafka]) + encrypted_payloads(erin_archive):
        with pytest.raises(SessionErased):
            after.open(event)
    assert all(wrapped not in p.read_bytes() for p in paths.store.parent.rglob("*") if p.is_file())
    # frank is untouched: every payload on Kafka and in the archive still opens.
    for event in encrypted_payloads([e for _, e in frank_kafka]) + encrypted_payloads(frank_archive):
        after.open(event)
    assert [after.open(e).text for e in frank_archive if isinstance(e, TextEvent)] == ["frank says hi"]

    audit = ["--key", f"{s.audit_key}.pub", "--archive", str(s.archive), *s.flags()]
    code, out, _ = cli("audit", "verify", "erin", "--json", *audit)
    doc = json.loads(out)
    assert code == 0 and doc["intact"] and doc["erased"] is True
    assert doc["events"] == len(erin_archive)
    code, out, _ = cli("audit", "verify", "erin", *audit)
    assert code == 0 and "ERASED" in out and "intact" in out
    code, out, _ = cli("audit", "verify", "frank", "--json", *audit)
    assert code == 0 and json.loads(out)["erased"] is False
    # The offline bundle of the erased session verifies too: the chain is over ciphertext.
    bundle = s.home / "bundle-erin"
    code, out, err = cli("audit", "export", "erin", str(bundle), *audit)
    assert code == 0, (out, err)
    done = run_isolated(bundle / "verify_bundle.py", str(bundle), str(s.archive), "--json")
    assert done.returncode == 2 and "--public-key" in done.stderr  # the bundle's own key proves nothing
    pinned = json.loads((bundle / "manifest.json").read_text())["key_id"]
    done = run_isolated(bundle / "verify_bundle.py", str(bundle), str(s.archive), "--key-id", pinned, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["intact"] is True


def test_replay_export_report_and_query_say_the_session_was_erased(shredded: Shredded, cli: Cli) -> None:  # noqa: F811
    s = shredded
    cli("erase", "erin", "--state-dir", str(s.home / "stack"))  # idempotent: exit 0 either way
    archive = ["--archive", str(s.archive), *s.flags()]
    for source in ("kafka", "archive"):
        code, _, err = cli("replay", "erin", "--source", source, *archive)
        assert code == 8, err
        assert err.count("\n") == 1 and "erin was erased" in err
    code, _, err = cli("eval", "erin", "frank", *archive)
    assert code == 8 and "erin were erased" in err
    exported = s.home / "exported-erin.wav"
    code, _, err = cli("export", "erin", str(exported), "--source", "archive", *archive)
    assert code == 8 and "erin was erased" in err
    assert not exported.exists()
    for source in ("kafka", "archive"):  # exact replay compares opened payloads: it holds when encrypted
        code, out, _ = cli("replay", "frank", "--source", source, *archive)
        assert code == 0, out

    code, out, _ = cli("report", "erin", *archive)
    assert code == 0 and out.startswith("session erin was ERASED")
    code, out, _ = cli("report", "erin", "--json", *archive)
    assert json.loads(out)["erased"] is True
    code, out, _ = cli("report", "frank", "--json", *archive)
    assert json.loads(out)["erased"] is False

    sql = (
        "SELECT session_id, text, payload_text('text_event', session_id, event_id, encrypted, 'text') AS said "
        "FROM text_events ORDER BY session_id"
    )
    code, out, err = cli("query", sql, "--json", *archive)
    assert code == 0
    assert json.loads(out) == [
        {"session_id": "erin", "text": "", "said": None},
        {"session_id": "frank", "text": "", "said": "frank says hi"},
    ]
    assert "erased sessions in the result" in err and "erin" in err and "frank" not in err
