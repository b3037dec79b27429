"""Verifying one session's archive against its signed chain heads.

The session's records of the audit topic are walked first (`schemas.audit.walk_heads`): records
that are not heads signed by the key are **forged heads**, a genuine older head published again
is **truncation**; both are findings, and the genuine chain of heads still gives the head the
archive is checked against. That head must be *final* (tied to the session's SessionEnded):
otherwise the session has **no signed end** (still live, its producer died, or later heads were
removed), which the verdict says apart from tampering.

The signed head is the only thing trusted: its count, its last link and its anchors (one link per
ANCHOR_EVERY events). The digests, links and predecessor ids stored beside the rows are hints
that name *which* event was altered; the verdict never rests on them alone:

- rows are walked in chain order (`audit_seq`); each row's link is recomputed from its content
  and the link before it, and must equal the link stored beside it and every signed anchor;
- at the first row that does not fit, the hints tell what happened to it: **inserted** (a later
  row continues the chain instead, or it repeats an event), **reordered** (its content or link
  belongs after another row), **deleted** (its own content is intact but its sealed predecessor
  is gone) or **modified** (its content no longer hashes to what was sealed);
- fewer rows than the head counts: the tail was **deleted**; more: rows were **inserted**;
- when whoever altered rows also recomputed the stored hints, only the anchors catch it: the
  finding then names the first event of the ANCHOR_EVERY-event window that no longer hashes right.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from replay.audit.archived import ArchivedEvent, load_session
from replay.audit.errors import AuditError, HeadError
from schemas import Topics
from schemas.audit import GENESIS, ChainHead, HeadRecord, VerifyKey, link, walk_heads
from streams.errors import TopicMissing
from streams.log import read_topics

Kind = Literal["modified", "deleted", "inserted", "reordered", "forged_head", "truncated"]


@dataclass(frozen=True)
class Finding:
    """The first place the archive departs from the signed chain, or a head that must not be trusted."""

    kind: Kind
    """What happened there."""
    position: int
    """Chain position (audit_seq) where the archive departs from the chain (-1 for a head finding)."""
    event_id: str
    """The event named: the altered one, or for a deletion the deleted one when known."""
    detail: str
    """One sentence for humans."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of `microturn audit verify`."""

    session_id: str
    """The session verified."""
    events: int
    """Events the signed head covers."""
    finding: Finding | None
    """None when the archive matches the signed chain."""
    key_id: str
    """Key that signed the head."""
    ended: bool = True
    """Whether the signed head is final: its chain covers the session's SessionEnded."""
    head_findings: tuple[Finding, ...] = ()
    """Records of the audit topic that are forged heads or older heads published again."""

    @property
    def intact(self) -> bool:
        """No finding in the archive and none among the heads (a missing end is not tampering)."""
        return self.finding is None and not self.head_findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "intact": self.intact,
            "ended": self.ended,
            "events": self.events,
            "key_id": self.key_id,
            "finding": asdict(self.finding) if self.finding else None,
            "head_findings": [asdict(f) for f in self.head_findings],
        }


def _diagnose(rows: list[ArchivedEvent], p: int, prev: bytes, prev_id: str, seen: set[str]) -> Finding:
    r = rows[p]
    at = f"at chain position {p} ({r.table} {r.where})"
    if r.event_id in seen:
        return Finding("inserted", p, r.event_id, f"{r.event_id} {at} repeats an event already in the chain")
    for u, other in enumerate(rows):
        before = rows[u - 1].stored_link if u else GENESIS
        if u != p and link(before, r.digest) == other.stored_link:
            return Finding("reordered", p, r.event_id, f"{r.event_id} {at} was sealed at position {u}")
        if u not in (p, p - 1) and link(other.stored_link, r.digest) == r.stored_link:
            return Finding("reordered", p, r.event_id, f"{r.event_id} {at} was sealed after {other.event_id}")
    if any(t.follows(prev) for t in rows[p + 1 :]):
        return Finding("inserted", p, r.event_id, f"{r.event_id} {at} is not in the sealed chain")
    if r.genuine:
        missing = r.stored_prev_event_id if r.stored_prev_event_id != prev_id else ""
        named = missing or f"the event sealed after {prev_id or 'the start'}"
        return Finding("deleted", p, missing, f"{named} is missing: the chain resumes with {r.event_id} {at}")
    return Finding("modified", p, r.event_id, f"{r.event_id} {at} differs from the event that was sealed")


