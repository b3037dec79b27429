"""`microturn audit export`: one session's audit bundle, verifiable without microturn (docs/audit.md).

    DIR/manifest.json      format, session, the signed head's summary, each table's wire field order
    DIR/hashes.jsonl       one line per event in chain order: audit_seq, event_id, table, digest (hex)
    DIR/heads.jsonl        the session's records of the audit topic in offset order: where, head (base64)
    DIR/public_key.pem     the public key the heads verify with (compare its id with the one you hold)
    DIR/playback.jsonl     the session's Playback events: which model speech the caller heard
    DIR/verify_bundle.py   the stand-alone verifier (stdlib, cryptography, pyarrow)

The heads are copied exactly as the archiver signed and published them; nothing is re-signed
here. The digests are recomputed from the archived rows now; the verdict of `audit verify` at
export time goes into the manifest, so a bundle exported from an altered archive says so.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from processors.archiver.tables import TABLES
from replay.audit import verify_bundle
from replay.audit.archived import load_session
from replay.audit.errors import AuditError
from replay.audit.verify import Verdict, verify_heads
from replay.errors import ReplayError
from replay.export.heard import model_audio
from replay.session.sources import from_archive
from schemas import Playback
from schemas.audit import HeadError, HeadRecord, VerifyKey, decode_head

SCRIPT = Path(verify_bundle.__file__)
"""The stand-alone verifier copied into every bundle."""


@dataclass(frozen=True)
class Bundle:
    """What `export_bundle` wrote."""

    path: Path
    """The bundle folder."""
    verdict: Verdict
    """`audit verify`'s verdict on the archive at export time."""
    playback: dict[str, Any]
    """The export's model-audio basis and the played, cleared and unconfirmed turns."""

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "verdict": self.verdict.as_dict(), "model_audio": self.playback}


def _fields(head_bytes: bytes) -> dict[str, Any]:
    """A head's fields for humans (bytes as hex); None when it is not a head."""
    try:
        head = decode_head(head_bytes)
    except HeadError:
        return {}
    return {
        "session_id": head.session_id,
        "count": head.count,
        "end_seq": head.end_seq,
        "key_id": head.key_id,
        "link": head.link.hex(),
        "prev_head": head.prev_head.hex(),
        "anchors": len(head.anchors),
        "sealed_wall_time_ns": head.sealed_wall_time_ns,
    }


def _lines(path: Path, docs: Iterable[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(d, sort_keys=False) + "\n" for d in docs))


def _playback(root: Path, session_id: str, seqs: dict[str, int]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    try:
        recording = from_archive(root, session_id, sealed=True)
    except ReplayError as exc:
        raise AuditError(f"audit export {session_id}: reading its events from {root}: {exc}") from exc
    events = sorted(recording.playbacks, key=lambda p: seqs.get(p.event_id, -1))
    return [_playback_line(p, seqs.get(p.event_id, -1)) for p in events], model_audio(recording).as_dict()


def _playback_line(p: Playback, audit_seq: int) -> dict[str, Any]:
    return {
        "audit_seq": audit_seq,
        "event_id": p.event_id,
        "kind": p.kind,
        "turns": list(p.turns),
        "audio_ms": p.audio_ms,
        "at_turn": p.at_turn,
        "event_time_ms": p.event_time_ms,
    }


def export_bundle(root: Path, records: list[HeadRecord], session_id: str, key: VerifyKey, out: Path) -> Bundle:
    """Write `session_id`'s bundle into the folder `out` (created; must be empty if it exists).

    `records`: the session's records of the audit topic in offset order; `key`: the public key they
    verify with. HeadError when none does (as `audit verify`).
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AuditError(f"audit export: {out} exists and is not an empty folder")
    verdict = verify_heads(root, records, session_id, key)
    events = load_session(root, session_id)
    seqs = {e.event_id: e.audit_seq for e in events}
    playback, heard = _playback(root, session_id, seqs)
    out.mkdir(parents=True, exist_ok=True)
    _lines(
        out / "hashes.jsonl",
        (
            {"audit_seq": e.audit_seq, "event_id": e.event_id, "table": e.table, "digest": e.digest.hex()}
            for e in events
        ),
    )
    _lines(
        out / "heads.jsonl",
        (
            {
                "where": r.where,
                "head": base64.b64encode(r.value).decode() if r.value else None,
                "fields": _fields(r.value) if r.value else {},
            }
            for r in records
        ),
    )
    (out / "public_key.pem").write_bytes(
        key.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    _lines(out / "playback.jsonl", playback)
    manifest = {
        "format": verify_bundle.BUNDLE_FORMAT,
        "session_id": session_id,
        "key_id": key.key_id,
        "events": verdict.events,
        "verdict_at_export": verdict.as_dict(),
        "model_audio": heard,
        "tag_field": "schema",
        "tables": {name: {"fields": list(spec.event_type.__struct_fields__)} for name, spec in TABLES.items()},
        "hidden_prefixes": list(verify_bundle.HIDDEN),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    shutil.copyfile(SCRIPT, out / SCRIPT.name)
    return Bundle(out, verdict, heard)
