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
from streams import tracing
from streams.errors import OversizedEvent, PublishError
from streams.kafka_security import aiokafka_options


def producer_id(role: str) -> str:
    """A producer id naming the role, the host and the process."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}"


class EventProducer:
    """Sends events to their topics; use as an async context manager.

    `send` returns once the event is queued; `flush` waits until the broker acknowledged every
    queued event. Events of one session keep their order (same key, same partition, idempotent).
    """

    def __init__(self, bootstrap: str, topics: Topics, max_in_flight: int = 2000) -> None:
        self.topics = topics
        self._limits = {spec.name: spec.max_message_bytes for spec in topics.specs()}
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
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
        value = encode(event)
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
