"""Optional OpenTelemetry tracing: one trace per micro-turn, across processes.

Off by default, and then nothing of OpenTelemetry is imported and every call here is a no-op.
$MICROTURN_TRACING turns it on (`pip install microturn[tracing]`):

- `otlp`: OTLP over HTTP to $OTEL_EXPORTER_OTLP_ENDPOINT (the exporter's standard settings);
- `console`: spans as JSON on stderr;
- `file:PATH`: spans as JSON lines appended to PATH (tests, offline inspection).

A micro-turn's trace id is derived from (session id, turn), so every process that touches turn k
of a session (the ingress producing its audio, the assembler closing it, the interaction and its
Triton call, the emit of its output) adds spans to the same trace; the W3C `traceparent` of the
producing span travels in the Kafka record's headers, so each consumer's span is the child of the
producer's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from schemas.errors import ConfigError

ENV = "MICROTURN_TRACING"
HEADER = "traceparent"
Headers = Sequence[tuple[str, bytes]]

_state: dict[str, Any] = {}
"""`tracer` once `setup` ran with tracing on."""


def setup(service: str, environ: dict[str, str] | None = None) -> bool:
    """Install the tracer provider of this process (`service`: "worker", "ingress", ...) when
    $MICROTURN_TRACING asks for it; whether tracing is on. Call once at start-up."""
    env = os.environ if environ is None else environ
    mode = env.get(ENV, "").strip()
    if mode in ("", "off"):
        return False
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError as exc:
        raise ConfigError(f"tracing: {ENV}={mode} needs opentelemetry-sdk (pip install 'microturn[tracing]')") from exc
    exporter: SpanExporter
    if mode == "console":
        exporter = ConsoleSpanExporter()
    elif mode.startswith("file:") and len(mode) > 5:
        exporter = ConsoleSpanExporter(out=open(mode[5:], "a"), formatter=lambda span: span.to_json(indent=None) + "\n")  # noqa: SIM115
    elif mode == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise ConfigError(
                f"tracing: {ENV}=otlp needs opentelemetry-exporter-otlp-proto-http (pip install 'microturn[tracing]')"
            ) from exc
        exporter = OTLPSpanExporter()
    else:
        raise ConfigError(f"tracing: {ENV} must be off, console, otlp or file:PATH; got {mode!r}")
    provider = TracerProvider(resource=Resource.create({"service.name": f"microturn-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    _state["provider"] = provider
    _state["tracer"] = provider.get_tracer("microturn")
    return True


def enabled() -> bool:
    return "tracer" in _state


def shutdown() -> None:
    """Flush and stop the exporter (process exit)."""
    provider = _state.pop("provider", None)
    _state.pop("tracer", None)
    if provider is not None:
        provider.shutdown()


def turn_ids(session_id: str, turn: int) -> tuple[int, int]:
    """(trace id, root span id) of turn `turn` of `session_id`: the same in every process."""
    digest = hashlib.sha256(f"{session_id}\x00{turn}".encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1, int.from_bytes(digest[16:24], "big") or 1


def _parent(session_id: str, turn: int, headers: Headers | Mapping[str, bytes] | None) -> Any:
    """The current span when it is of this turn's trace, else the `traceparent` header when it is,
    else the turn's deterministic root."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    trace_id, span_id = turn_ids(session_id, turn)
    current = trace.get_current_span().get_span_context()
    if current.is_valid and current.trace_id == trace_id:
        return None  # the current context: nest under it
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for name, value in pairs:
        if name == HEADER:
            parts = value.decode(errors="replace").split("-")
            if len(parts) == 4 and int(parts[1], 16) == trace_id:  # only a parent of this very turn
                span_id = int(parts[2], 16)
            break
    context = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(context))


def span(
    name: str,
    session_id: str,
    turn: int | None,
    headers: Headers | Mapping[str, bytes] | None = None,
    **attributes: Any,
) -> contextlib.AbstractContextManager[list[tuple[str, bytes]]]:
    """A span of turn `turn`'s trace (child of the `traceparent` in `headers` when it is this turn's).

    Yields the headers to put on records produced inside it (its own `traceparent`; [] when
    tracing is off or the event has no turn). When off it costs a dict lookup: a shared no-op.
    """
    tracer = _state.get("tracer")
    if tracer is None or turn is None:
        return _OFF
    return _span(tracer, name, session_id, turn, headers, attributes)


_OFF: contextlib.nullcontext[list[tuple[str, bytes]]] = contextlib.nullcontext([])


@contextlib.contextmanager
def _span(
    tracer: Any, name: str, session_id: str, turn: int, headers: Headers | Mapping[str, bytes] | None, attributes: Any
) -> Iterator[list[tuple[str, bytes]]]:
    with tracer.start_as_current_span(
        name,
        context=_parent(session_id, turn, headers),
        attributes={"microturn.session_id": session_id, "microturn.turn": turn, **attributes},
    ) as current:
        context = current.get_span_context()
        yield [(HEADER, f"00-{context.trace_id:032x}-{context.span_id:016x}-01".encode())]
