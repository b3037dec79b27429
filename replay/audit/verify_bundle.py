#!/usr/bin/env python3
"""Verify a microturn audit bundle against the archive's Parquet files, without microturn or Kafka.

    python verify_bundle.py BUNDLE_DIR ARCHIVE_DIR (--public-key KEY.pub | --key-id ID) [--json]

Needs Python 3.11+, `cryptography` and `pyarrow`, nothing else: this file imports nothing of
microturn and carries its own few lines of MessagePack. `microturn audit export SESSION DIR`
writes the bundle (and a copy of this file into it); docs/audit.md describes every file and rule.

What is checked, in order:

1. **Heads** (`heads.jsonl`): each record is a chain head, the MessagePack bytes the archiver
   published. Its Ed25519 signature must verify with the public key over the head re-encoded with
   `signature` set to empty bytes; records that do not are `forged_head`. Heads chain by
   `prev_head` = sha256(previous head's bytes); an older genuine head published after a newer one
   is `truncated`. The newest genuine head in chain order is *the signed head*.
2. **Hashes** (`hashes.jsonl`): the listed digests, chained (link_i = sha256(link_{i-1} ||
   digest_i), link_-1 = sha256(b"microturn.audit.v1")), must give the signed head's count, anchors
   (the link after every `anchor_every`-th event), last link and last event id; otherwise
   `hashes_mismatch` and the list is not used as the reference.
3. **Events** (the Parquet files): every row of the session is rebuilt as its canonical bytes
   (the MessagePack map `{"schema": TABLE, field: value, ...}` with the fields in the wire order
   the manifest lists for the table, those the file has) and hashed. Rows in chain order
   (`audit_seq`, then topic, partition, offset) must chain to the signed head. Against the
   reference list each event is classified: `modified` (same id, other content), `deleted`
   (listed, not archived), `inserted` (archived, not listed, or a second copy), `reordered`
   (archived out of its sealed order).
4. **End**: the signed head is final (`end_seq` >= 0) and the event at `end_seq` is a
   `session_ended`; otherwise the session has no signed end (exit 6).
5. **Playback** (`playback.jsonl`): the session's Playback events as archived (chained, so
   covered by 3) must equal the bundle's record of what the caller heard (`playback_mismatch`).

Files: the archive's tables are the folders directly under ARCHIVE_DIR whose names do not start
with "." or "_"; a table's files are the `*.parquet` files anywhere below its folder, except those
with a file or folder name (below the table folder) starting with "." or "_" (the archiver's
temporaries and state). Which file holds an event does not matter: only `audit_seq` orders.

Exit codes: 0 intact and ended; 4 a finding (tampering, forged or replayed heads, a bundle that
does not match what was signed); 6 intact but no signed end; 2 the bundle, key or archive cannot
be read, no signer is pinned (neither --public-key nor --key-id: the bundle's own key is used only
when its id is the one given), or no head of the session verifies with the key.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import struct
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

BUNDLE_FORMAT = "microturn.audit-bundle.v1"
GENESIS = hashlib.sha256(b"microturn.audit.v1").digest()
HIDDEN = (".", "_")
EXIT_OK, EXIT_UNREADABLE, EXIT_TAMPERED, EXIT_UNENDED = 0, 2, 4, 6
UNREADABLE_SEQ = 2**63


class BundleError(Exception):
    """The bundle, the key or the archive cannot be read: no verdict is possible (exit 2)."""


# --- MessagePack: exactly the encodings microturn's codec (msgspec) writes -------------------------


def pack(value: Any) -> bytes:
    """MessagePack of `value` in the smallest form, floats as float64, as msgspec encodes them."""
    out = bytearray()
    _pack(value, out)
    return bytes(out)


def _sized(out: bytearray, n: int, fix: int | None, fix_max: int, codes: tuple[int, int, int]) -> None:
    if fix is not None and n <= fix_max:
        out.append(fix | n)
    elif codes[0] and n < 2**8:
        out += bytes((codes[0], n))
    elif n < 2**16:
        out += bytes((codes[1],)) + struct.pack(">H", n)
    else:
        out += bytes((codes[2],)) + struct.pack(">I", n)


def _pack(v: Any, out: bytearray) -> None:  # noqa: PLR0912 - one branch per MessagePack family
    if v is None:
        out.append(0xC0)
    elif v is True or v is False:
        out.append(0xC3 if v else 0xC2)
    elif isinstance(v, int):
        if 0 <= v < 128:
            out.append(v)
        elif v >= 0:
            for code, fmt, top in ((0xCC, ">B", 2**8), (0xCD, ">H", 2**16), (0xCE, ">I", 2**32), (0xCF, ">Q", 2**64)):
                if v < top:
                    out += bytes((code,)) + struct.pack(fmt, v)
                    break
            else:
                raise ValueError(f"integer {v} does not fit MessagePack")
        elif v >= -32:
            out += struct.pack(">b", v)
        else:
            for code, fmt, low in ((0xD0, ">b", -(2**7)), (0xD1, ">h", -(2**15)), (0xD2, ">i", -(2**31))):
                if v >= low:
                    out += bytes((code,)) + struct.pack(fmt, v)
                    break
            else:
                out += bytes((0xD3,)) + struct.pack(">q", v)
    elif isinstance(v, float):
        out += bytes((0xCB,)) + struct.pack(">d", v)
    elif isinstance(v, str):
        data = v.encode()
        _sized(out, len(data), 0xA0, 31, (0xD9, 0xDA, 0xDB))
        out += data
    elif isinstance(v, bytes | bytearray | memoryview):
        data = bytes(v)
        _sized(out, len(data), None, -1, (0xC4, 0xC5, 0xC6))
        out += data
    elif isinstance(v, list | tuple):
        _sized(out, len(v), 0x90, 15, (0, 0xDC, 0xDD))
        for item in v:
            _pack(item, out)
    elif isinstance(v, dict):
        _sized(out, len(v), 0x80, 15, (0, 0xDE, 0xDF))
        for key, item in v.items():
            _pack(key, out)
            _pack(item, out)
    else:
        raise ValueError(f"cannot encode a {type(v).__name__} as MessagePack")


def unpack(data: bytes) -> Any:
    """The value MessagePack `data` holds; ValueError if it is not exactly one value."""
    value, end = _unpack(data, 0)
    if end != len(data):
        raise ValueError(f"{len(data) - end} bytes after the MessagePack value")
    return value


def _take(data: bytes, at: int, n: int) -> bytes:
    if at + n > len(data):
        raise ValueError("MessagePack value cut short")
    return data[at : at + n]


def _unpack(data: bytes, at: int) -> tuple[Any, int]:
    b = _take(data, at, 1)[0]
    at += 1
    fixed = {0xC0: None, 0xC2: False, 0xC3: True}
    if b in fixed:
        return fixed[b], at
    if b < 0x80:
        return b, at
    if b >= 0xE0:
        return b - 0x100, at
    if 0xA0 <= b <= 0xBF:
        return _take(data, at, b & 0x1F).decode(), at + (b & 0x1F)
    if 0x90 <= b <= 0x9F:
        return _items(data, at, b & 0x0F)
    if 0x80 <= b <= 0x8F:
        return _pairs(data, at, b & 0x0F)
    ints = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
    if b in ints:
        size = struct.calcsize(ints[b])
        return struct.unpack(ints[b], _take(data, at, size))[0], at + size
    if b in (0xCA, 0xCB):
        fmt = ">f" if b == 0xCA else ">d"
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, _take(data, at, size))[0], at + size
    lengths = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4, 0xDC: 2, 0xDD: 4, 0xDE: 2, 0xDF: 4}
    if b not in lengths:
        raise ValueError(f"unsupported MessagePack type byte 0x{b:02x}")
    width = lengths[b]
    n = int.from_bytes(_take(data, at, width), "big")
    at += width
    if b in (0xC4, 0xC5, 0xC6):
        return _take(data, at, n), at + n
    if b in (0xD9, 0xDA, 0xDB):
        return _take(data, at, n).decode(), at + n
    return _items(data, at, n) if b in (0xDC, 0xDD) else _pairs(data, at, n)


def _items(data: bytes, at: int, n: int) -> tuple[list[Any], int]:
    items = []
    for _ in range(n):
        item, at = _unpack(data, at)
        items.append(item)
    return items, at


def _pairs(data: bytes, at: int, n: int) -> tuple[dict[Any, Any], int]:
    pairs = {}
    for _ in range(n):
        key, at = _unpack(data, at)
        pairs[key], at = _unpack(data, at)
    return pairs, at


# --- findings ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Something that departs from what was signed."""

    kind: str
    """modified, deleted, inserted, reordered, forged_head, truncated, hashes_mismatch, playback_mismatch."""
    position: int
    """Chain position (audit_seq) concerned; -1 when none."""
    event_id: str
    """The event concerned; "" when none."""
    detail: str
    """One sentence for humans."""


