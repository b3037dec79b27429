"""Creating the microturn topics explicitly (the broker never auto-creates them)."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from infra.errors import SetupError
from schemas import Topics
from schemas.topics import PARTITIONS
from streams.kafka_security import aiokafka_options


async def _create(bootstrap: str, topics: Topics, replication_factor: int) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **aiokafka_options())
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


def main() -> int:
    """`python -m infra.topics`: create the topics on $MICROTURN_KAFKA under $MICROTURN_TOPIC_PREFIX with
    $MICROTURN_PARTITIONS partitions (default 4) and $MICROTURN_REPLICATION_FACTOR replicas (default 1);
    the deployment's topic-creation job. Idempotent."""
    import os
    import sys

    from processors.logs import configure
    from schemas.errors import ConfigError, MicroturnError

    configure(os.environ.get("MICROTURN_LOG_LEVEL", "info"))
    try:
        bootstrap = os.environ.get("MICROTURN_KAFKA", "")
        replication = os.environ.get("MICROTURN_REPLICATION_FACTOR", "1")
        partitions = os.environ.get("MICROTURN_PARTITIONS", str(PARTITIONS))
        if not bootstrap or not (replication.isdigit() and int(replication) >= 1) or not partitions.isdigit():
            raise ConfigError(
                "expected MICROTURN_KAFKA (host:port), MICROTURN_REPLICATION_FACTOR >= 1 and MICROTURN_PARTITIONS "
                f">= 1; got {bootstrap or 'no MICROTURN_KAFKA'}, {replication!r} and {partitions!r}"
            )
        topics = Topics(os.environ.get("MICROTURN_TOPIC_PREFIX", "microturn"), max(1, int(partitions)))
        created = ensure_topics(bootstrap, topics, int(replication))
    except MicroturnError as exc:
        print(f"topics: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"created {len(created)} topics under {topics.prefix}.* ({', '.join(created) or 'all existed'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
