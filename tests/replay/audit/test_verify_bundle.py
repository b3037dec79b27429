"""The stand-alone bundle verifier without a broker: its MessagePack is msgspec's, its canonical bytes
are the archiver's, it imports nothing of microturn and runs isolated from it.

The archive here is written the way the archiver writes one (the table schemas, the chain, a head
sealed with an audit key); tests/replay/audit/test_bundle_tampering.py uses a real archiver's files.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from processors.archiver.tables import TABLE_OF
from replay.audit import verify_bundle as vb
from replay.audit.bundle import SCRIPT, export_bundle
from schemas import Event, Playback, SessionEnded, encode
from schemas.audit import Chain, HeadRecord, encode_head, generate_key, seal
from tests.processors.archiver.samples import envelope, every_event

BLOCKED = ("schemas", "streams", "processors", "replay", "infra", "inference", "msgspec", "msgpack")


@pytest.mark.parametrize(
    "value",
    [
        0,
        127,
        128,
        255,
        256,
        65535,
        65536,
        2**32 - 1,
        2**32,
        2**64 - 1,
        -1,
        -32,
        -33,
        -128,
        -129,
        -32768,
        -32769,
        -(2**31),
        -(2**31) - 1,
        -(2**63),
        1.5,
        -0.0,
        float("inf"),
        None,
        True,
        False,
        "",
        "é" * 15,
        "x" * 31,
        "x" * 32,
        "x" * 255,
        "x" * 256,
        "x" * 65536,
        b"",
        b"\0" * 255,
        b"\0" * 256,
        b"\0" * 65536,
        list(range(15)),
        list(range(16)),
        list(range(65536)),
        {str(i): i for i in range(15)},
        {str(i): i for i in range(16)},
        {"a": [b"x", {"b": None}], "c": (1, 2)},
    ],
)
def test_pack_is_msgspec_and_unpack_reads_it_back(value: Any) -> None:
    packed = vb.pack(value)
    assert packed == msgspec.msgpack.encode(value)
    back = vb.unpack(packed)
    assert back == msgspec.msgpack.decode(packed) or back == list(value)


def _events(session: str) -> list[Event]:
    playback = Playback(**envelope(session, "playback", 0, 1), kind="cleared", turns=(0, 1), audio_ms=400, at_turn=2)
    events = every_event(session)
    return [*events[:-1], playback, events[-1]]  # the SessionEnded last, as in a real session


def write_archive(root: Path, session: str, key_path: Path) -> list[HeadRecord]:
    """The session's events as the archiver writes them (one file per table, chained) and its signed head."""
    chain, columns_of = Chain(), dict[str, dict[str, list[Any]]]()
    for offset, event in enumerate(_events(session)):
        spec = TABLE_OF[type(event)]
        appended = chain.append(event.event_id, encode(event), ends=isinstance(event, SessionEnded))
        cols = columns_of.setdefault(spec.name, {name: [] for name in spec.schema.names})
        for name in spec.event_fields:
            cols[name].append(getattr(event, name))
        for name, compute in spec.derived:
            cols[name].append(compute(event))
        archive = ("t", 0, offset, 0, appended.seq, appended.digest, appended.link, appended.prev_event_id)
        for name, value in zip([f.name for f in spec.schema][-8:], archive, strict=True):
            cols[name].append(value)
    for name, cols in columns_of.items():
        spec = next(s for s in TABLE_OF.values() if s.name == name)
        folder = root / name / "date=2026-12-01"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pydict(cols, schema=spec.schema), folder / "part-0.parquet")
    head = seal(session, chain, generate_key(key_path))
    return [HeadRecord(session.encode(), encode_head(head), "t.audit[0]@0")]


