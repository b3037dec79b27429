"""Which chain heads a restarting archiver may continue: only heads it can prove it sealed itself.

The checkpoint lives in the archive root, where anyone who can rewrite the archive can also
rewrite it. A head taken from it unchecked would let a planted chain state (links recomputed over
a rewritten event) be endorsed by the archiver's next genuine signature. So a checkpoint head is
used only when its signature verifies with the archiver's own key and it is the session's head on
the audit topic or the one directly after it (`prev_head`), the only two states a crash can leave.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.audit import ChainHead, HeadError, VerifyKey, check


@dataclass(frozen=True)
class Rejected:
    """A checkpoint head the archiver refused to continue."""

    session_id: str
    """Its session."""
    reason: str
    """Why, for the log."""


def trusted_heads(
    checkpoint: Iterable[ChainHead], on_topic: dict[str, ChainHead], key: VerifyKey
) -> tuple[list[ChainHead], list[Rejected]]:
    """The checkpoint's heads that may be resumed and the ones refused (see the module docstring).

    `on_topic`: each session's newest genuine head on the audit topic (`schemas.audit.walk_heads`).
    """
    trusted: list[ChainHead] = []
    rejected: list[Rejected] = []
    for head in checkpoint:
        try:
            check(head, key)
        except HeadError as exc:
            rejected.append(Rejected(head.session_id, str(exc)))
            continue
        published = on_topic.get(head.session_id)
        expected = published.hash() if published is not None else b""
        if head.hash() != expected and head.prev_head != expected:
            rejected.append(
                Rejected(
                    head.session_id,
                    f"the checkpoint's head sealing {head.count} events does not chain to the session's head on "
                    f"the audit topic ({published.count if published else 0} events): an older or planted checkpoint",
                )
            )
            continue
        trusted.append(head)
    return trusted, rejected
