"""Deciding which heads of the audit topic count, from the topic's records in offset order.

Fetching the records is the caller's business (the archiver and the verifier read the topic their
own way). Per session, the records are walked in offset order:

- a record that is not a head, names another session than its key, is signed by another key or
  carries an invalid signature is **forged**: reported, never used;
- a genuine head that chains to the current one (`prev_head`), or repeats it (the archiver
  republishes its last heads after a restart), moves the walk on;
- a genuine head seen before, or one sealing fewer events than the current one without chaining
  to it, is an older head **published again**: a rollback that would hide later events;
- a genuine head sealing more events that does not chain to the current one follows heads that
  compaction removed: it becomes the current one.

The head to verify against is the current one at the end of the walk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from schemas.audit.errors import HeadError
from schemas.audit.heads import ChainHead, check, decode_head
from schemas.audit.keys import VerifyKey

ProblemKind = Literal["forged_head", "truncated"]


@dataclass(frozen=True)
class HeadRecord:
    """One record of the audit topic, in the topic's offset order."""

    key: bytes | None
    """The record's key (the session id)."""
    value: bytes | None
    """The record's value (None or empty: a tombstone)."""
    where: str
    """topic[partition]@offset, for findings and logs."""


@dataclass(frozen=True)
class HeadProblem:
    """A record of the audit topic that must not be trusted."""

    kind: ProblemKind
    """forged_head: not a head signed by the key; truncated: an older genuine head published again."""
    where: str
    """topic[partition]@offset of the record."""
    detail: str
    """One sentence for humans."""


@dataclass
class SessionHeads:
    """The outcome of walking one session's records of the audit topic."""

    head: ChainHead | None = None
    """The newest genuine head in chain order; None when there is none."""
    problems: list[HeadProblem] = field(default_factory=list)
    """Forged records and re-published older heads, in offset order."""
    other_keys: set[str] = field(default_factory=set)
    """Key ids of well-formed heads signed by another key (a wrong key given, or forgeries)."""
    _seen: set[bytes] = field(default_factory=set)

    def take(self, record: HeadRecord, session_id: str, key: VerifyKey) -> None:
        """Walk on by one record of this session (see the module docstring)."""
        if not record.value:
            return  # a tombstone
        try:
            head = decode_head(record.value)
            if head.session_id != session_id:
                raise HeadError(f"a head of session {head.session_id!r} was published under the key {session_id!r}")
            if head.key_id != key.key_id:
                self.other_keys.add(head.key_id)
            check(head, key)
        except HeadError as exc:
            self.problems.append(HeadProblem("forged_head", record.where, str(exc)))
            return
        digest, current = head.hash(), self.head
        if current is None or head.prev_head == current.hash():
            self.head = head
        elif digest == current.hash():
            return  # the same head published again (a producer's retry): already taken
        elif digest in self._seen or head.count <= current.count:
            self.problems.append(
                HeadProblem(
                    "truncated",
                    record.where,
                    f"a genuine but older head sealing {head.count} events was published after the head "
                    f"sealing {current.count}: whoever published it hides the events after position {head.count - 1}",
                )
            )
        else:
            self.head = head  # the heads between were compacted away
        self._seen.add(digest)


def walk_heads(records: Iterable[HeadRecord], key: VerifyKey) -> dict[str, SessionHeads]:
    """Every session's heads among `records` (in offset order), by the session id in the record key."""
    sessions: dict[str, SessionHeads] = {}
    for record in records:
        session_id = (record.key or b"").decode(errors="replace")
        sessions.setdefault(session_id, SessionHeads()).take(record, session_id, key)
    return sessions
