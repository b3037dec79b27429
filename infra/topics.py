"""Creating the microturn topics explicitly (the broker never auto-creates them)."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from infra.errors import SetupError
from schemas import Topics


async def _create(bootstrap: str, topics: Topics) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [spec for spec in topics.specs() if spec.name not in existing]
        if wanted:
            response = await admin.create_topics(
                [NewTopic(s.name, s.partitions, 1, topic_configs=dict(s.config)) for s in wanted]
            )
            for name, code, message in getattr(response, "topic_errors", ()):
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise SetupError(f"creating topic {name} failed (error {code}): {message}")
        return [s.name for s in wanted]
    finally:
        await admin.close()


def ensure_topics(bootstrap: str, topics: Topics) -> list[str]:
    """Create every topic of `topics` that does not exist yet; the names created."""
    return asyncio.run(_create(bootstrap, topics))
