"""`microturn erase SESSION` and `microturn erase --expired`: crypto-shredding (`streams.keystore`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from infra.cli.common import (
    EXIT_FAILED,
    CommandError,
    add_json_flag,
    add_stack_flags,
    emit,
    session_id_arg,
    stack_from,
)

if TYPE_CHECKING:
    from streams.keystore import KeyStore


def key_store(args: argparse.Namespace) -> KeyStore:
    """The key store of the state dir (or $MICROTURN_KEY_STORE), without the master key: erasing needs none."""
    from streams.key_paths import KeyPaths
    from streams.keystore import KeyStore

    return KeyStore(KeyPaths.from_env(stack_from(args).settings.state_dir).store, None)


def erase(args: argparse.Namespace) -> int:
    """Exit 0 when the session's key is destroyed now or was before; 1 when it had no key here."""
    from streams.vault import CACHE_ENV, retention_s

    store = key_store(args)
    root = store.root
    if args.expired:
        if args.session:
            raise CommandError("erase: give either a SESSION or --expired", exit_code=2)
        erased = store.sweep(retention_s())
        emit(
            args,
            {"erased": erased, "key_store": str(root)},
            f"erased {len(erased)} sessions whose keys passed the retention: {', '.join(erased) or '-'}",
        )
        return 0
    if not args.session:
        raise CommandError("erase: give a SESSION (or --expired)", exit_code=2)
    session_id = args.session
    before = store.state(session_id)
    store.erase(session_id)
    doc = {"session_id": session_id, "key_store": str(root), "before": before, "erased": True}
    if before == "active":
        emit(
            args,
            doc,
            f"erased {session_id}: its data key is destroyed; none of its payloads (Kafka, archive, copies) can be "
            f"read from now on (processes holding the key drop it within ${CACHE_ENV}, 30 s by default)",
        )
        return 0
    if before == "erased":
        emit(args, doc, f"{session_id} was already erased")
        return 0
    emit(
        args,
        {**doc, "erased": False},
        f"{session_id} has no data key in {root}: nothing was destroyed. If it has events, they were produced "
        "unencrypted (or with another key store) and erasing the key cannot remove them; no key will be made "
        "for this session from now on",
    )
    return EXIT_FAILED


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    text = (
        "erase a session by destroying its data key (crypto-shredding): its audio, video and text stay "
        "ciphertext everywhere; the audit still verifies. Exit 0 erased (now or before), 1 no key to destroy"
    )
    p = sub.add_parser("erase", help=text, description=text)
    p.add_argument("session", nargs="?", type=session_id_arg, help="the session id")
    p.add_argument(
        "--expired",
        action="store_true",
        help="instead: erase every session whose key is older than $MICROTURN_KEY_RETENTION_DAYS (365)",
    )
    add_stack_flags(p)
    add_json_flag(p)
    p.set_defaults(func=erase)