def first_finding(rows: list[ArchivedEvent], head: ChainHead) -> Finding | None:
    """The first departure of `rows` (in chain order) from the chain `head` seals; None if intact."""
    prev, prev_id, seen = GENESIS, "", set[str]()
    every = head.anchor_every
    for p, r in enumerate(rows):
        if p >= head.count:
            return Finding(
                "inserted",
                p,
                r.event_id,
                f"{r.event_id} ({r.table} {r.where}) is beyond the "
                f"{head.count} events the signed head covers (if the archiver is running, run "
                "`microturn archive sync` first)",
            )
        if not r.follows(prev):
            return _diagnose(rows, p, prev, prev_id, seen)
        prev, prev_id = r.stored_link, r.event_id
        seen.add(r.event_id)
        if (p + 1) % every == 0 and head.anchors[(p + 1) // every - 1] != prev:
            return _rewritten(rows, p + 1 - every, p)
    if len(rows) < head.count:
        missing = head.count - len(rows)
        last = head.last_event_id if missing == 1 else f"{missing} events ending with {head.last_event_id}"
        return Finding(
            "deleted",
            len(rows),
            head.last_event_id,
            f"{last} missing after {prev_id or 'the start'}: the head seals {head.count} events",
        )
    if prev != head.link:
        return _rewritten(rows, head.count - 1 - (head.count - 1) % every, head.count - 1)
    return None


def _rewritten(rows: list[ArchivedEvent], first: int, last: int) -> Finding:
    r = rows[first]
    return Finding(
        "modified",
        first,
        r.event_id,
        f"events at positions {first}..{last} do not hash to the signed "
        f"chain although their stored links agree: they were rewritten, links included; the first is "
        f"{r.event_id} ({r.table} {r.where})",
    )


async def read_heads(bootstrap: str, topics: Topics, session_id: str) -> list[HeadRecord]:
    """The records of `session_id` on the audit topic, in offset order."""
    try:
        records = await read_topics(bootstrap, [topics.audit], topics.partitions, session_id)
    except TopicMissing as exc:
        raise AuditError(f"reading chain heads from {topics.audit}: {exc}") from exc
    return [HeadRecord(r.key, r.value, f"{r.topic}[{r.partition}]@{r.offset}") for r in records]


def verify_heads(root: Path, records: list[HeadRecord], session_id: str, key: VerifyKey) -> Verdict:
    """Check the archive at `root` for `session_id` against its audit topic records `records`.

    HeadError when no record of the session verifies with `key`: none at all, or only heads signed by
    another key (the wrong key was given). Forged records beside no genuine head are a verdict.
    """
    heads = walk_heads(records, key).get(session_id)
    problems = [Finding(p.kind, -1, "", f"{p.where}: {p.detail}") for p in heads.problems] if heads else []
    if heads is None or (heads.head is None and (heads.other_keys or not heads.problems)):
        other = f" (heads there were signed by key {', '.join(sorted(heads.other_keys))})" if heads else ""
        raise HeadError(
            f"no signed chain head for session {session_id!r} verifies with key {key.key_id}{other}: pass the "
            "archiver's public key with --public-key; the archiver seals sessions as it archives them, is it "
            "running (`microturn archive sync`)?"
        )
    if heads.head is None:
        return Verdict(session_id, 0, None, key.key_id, ended=False, head_findings=tuple(problems))
    head = heads.head
    finding = first_finding(load_session(root, session_id), head)
    return Verdict(session_id, head.count, finding, head.key_id, ended=head.final, head_findings=tuple(problems))


async def verify_session(root: Path, bootstrap: str, topics: Topics, session_id: str, key: VerifyKey) -> Verdict:
    """Check the archive at `root` for `session_id` against its signed heads on the audit topic."""
    return verify_heads(root, await read_heads(bootstrap, topics, session_id), session_id, key)