@dataclass(frozen=True)
class Row:
    """One archived row of the session, as rebuilt from its Parquet file."""

    table: str
    event_id: str
    audit_seq: int
    digest: bytes
    order: tuple[int, str, int, int]
    where: str
    values: dict[str, Any]


# --- heads --------------------------------------------------------------------------------------------


def key_id(public: Ed25519PublicKey) -> str:
    """First 16 hex digits of sha256 of the raw public key, as every head names its signer."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise BundleError(f"reading the public key {path}: expected an Ed25519 public key in PEM; {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError(f"the public key {path}: expected Ed25519; got {type(key).__name__}")
    return key


HEAD_FIELDS = ("session_id", "count", "link", "last_event_id", "anchors", "anchor_every", "prev_head", "end_seq")


def _head(raw: bytes, session_id: str, key: Ed25519PublicKey) -> dict[str, Any]:
    """The decoded head in `raw`; ValueError saying why it is not a genuine head of the session."""
    head = unpack(raw)
    if not isinstance(head, dict) or any(name not in head for name in (*HEAD_FIELDS, "key_id", "signature")):
        raise ValueError(f"expected a chain head (a map with {', '.join(HEAD_FIELDS)}, key_id, signature)")
    if head["session_id"] != session_id:
        raise ValueError(f"a head of session {head['session_id']!r}, not {session_id!r}")
    if head["key_id"] != key_id(key):
        raise ValueError(f"signed by key {head['key_id']}, not by the key given ({key_id(key)})")
    try:
        key.verify(bytes(head["signature"]), pack({**head, "signature": b""}))
    except (InvalidSignature, TypeError) as exc:
        raise ValueError("its Ed25519 signature does not verify: the head was altered or forged") from exc
    return head


def walk_heads(
    lines: list[dict[str, Any]], session_id: str, key: Ed25519PublicKey
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The newest genuine head in chain order and the findings among the records (module docstring, 1)."""
    current: dict[str, Any] | None = None
    current_hash = b""
    seen: set[bytes] = set()
    findings: list[Finding] = []
    for line in lines:
        where = str(line.get("where", "?"))
        if not line.get("head"):
            continue  # a tombstone
        try:
            raw = base64.b64decode(str(line["head"]), validate=True)
            head = _head(raw, session_id, key)
        except (ValueError, UnicodeDecodeError) as exc:
            findings.append(Finding("forged_head", -1, "", f"{where}: {exc}"))
            continue
        digest = hashlib.sha256(raw).digest()
        if current is None or head["prev_head"] == current_hash:
            current, current_hash = head, digest
        elif digest == current_hash:
            continue
        elif digest in seen or head["count"] <= current["count"]:
            findings.append(
                Finding(
                    "truncated",
                    -1,
                    "",
                    f"{where}: a genuine but older head sealing {head['count']} events was published after the head "
                    f"sealing {current['count']}: it would hide the events after position {head['count'] - 1}",
                )
            )
        else:
            current, current_hash = head, digest  # heads between were compacted away
        seen.add(digest)
    return current, findings