def test_canonical_bytes_rebuilt_from_parquet_are_the_wire_bytes(tmp_path: Path) -> None:
    write_archive(tmp_path / "archive", "s1", tmp_path / "k" / "audit.key")
    manifest = {
        "tag_field": "schema",
        "tables": {s.name: {"fields": list(s.event_type.__struct_fields__)} for s in TABLE_OF.values()},
    }
    rows = vb.read_rows(tmp_path / "archive", "s1", manifest)
    events = _events("s1")
    assert [r.event_id for r in rows] == [e.event_id for e in events]
    assert [r.digest for r in rows] == [hashlib.sha256(encode(e)).digest() for e in events]


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(bundle, archive, public key) of an intact session "s1"."""
    key = tmp_path / "k" / "audit.key"
    records = write_archive(tmp_path / "archive", "s1", key)
    from schemas.audit import load_public_key

    exported = export_bundle(tmp_path / "archive", records, "s1", load_public_key(Path(f"{key}.pub")), tmp_path / "b")
    assert exported.verdict.intact and exported.verdict.ended
    return exported.path, tmp_path / "archive", Path(f"{key}.pub")


def test_the_bundle_holds_what_the_docs_say(bundle: tuple[Path, Path, Path]) -> None:
    path, _, key = bundle
    assert sorted(p.name for p in path.iterdir()) == [
        "hashes.jsonl",
        "heads.jsonl",
        "manifest.json",
        "playback.jsonl",
        "public_key.pem",
        "verify_bundle.py",
    ]
    hashes = [json.loads(line) for line in (path / "hashes.jsonl").read_text().splitlines()]
    assert [h["audit_seq"] for h in hashes] == list(range(len(_events("s1"))))
    assert (path / "public_key.pem").read_bytes() == key.read_bytes()
    playback = [json.loads(line) for line in (path / "playback.jsonl").read_text().splitlines()]
    assert [(p["kind"], p["turns"]) for p in playback] == [("cleared", [0, 1])]
    assert json.loads((path / "manifest.json").read_text())["model_audio"]["cleared_turns"] == [0, 1]


def run_isolated(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -I script ARGS` from the script's folder, with every microturn package (and msgspec/msgpack)
    made unimportable, as on an auditor's machine where only cryptography and pyarrow are installed."""
    blocker = (
        "import sys, runpy\n"
        f"blocked = {BLOCKED!r}\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in blocked:\n"
        "            raise ImportError(f'{name} must not be imported by the stand-alone verifier')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.argv = [{str(script)!r}, *sys.argv[1:]]\n"
        f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
    )
    return subprocess.run(
        [sys.executable, "-I", "-c", blocker, *args],
        check=False,
        cwd=script.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_verifier_runs_isolated_from_microturn_and_passes_an_intact_bundle(
    bundle: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    path, archive, key = bundle
    alone = tmp_path / "alone"
    alone.mkdir()
    script = Path(shutil.copy(path / "verify_bundle.py", alone))
    done = run_isolated(script, str(path), str(archive), "--public-key", str(key), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["intact"] and doc["ended"] and doc["findings"] == []
    assert doc["playback"] == {"records": 1, "played_turns": [], "cleared_turns": [0, 1]}
    done = run_isolated(script, str(path), str(tmp_path / "nowhere"), "--public-key", str(key))
    assert done.returncode == 2 and "no archive at" in done.stderr


def test_the_signer_is_pinned_from_outside_the_bundle(bundle: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """A forger who rewrites the archive re-signs with a key of their own and ships its public half."""
    path, archive, key = bundle
    genuine = json.loads((path / "manifest.json").read_text())["key_id"]
    assert vb.verify(path, archive, None, genuine)["intact"]  # the bundle's key, pinned by the id held
    assert vb.verify(path, archive, key)["intact"]
    with pytest.raises(vb.BundleError, match="--public-key"):
        vb.verify(path, archive)  # nothing pinned: no verdict, even on an intact bundle
    forger = generate_key(tmp_path / "forger" / "audit.key")
    shutil.copy(tmp_path / "forger" / "audit.key.pub", path / "public_key.pem")
    with pytest.raises(vb.BundleError, match=f"not the id you hold \\({genuine}\\)"):
        vb.verify(path, archive, None, genuine)
    assert vb.main([str(path), str(archive), "--key-id", genuine]) == vb.EXIT_UNREADABLE
    assert forger.key_id != genuine


def test_the_verifier_imports_only_the_standard_library_cryptography_and_pyarrow() -> None:
    tree = ast.parse(SCRIPT.read_text())
    roots = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    assert roots - {"__future__", "cryptography", "pyarrow"} <= set(sys.stdlib_module_names), roots
    assert not roots & set(BLOCKED)


def test_a_changed_playback_record_or_hash_list_in_the_bundle_is_a_finding(bundle: tuple[Path, Path, Path]) -> None:
    path, archive, key = bundle
    lines = (path / "playback.jsonl").read_text().replace('"cleared"', '"played"')
    (path / "playback.jsonl").write_text(lines)
    doc = vb.verify(path, archive, key)
    assert [f["kind"] for f in doc["findings"]] == ["playback_mismatch"]
    hashes = (path / "hashes.jsonl").read_text().splitlines()
    (path / "hashes.jsonl").write_text("\n".join(hashes[1:]) + "\n")
    doc = vb.verify(path, archive, key)
    assert {f["kind"] for f in doc["findings"]} == {"playback_mismatch", "hashes_mismatch"}
    assert doc["chain"] == "matches the signed head"


def test_a_forged_head_is_a_finding_and_no_genuine_head_is_an_error(bundle: tuple[Path, Path, Path]) -> None:
    path, archive, key = bundle
    heads = [json.loads(line) for line in (path / "heads.jsonl").read_text().splitlines()]
    forged = dict(heads[0])
    raw = bytearray(base64.b64decode(forged["head"]))
    raw[-1] ^= 1  # the signature's last byte
    forged["head"] = base64.b64encode(bytes(raw)).decode()
    (path / "heads.jsonl").write_text("".join(json.dumps(h) + "\n" for h in [*heads, forged]))
    doc = vb.verify(path, archive, key)
    assert [f["kind"] for f in doc["findings"]] == ["forged_head"]
    (path / "heads.jsonl").write_text(json.dumps(forged) + "\n")
    with pytest.raises(vb.BundleError, match="no head of session 's1'"):
        vb.verify(path, archive, key)
