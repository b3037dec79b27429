"""`microturn schemas`: every event type on the wire, as a table or as JSON Schema."""

from __future__ import annotations

import argparse
import json
import typing
from typing import Any

from infra.cli.common import emit

TOPIC_OF = {
    "session_started": "session",
    "session_ended": "session",
    "audio_chunk": "audio",
    "video_frame": "video",
    "text_event": "text",
    "playback": "playback",
    "micro_turn": "turns",
    "model_output": "output",
    "background_task": "background_tasks",
    "background_result": "background_results",
    "dead_letter": "dlq",
}
"""The topic (a `Topics` attribute) each event type travels on, by its `schema` tag."""


def event_types() -> list[type[Any]]:
    """Every event type of the wire union, in its declared order."""
    from schemas.events import ANY_EVENT

    return list(typing.get_args(ANY_EVENT))


def json_schema(prefix: str = "microturn") -> dict[str, Any]:
    """JSON Schema (2020-12) of the event union, with where each type travels and how it is encoded."""
    import msgspec

    from schemas import Topics
    from schemas.envelope import SCHEMA_VERSION
    from schemas.events import ANY_EVENT

    topics = Topics(prefix)
    doc: dict[str, Any] = msgspec.json.schema(ANY_EVENT)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "microturn events"
    doc["description"] = (
        "Kafka record values are MessagePack maps with these fields (bytes fields are msgpack bin; "
        "in JSON they are base64 strings); the `schema` field names the type. Record keys are the "
        "UTF-8 session id. Fields with defaults may be added in a minor change; readers ignore "
        "unknown fields. Anything else bumps `schema_version`."
    )
    doc["x-microturn"] = {
        "encoding": "msgpack",
        "tag_field": "schema",
        "schema_version": SCHEMA_VERSION,
        "topics": {tag: getattr(topics, attr) for tag, attr in TOPIC_OF.items()},
    }
    return doc


def _table(prefix: str) -> tuple[list[dict[str, Any]], str]:
    from schemas import Topics  # here, not at module level: it imports dataclasses (start-up time)
    from schemas.envelope import SCHEMA_VERSION  # msgspec: imported by the command, not by every start-up

    topics = Topics(prefix)
    rows = []
    for kind in event_types():
        tag = kind.__struct_config__.tag
        rows.append(
            {
                "schema": tag,
                "type": kind.__name__,
                "topic": getattr(topics, TOPIC_OF[tag]),
                "fields": list(kind.__struct_fields__),
            }
        )
    lines = [f"{r['schema']:18} {r['topic']:32} {', '.join(r['fields'])}" for r in rows]
    return rows, "\n".join(
        [f"{'schema':18} {'topic':32} fields (MessagePack map; schema_version {SCHEMA_VERSION})", *lines]
    )


def schemas_command(args: argparse.Namespace) -> int:
    prefix = args.topic_prefix or "microturn"
    if args.format == "json-schema":
        print(json.dumps(json_schema(prefix), indent=2))
        return 0
    from schemas.envelope import SCHEMA_VERSION

    rows, human = _table(prefix)
    emit(args, {"schema_version": SCHEMA_VERSION, "events": rows}, human)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    text = "the wire format: every event type, its topic and fields, or their JSON Schema"
    p = sub.add_parser("schemas", help=text, description=text)
    p.add_argument(
        "--format",
        choices=("table", "json-schema"),
        default="table",
        help="table (default; --json for a document) or json-schema (JSON Schema 2020-12 of the event union)",
    )
    p.add_argument("--topic-prefix", help="prefix of the topic names shown (default: microturn)")
    p.add_argument("--json", action="store_true", help="the table as one JSON document on stdout")
    p.set_defaults(func=schemas_command)