# --- the chain ------------------------------------------------------------------------------------------


def chain_problem(digests: list[bytes], last_id: str, head: dict[str, Any]) -> str | None:
    """Why `digests` (in chain order, the last one of event `last_id`) are not the chain `head` seals."""
    if len(digests) != head["count"]:
        return f"{len(digests)} events where the signed head seals {head['count']}"
    every, anchors, link = int(head["anchor_every"]), list(head["anchors"]), GENESIS
    for i, d in enumerate(digests):
        link = hashlib.sha256(link + d).digest()
        if (i + 1) % every == 0 and ((i + 1) // every > len(anchors) or anchors[(i + 1) // every - 1] != link):
            return f"the events at positions {i + 1 - every}..{i} do not hash to the signed anchor"
    if link != head["link"]:
        return f"the last events (up to position {len(digests) - 1}) do not hash to the signed last link"
    if digests and last_id != head["last_event_id"]:
        return f"the last event is {last_id!r}; the signed head names {head['last_event_id']!r}"
    return None


# --- the archive -------------------------------------------------------------------------------------------


def table_files(root: Path) -> dict[str, list[Path]]:
    """Every table's Parquet files under the archive root (module docstring, Files)."""
    tables: dict[str, list[Path]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(HIDDEN)):
        tables[folder.name] = sorted(
            path
            for path in folder.rglob("*.parquet")
            if path.is_file() and not any(part.startswith(HIDDEN) for part in path.relative_to(folder).parts)
        )
    return tables


def _value(value: Any, kind: pa.DataType) -> Any:
    """A Parquet cell as the event field it was: maps as maps (null: empty), lists and structs recursively."""
    if pa.types.is_map(kind):
        return {_value(k, kind.key_type): _value(v, kind.item_type) for k, v in (value or ())}
    if value is None:
        return None
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return [_value(item, kind.value_type) for item in value]
    if pa.types.is_struct(kind):
        return {
            kind.field(i).name: _value(value[kind.field(i).name], kind.field(i).type) for i in range(kind.num_fields)
        }
    return value


def canonical(table: str, fields: list[str], tag_field: str, row: dict[str, Any], schema: pa.Schema) -> bytes:
    """The canonical bytes of an archived row: {tag_field: table, field: value, ...} in wire order."""
    doc: dict[str, Any] = {tag_field: table}
    for name in fields:
        if name in row:
            doc[name] = _value(row[name], schema.field(name).type)
    return pack(doc)


def read_rows(root: Path, session_id: str, manifest: dict[str, Any]) -> list[Row]:
    """The session's rows in every table, in chain order."""
    tables = manifest["tables"]
    tag_field = str(manifest.get("tag_field", "schema"))
    rows: list[Row] = []
    for table, files in table_files(root).items():
        for path in files:
            try:
                fragment = next(iter(ds.dataset(str(path), format="parquet").get_fragments()))
                schema = fragment.physical_schema
                if "session_id" not in schema.names:
                    raise BundleError(f"{path}: expected an archive Parquet file with a session_id column")
                found = fragment.to_table(schema=schema, filter=pc.field("session_id") == session_id).to_pylist()
            except (pa.ArrowException, OSError, StopIteration) as exc:
                raise BundleError(f"reading {path}: expected an archive Parquet file; {exc}") from exc
            # a table the manifest does not describe rebuilds to bytes no sealed event has: inserted
            for row in found:
                rows.append(_row(table, tables.get(table, {}).get("fields", []), tag_field, row, schema, path))
    rows.sort(key=lambda r: r.order)
    return rows


def _row(table: str, fields: list[str], tag_field: str, row: dict[str, Any], schema: pa.Schema, path: Path) -> Row:
    try:
        content = canonical(table, fields, tag_field, row, schema)
    except (ValueError, TypeError, KeyError) as exc:
        content = f"unreadable {table} row: {exc}".encode()
    digest = hashlib.sha256(content).digest()
    try:
        order = (int(row["audit_seq"]), str(row["kafka_topic"]), int(row["kafka_partition"]), int(row["kafka_offset"]))
        where = f"{row['kafka_topic']}[{row['kafka_partition']}]@{row['kafka_offset']}"
    except (KeyError, TypeError, ValueError) as exc:
        order, where = (UNREADABLE_SEQ, "", 0, 0), f"an unreadable row of {path.name} ({exc})"
    return Row(table, str(row.get("event_id")), order[0], digest, order, f"{table} {where}", row)


def classify(rows: list[Row], reference: list[dict[str, Any]]) -> list[Finding]:
    """Each departure of the archived rows from the reference list of what was sealed (module docstring, 3)."""
    findings: list[Finding] = []
    ref_index = {str(e["event_id"]): i for i, e in enumerate(reference)}
    first: dict[str, Row] = {}
    for r in rows:
        if r.event_id not in ref_index:
            findings.append(Finding("inserted", r.audit_seq, r.event_id, f"{r.event_id} ({r.where}) was never sealed"))
        elif r.event_id in first:
            findings.append(Finding("inserted", r.audit_seq, r.event_id, f"{r.event_id} ({r.where}) is a second copy"))
        else:
            first[r.event_id] = r
    for i, entry in enumerate(reference):
        event = str(entry["event_id"])
        found = first.get(event)
        if found is None:
            findings.append(Finding("deleted", i, event, f"{event}, sealed at position {i}, is not in the archive"))
        elif found.digest.hex() != entry["digest"]:
            findings.append(
                Finding("modified", found.audit_seq, event, f"{event} ({found.where}) differs from what was sealed")
            )
    kept = [r for r in rows if first.get(r.event_id) is r]
    for r in _out_of_order(kept, ref_index):
        sealed = ref_index[r.event_id]
        findings.append(
            Finding("reordered", r.audit_seq, r.event_id, f"{r.event_id} ({r.where}) was sealed at position {sealed}")
        )
    return sorted(findings, key=lambda f: (f.position, f.kind, f.event_id))


def _out_of_order(rows: list[Row], ref_index: dict[str, int]) -> list[Row]:
    """The rows outside a longest run in sealed order: the fewest that must have moved."""
    positions = [ref_index[r.event_id] for r in rows]
    tails: list[int] = []  # index into rows of the smallest tail of an increasing run of each length
    parent = [-1] * len(rows)
    for i, p in enumerate(positions):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if positions[tails[mid]] < p:
                lo = mid + 1
            else:
                hi = mid
        parent[i] = tails[lo - 1] if lo else -1
        if lo == len(tails):
            tails.append(i)
        else:
            tails[lo] = i
    keep: set[int] = set()
    i = tails[-1] if tails else -1
    while i >= 0:
        keep.add(i)
        i = parent[i]
    return [r for i, r in enumerate(rows) if i not in keep]


def hint_findings(rows: list[Row], head: dict[str, Any]) -> list[Finding]:
    """Without a trusted reference list: rows whose content no longer hashes to the digest stored beside them."""
    findings = [
        Finding("modified", r.audit_seq, r.event_id, f"{r.event_id} ({r.where}) no longer hashes to its stored digest")
        for r in rows
        if bytes(r.values.get("audit_digest") or b"") != r.digest
    ]
    seqs = [r.audit_seq for r in rows]
    findings += [
        Finding("inserted", r.audit_seq, r.event_id, f"{r.event_id} ({r.where}) repeats chain position {r.audit_seq}")
        for i, r in enumerate(rows)
        if i and seqs[i - 1] == r.audit_seq
    ]
    findings += [
        Finding("deleted", p, "", f"chain position {p} is missing from the archive")
        for p in sorted(set(range(int(head["count"]))) - set(seqs))
    ]
    return sorted(findings, key=lambda f: (f.position, f.kind))


# --- playback -------------------------------------------------------------------------------------------


def playback_of(rows: list[Row]) -> list[dict[str, Any]]:
    """The session's archived Playback events, in chain order, as the bundle lists them."""
    return [
        {
            "audit_seq": r.audit_seq,
            "event_id": r.event_id,
            "kind": r.values.get("kind"),
            "turns": list(r.values.get("turns") or ()),
            "audio_ms": r.values.get("audio_ms"),
            "at_turn": r.values.get("at_turn"),
            "event_time_ms": r.values.get("event_time_ms"),
        }
        for r in rows
        if r.table == "playback"
    ]


# --- the whole verification ---------------------------------------------------------------------------------


def _jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise BundleError(f"reading {path}: expected JSON lines; {exc}") from exc


def verify(bundle: Path, archive: Path, public_key: Path | None = None, pinned_id: str | None = None) -> dict[str, Any]:
    """The verdict on `bundle` against the archive at `archive` (module docstring); BundleError if none is possible.

    The signer must be pinned from outside the bundle: `public_key`, the archiver's key obtained
    apart from it, or `pinned_id`, the key id the auditor holds, which the bundle's key must have.
    A bundle's own key alone proves nothing: whoever rewrote the archive could have signed with it.
    """
    if public_key is None and not pinned_id:
        raise BundleError(
            "pass --public-key (the archiver's public key, obtained apart from the bundle) or --key-id (the key "
            "id you hold): the bundle's own key proves nothing about who signed it"
        )
    try:
        manifest = json.loads((bundle / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"reading {bundle / 'manifest.json'}: expected the bundle's JSON manifest; {exc}") from exc
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{bundle}: expected a bundle of format {BUNDLE_FORMAT}; got {manifest.get('format')!r}")
    if not archive.is_dir():
        raise BundleError(f"no archive at {archive}: pass the folder holding the archive's tables")
    session_id = str(manifest["session_id"])
    key = load_key(public_key or bundle / "public_key.pem")
    if pinned_id and key_id(key) != pinned_id.lower():
        raise BundleError(
            f"the key {'in ' + str(public_key) if public_key else 'in the bundle'} has id {key_id(key)}, not the "
            f"id you hold ({pinned_id}): nothing can be verified against it"
        )
    head, findings = walk_heads(_jsonl(bundle / "heads.jsonl"), session_id, key)
    if head is None:
        raise BundleError(
            f"no head of session {session_id!r} in {bundle / 'heads.jsonl'} verifies with key {key_id(key)}"
        )
    listed = _jsonl(bundle / "hashes.jsonl")
    problem = chain_problem(
        [bytes.fromhex(str(e["digest"])) for e in listed], str(listed[-1]["event_id"]) if listed else "", head
    )
    if problem is not None:
        findings.append(Finding("hashes_mismatch", -1, "", f"hashes.jsonl is not the signed chain: {problem}"))
    rows = read_rows(archive, session_id, manifest)
    chain = chain_problem([r.digest for r in rows], rows[-1].event_id if rows else "", head)
    if problem is None:
        findings += classify(rows, listed)
    elif chain is not None:
        findings += hint_findings(rows, head)
    if chain is not None and not any(f.kind in ("modified", "deleted", "inserted", "reordered") for f in findings):
        findings.append(Finding("modified", -1, "", f"the archived events are not the signed chain: {chain}"))
    end = int(head["end_seq"])
    ended = end >= 0 and chain is None and rows[end].table == "session_ended"
    archived_playback = playback_of(rows)
    if archived_playback != _jsonl(bundle / "playback.jsonl"):
        findings.append(
            Finding("playback_mismatch", -1, "", "playback.jsonl differs from the Playback events in the archive")
        )
    played = sorted({t for p in archived_playback if p["kind"] == "played" for t in p["turns"]})
    cleared = sorted({t for p in archived_playback if p["kind"] == "cleared" for t in p["turns"]})
    return {
        "session_id": session_id,
        "intact": not findings,
        "ended": ended,
        "events": int(head["count"]),
        "rows": len(rows),
        "key_id": key_id(key),
        "key_from": str(public_key) if public_key else f"the bundle, pinned by its id {pinned_id}",
        "chain": "matches the signed head" if chain is None else chain,
        "findings": [asdict(f) for f in findings],
        "playback": {"records": len(archived_playback), "played_turns": played, "cleared_turns": cleared},
    }


def _text(doc: dict[str, Any]) -> str:
    sid = doc["session_id"]
    lines = [
        f"{sid}: {'intact' if doc['intact'] else 'NOT INTACT'}: {doc['rows']} archived events, "
        f"the signed head (key {doc['key_id']}, from {doc['key_from']}) seals {doc['events']}; chain {doc['chain']}"
    ]
    lines += [f"{sid}: {f['kind'].upper()} at position {f['position']}: {f['detail']}" for f in doc["findings"]]
    if not doc["ended"]:
        lines.append(f"{sid}: no signed end: the signed head does not cover the session's SessionEnded")
    heard = doc["playback"]
    if heard["records"]:
        lines.append(
            f"{sid}: playback: {heard['records']} records; turns heard {heard['played_turns']}, "
            f"cleared unheard {heard['cleared_turns']}"
        )
    else:
        lines.append(f"{sid}: playback: no records (no carrier confirmed what was heard)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="verify a microturn audit bundle against the archive's Parquet files")
    parser.add_argument("bundle", type=Path, help="the folder `microturn audit export` wrote")
    parser.add_argument("archive", type=Path, help="the archive root (the folder holding the tables' folders)")
    parser.add_argument(
        "--public-key",
        type=Path,
        help="the archiver's public key, obtained apart from the bundle",
    )
    parser.add_argument(
        "--key-id",
        help="instead of --public-key: the archiver's key id you hold (16 hex digits); the bundle's key must have it",
    )
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
    args = parser.parse_args(argv)
    try:
        doc = verify(args.bundle, args.archive, args.public_key, args.key_id)
    except (BundleError, KeyError, IndexError, TypeError, ValueError) as exc:
        message = str(exc) if isinstance(exc, BundleError) else f"malformed bundle: {type(exc).__name__}: {exc}"
        print(json.dumps({"error": message}) if args.json else f"error: {message}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(json.dumps(doc, indent=1) if args.json else _text(doc))
    if not doc["intact"]:
        return EXIT_TAMPERED
    return EXIT_OK if doc["ended"] else EXIT_UNENDED


if __name__ == "__main__":
    sys.exit(main())
