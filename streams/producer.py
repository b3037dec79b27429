"""Publishing events to Kafka: idempotent, acks=all, keyed by session id."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable
from types import TracebackType

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas import Event, Topics, encode
from schemas.codec import session_key
from schemas.errors import ConfigError
from streams import tracing
from streams.errors import OversizedEvent, PublishError
from streams.kafka_security import aiokafka_options
from streams.vault import Vault, current

RECONNECT_ENV = "MICROTURN_KAFKA_RECONNECT_S"
DEFAULT_RECONNECT_S = 60.0
"""How long a send may wait for an unreachable broker before it fails: outlasts a local broker's
restart (SIGKILL, `microturn up`, its log recovery) on a loaded machine."""


def reconnect_window_s() -> float:
    """$MICROTURN_KAFKA_RECONNECT_S (seconds, > 0), else DEFAULT_RECONNECT_S; ConfigError when malformed."""
    raw = os.environ.get(RECONNECT_ENV, "").strip()
    if not raw:
        return DEFAULT_RECONNECT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise ConfigError(f"{RECONNECT_ENV}: expected seconds in (0, 3600]; got {raw!r}")
    return value


def producer_id(role: str) -> str:
    """A producer id naming the role, the host and the process."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}"


class EventProducer:
    """Sends events to their topics; use as an async context manager.

    `send` returns once the event is queued; `flush` waits until the broker acknowledged every
    queued event. Events of one session keep their order (same key, same partition, idempotent).

    A broker outage shorter than `reconnect_s` (default: `reconnect_window_s()`) is ridden out:
    `send` and `flush` wait while the client reconnects and retries, and the idempotent producer's
    sequence numbers keep a retried batch from being written twice. Longer, and they raise
    PublishError: nothing is dropped silently.

    Payloads are encrypted by `vault` (default: the process's, `streams.vault.current()`) before
    they are encoded; a session's data key is stored before its first event is sent.
    """

    def __init__(
        self,
        bootstrap: str,
        topics: Topics,
        max_in_flight: int = 2000,
        reconnect_s: float | None = None,
        vault: Vault | None = None,
    ) -> None:
        self.topics = topics
        self._vault = vault if vault is not None else current()
        window_ms = int((reconnect_s if reconnect_s is not None else reconnect_window_s()) * 1000)
        self._limits = {spec.name: spec.max_message_bytes for spec in topics.specs()}
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            request_timeout_ms=window_ms,  # aiokafka: how long send waits for room and a batch for its ack
            retry_backoff_ms=200,
            max_request_size=max(self._limits.values()),
            **aiokafka_options(),
        )
        self._pending: list[Awaitable[object]] = []
        self._max_in_flight = max_in_flight

    async def __aenter__(self) -> EventProducer:
        try:
            await self._producer.start()
        except KafkaError as exc:
            await self._producer.stop()
            raise PublishError(f"cannot reach Kafka: {exc}; is the stack up (`microturn up`)?") from exc
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                await self.flush()
        finally:
            await self._producer.stop()

    async def send(self, topic: str, event: Event) -> None:
        """Queue `event` on `topic`; OversizedEvent if the topic would refuse it."""
        value = encode(self._vault.encrypt(event))
        limit = self._limits.get(topic)
        if limit is not None and len(value) > limit:
            raise OversizedEvent(
                f"{type(event).__name__} {event.event_id} is {len(value)} bytes; {topic} accepts at most {limit}"
            )
        try:
            if tracing.enabled():
                tag = event.__struct_config__.tag
                with tracing.span(f"produce {tag}", event.session_id, event.turn, topic=topic) as headers:
                    sent = await self._producer.send(
                        topic, value=value, key=session_key(event.session_id), headers=headers
                    )
            else:
                sent = await self._producer.send(topic, value=value, key=session_key(event.session_id))
            self._pending.append(sent)
        except KafkaError as exc:
            raise PublishError(f"sending {event.event_id} to {topic} failed: {exc}") from exc
        if len(self._pending) >= self._max_in_flight:
            await self.flush()

    async def flush(self) -> None:
        """Wait until the broker acknowledged everything sent so far."""
        pending, self._pending = self._pending, []
        try:
            await asyncio.gather(*pending)
        except KafkaError as exc:
            raise PublishError(f"the broker did not acknowledge an event: {exc}") from exc
