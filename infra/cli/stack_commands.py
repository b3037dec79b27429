"""`microturn up`, `down` and `status`."""

from __future__ import annotations

import argparse
from typing import Any

from infra.cli.common import EXIT_DOWN, add_json_flag, add_stack_flags, emit, say_for, stack_from


def _human(status: dict[str, Any]) -> str:
    k = status["kafka"]
    lines = [
        f"kafka   {k['bootstrap'] or '-':24} {'ready' if k['ready'] else 'DOWN':6} pid {k['pid'] or '-'}",
    ]
    for t in status["tritons"]:
        lines.append(f"triton  {t['grpc'] or '-':24} {'ready' if t['ready'] else 'DOWN':6} pid {t['pid'] or '-'}")
    for w in status["workers"]:
        lines.append(f"{w['name']:7} {w.get('metrics') or '':24} {'alive' if w['alive'] else 'DEAD':6} pid {w['pid']}")
    for a in status["archivers"]:
        lines.append(f"{a['name']:8} {a['archive']:23} {'alive' if a['alive'] else 'DEAD':6} pid {a['pid']}")
    for url in status.get("metrics", []):
        lines.append(f"metrics {url}")
    lines.append(f"state   {status['state_dir']}")
    return "\n".join(lines)


def up(args: argparse.Namespace) -> int:
    status = stack_from(args).up(say_for(args))
    emit(args, status, _human(status))
    return 0


def down(args: argparse.Namespace) -> int:
    status = stack_from(args).down(say_for(args))
    emit(args, status, _human(status))
    return 0


def status(args: argparse.Namespace) -> int:
    """Exit 0 when everything `up` runs is up, EXIT_DOWN (7) when something is down (listed under "down")."""
    doc = stack_from(args).status()
    from infra.stack import down_parts

    doc["down"] = down_parts(doc)
    human = _human(doc) + (f"\nDOWN: {', '.join(doc['down'])}" if doc["down"] else "")
    emit(args, doc, human)
    return EXIT_DOWN if doc["down"] else 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for name, func, text in (
        ("up", up, "start Kafka, Triton and the workers (whatever is not running or given by URL)"),
        ("down", down, "stop exactly what `up` started from this state dir"),
        ("status", status, "show the stack: servers, readiness, pids, workers"),
    ):
        parser = sub.add_parser(name, help=text, description=text)
        add_stack_flags(parser)
        if func is up:
            parser.add_argument(
                "--workers",
                type=int,
                metavar="N",
                help="worker processes in the consumer group (default: $MICROTURN_WORKERS or 1)",
            )
            parser.add_argument(
                "--tritons",
                type=int,
                metavar="M",
                help="local Triton servers; sessions spread over them (default: $MICROTURN_TRITONS or 1)",
            )
            parser.add_argument(
                "--partitions",
                type=int,
                metavar="P",
                help="partitions of the topics it creates (default: $MICROTURN_PARTITIONS or 4); "
                "existing topics keep theirs, and a different P is refused",
            )
            parser.add_argument(
                "--replication-factor",
                type=int,
                metavar="R",
                help="replicas of the topics it creates (default: $MICROTURN_REPLICATION_FACTOR or 1)",
            )
            parser.add_argument(
                "--no-encryption",
                dest="encryption",
                action="store_false",
                default=None,
                help="workers produce payloads in the clear (default: encrypted per session with a master "
                "key kept in <state dir>/keys; also MICROTURN_ENCRYPTION=off)",
            )
        add_json_flag(parser)
        parser.set_defaults(func=func)
