"""`microturn audit`: verify a session's archive against its signed chain heads, export a bundle
anyone can verify without microturn (docs/audit.md), and make audit keys."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from infra.cli.archive_commands import KEY_HELP, add_archive_flags, archive_dir, key_path, key_state
from infra.cli.common import CommandError, add_json_flag, add_stack_flags, emit, endpoints, session_id_arg

if TYPE_CHECKING:
    from schemas.audit import VerifyKey

EXIT_TAMPERED = 4
"""`audit verify`: the archive departs from the signed chain, or the audit topic holds forged or replayed heads."""
EXIT_UNENDED = 6
"""`audit verify`: what is archived matches the signed chain, but no signed head covers the session's end."""


def _verify_key(args: argparse.Namespace) -> VerifyKey:
    """The key `audit verify` checks heads with: --public-key, --key, else $MICROTURN_AUDIT_PUBLIC_KEY."""
    from schemas.audit import PUBLIC_KEY_ENV, AuditChainError, load_public_key, load_verify_key

    try:
        if args.public_key:
            return load_public_key(Path(args.public_key))
        if args.key:
            return load_verify_key(Path(args.key))
        if os.environ.get(PUBLIC_KEY_ENV):
            return load_public_key(Path(os.environ[PUBLIC_KEY_ENV]))
    except AuditChainError as exc:
        raise CommandError(f"audit verify: {exc}", exit_code=2) from exc
    raise CommandError(
        f"audit verify: expected the archiver's public key, given separately from the archive: pass "
        f"--public-key FILE or pin it with {PUBLIC_KEY_ENV}",
        exit_code=2,
    )


def audit_verify(args: argparse.Namespace) -> int:
    import asyncio  # here, not at module level: `--help` and `query` do not use it

    from replay.audit import verify_session
    from schemas import Topics

    key = _verify_key(args)
    kafka, _, prefix = endpoints(args)
    verdict = asyncio.run(verify_session(archive_dir(args), kafka, Topics(prefix), args.session, key))
    f = verdict.finding
    lines = [
        f"{args.session}: intact, {verdict.events} events match the signed chain (key {verdict.key_id})"
        if f is None
        else f"{args.session}: {f.kind.upper()} at chain position {f.position}: {f.detail}"
    ]
    lines += [f"{args.session}: {h.kind.upper()} on the audit topic: {h.detail}" for h in verdict.head_findings]
    doc = verdict.as_dict()
    doc["erased"] = key_state(args.session) == "erased"
    if doc["erased"]:
        lines.append(
            f"{args.session}: ERASED: its data key was destroyed; the chain is over the ciphertext, which still "
            "verifies, and whose payloads nobody can read"
        )
    if not verdict.ended:
        lines.append(
            f"{args.session}: no signed end: the newest genuine head covers {verdict.events} events and not the "
            "session's SessionEnded (the session is live, its producer died, or later events and heads were removed)"
        )
    emit(args, doc, "\n".join(lines))
    if not verdict.intact:
        return EXIT_TAMPERED
    return 0 if verdict.ended else EXIT_UNENDED


def audit_export(args: argparse.Namespace) -> int:
    import asyncio  # here, not at module level: `--help` and `query` do not use it

    from replay.audit.bundle import export_bundle
    from replay.audit.errors import AuditError
    from replay.audit.verify import read_heads
    from schemas import Topics

    key = _verify_key(args)
    kafka, _, prefix = endpoints(args)
    try:
        records = asyncio.run(read_heads(kafka, Topics(prefix), args.session))
        bundle = export_bundle(archive_dir(args), records, args.session, key, Path(args.dir))
    except AuditError as exc:
        raise CommandError(f"audit export: {exc}") from exc
    verdict = bundle.verdict
    state = "intact" if verdict.intact else "NOT INTACT (see manifest.json verdict_at_export)"
    emit(
        args,
        bundle.as_dict(),
        f"wrote {bundle.path}/: {verdict.events} event hashes, signed heads, public key {verdict.key_id}, "
        f"playback record ({bundle.playback['basis']}); archive {state}.\n"
        f"verify it anywhere: python {bundle.path}/verify_bundle.py {bundle.path} ARCHIVE_DIR --public-key KEY.pub",
    )
    if not verdict.intact:
        return EXIT_TAMPERED
    return 0 if verdict.ended else EXIT_UNENDED


def audit_keygen(args: argparse.Namespace) -> int:
    from replay.audit import generate_key
    from schemas.audit import AuditChainError

    path = key_path(args)
    try:
        key = generate_key(path)
    except AuditChainError as exc:
        raise CommandError(str(exc)) from exc
    emit(
        args,
        {"key": str(path), "public_key": f"{path}.pub", "key_id": key.key_id},
        f"wrote {path} (private, mode 0600) and {path}.pub; key id {key.key_id}",
    )
    return 0


def _public_key_args(p: argparse.ArgumentParser) -> None:
    """The key and archive flags of the audit commands that check heads."""
    p.add_argument(
        "--public-key",
        metavar="FILE",
        help="the archiver's public key (KEY.pub), kept apart from the archive (default: $MICROTURN_AUDIT_PUBLIC_KEY)",
    )
    p.add_argument("--key", help="a key file to take the public key from (prefer --public-key)")
    add_archive_flags(p)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    audit = sub.add_parser("audit", help="verify the archive against signed hash chains", description="the audit")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    text = (
        f"check a session's archive against its signed chain heads; exit 0 intact, {EXIT_TAMPERED} if an event "
        f"was modified, deleted, inserted or reordered or the audit topic holds forged or replayed heads, "
        f"{EXIT_UNENDED} if intact but no signed head covers the session's end"
    )
    p = audit_sub.add_parser("verify", help=text, description=text)
    p.add_argument("session", type=session_id_arg, help="the session id")
    _public_key_args(p)
    p.set_defaults(func=audit_verify)
    text = (
        "write a session's audit bundle to DIR: per-event hashes, the signed chain heads, the public key, the "
        "playback record and the stand-alone verifier (docs/audit.md); exit codes as verify"
    )
    p = audit_sub.add_parser("export", help=text, description=text)
    p.add_argument("session", type=session_id_arg, help="the session id")
    p.add_argument("dir", metavar="DIR", help="the bundle folder (created; must be empty)")
    _public_key_args(p)
    p.set_defaults(func=audit_export)
    text = "create an Ed25519 audit key pair (KEY and KEY.pub)"
    p = audit_sub.add_parser("keygen", help=text, description=text)
    p.add_argument("--key", help=KEY_HELP)
    add_stack_flags(p)
    add_json_flag(p)
    p.set_defaults(func=audit_keygen)
