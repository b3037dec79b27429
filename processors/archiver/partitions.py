"""Which partitions the archived topics have, asked of the broker (never assumed)."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from processors.archiver.errors import ArchiveError
from streams.kafka_security import aiokafka_options


async def topic_partitions(bootstrap: str, names: list[str], step: str) -> list[TopicPartition]:
    """Every partition of `names`; ArchiveError naming `step` if a topic does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **aiokafka_options())
    await admin.start()
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    missing = sorted(d["topic"] for d in described if d["error_code"] != 0 or not d["partitions"])
    if missing:
        raise ArchiveError(f"{step}: topics {missing} do not exist; run `microturn up` to create them")
    return sorted(TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"])
