"""Creating the microturn topics explicitly (the broker never auto-creates them)."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from infra.errors import SetupError
from schemas import Topics


async def _create(bootstrap: str, topics: Topics, replication_factor: int) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [spec for spec in (*topics.specs(), topics.checkpoint_spec()) if spec.name not in existing]
        if wanted:
            response = await admin.create_topics(
                [NewTopic(s.name, s.partitions, replication_factor, topic_configs=dict(s.config)) for s in wanted]
            )
            for name, code, message in getattr(response, "topic_errors", ()):
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise SetupError(f"creating topic {name} failed (error {code}): {message}")
            await _wait_for_leaders(admin, [s.name for s in wanted])
        return [s.name for s in wanted]
    finally:
        await admin.close()


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str], timeout_s: float = 30.0) -> None:
    """Return once every partition of `names` has a leader (producing before that is refused)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        described = await admin.describe_topics(names)
        if all(t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"]) for t in described):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise SetupError(f"topics {names} have partitions without a leader after {timeout_s:.0f}s")
        await asyncio.sleep(0.1)


def ensure_topics(bootstrap: str, topics: Topics, replication_factor: int = 1) -> list[str]:
    """Create every topic of `topics` that does not exist yet, with `topics.partitions` partitions
    and `replication_factor` replicas (both fixed from then on); the names created."""
    return asyncio.run(_create(bootstrap, topics, replication_factor))
