"""A single-node Apache Kafka broker (KRaft), run from jars resolved by Maven.

The jars come from `infra/kafka/pom.xml` via `mvn dependency:copy-dependencies`, once per pom
version, into a cache folder shared by every state dir on the machine.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from infra import process
from infra.errors import SetupError
from streams.kafka_security import aiokafka_options

POM = Path(__file__).with_name("kafka") / "pom.xml"
LOG4J2 = Path(__file__).with_name("kafka") / "log4j2.properties"
MARKER = "kafka.Kafka"


def jar_dir(cache_dir: Path) -> Path:
    """The folder of resolved jars for the current pom, resolving them on first use."""
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    lib = cache_dir / f"kafka-{digest}" / "lib"
    if (lib / ".complete").exists():
        return lib
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise SetupError(
            "Kafka needs Java 17+ and Maven: run `make setup` (or apt-get install openjdk-17-jre-headless maven)"
        )
    lib.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={lib}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SetupError(f"resolving the Kafka jars with Maven failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    (lib / ".complete").touch()
    return lib


@dataclass(frozen=True)
class KafkaBroker:
    """Where one local broker keeps its config, data and log."""

    home: Path
    """The broker's folder under the state dir."""
    port: int
    """Client port on 127.0.0.1."""
    controller_port: int
    """KRaft controller port on 127.0.0.1."""
    sasl_users: tuple[tuple[str, str], ...] = ()
    """(user, password) pairs: when given, the client port speaks SASL_PLAINTEXT with the PLAIN
    mechanism and only these users get in (tests of MICROTURN_KAFKA_SECURITY_PROTOCOL); the first
    user is the broker's own."""

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home / "kafka.log"

    def start(self, cache_dir: Path, timeout_s: float = 120.0) -> int:
        """Write the config, format storage on first start, run the broker; its pid once ready."""
        lib = jar_dir(cache_dir)
        props = self._write_config()
        classpath = f"{lib}/*"
        if not (self.home / "data" / "meta.properties").exists():
            cluster_id = _cluster_id()
            fmt = subprocess.run(
                [
                    "java",
                    *self._jvm_flags(),
                    "-cp",
                    classpath,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(props),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if fmt.returncode != 0:
                raise SetupError(f"formatting Kafka storage failed:\n{fmt.stdout}{fmt.stderr}")
        pid = process.spawn(
            ["java", "-Xms256m", "-Xmx768m", *self._jvm_flags(), "-cp", classpath, MARKER, str(props)],
            self.log_path,
        )
        process.wait_until(lambda: metadata_ready(self.bootstrap), "Kafka broker", timeout_s, self.log_path, pid)
        return pid

    def _jvm_flags(self) -> list[str]:
        return [f"-Dlog4j2.configurationFile={LOG4J2}", "-Djava.awt.headless=true", "-XX:+UseG1GC"]

    def _write_config(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        data = self.home / "data"
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": "4",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "message.max.bytes": str(4 * 1024 * 1024),
        }
        if self.sasl_users:
            (admin, admin_password), users = self.sasl_users[0], self.sasl_users
            jaas = " ".join(
                [
                    "org.apache.kafka.common.security.plain.PlainLoginModule required",
                    f'username="{admin}" password="{admin_password}"',
                    *(f'user_{user}="{password}"' for user, password in users),
                ]
            )
            lines.update(
                {
                    "listeners": f"SASL_PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                    "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{self.port}",
                    "inter.broker.listener.name": "SASL_PLAINTEXT",
                    "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "sasl.enabled.mechanisms": "PLAIN",
                    "sasl.mechanism.inter.broker.protocol": "PLAIN",
                    "listener.name.sasl_plaintext.plain.sasl.jaas.config": jaas + ";",
                }
            )
        path = self.home / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
        return path


def _cluster_id() -> str:
    """A random cluster id in the form `kafka-storage format` takes: 22 url-safe base64 characters,
    not starting with "-" (the tool reads that as an option and refuses it, as Kafka's own
    `Uuid.randomUuid()` avoids)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def metadata_ready(bootstrap: str, timeout_s: float = 5.0) -> bool:
    """Whether a broker at `bootstrap` answers a metadata request."""

    host, _, port = bootstrap.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1.0).close()
    except OSError:
        return False

    from aiokafka import AIOKafkaClient  # type: ignore[attr-defined]  # only when probing

    async def probe() -> bool:
        client = AIOKafkaClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000), **aiokafka_options()
        )
        try:
            await asyncio.wait_for(client.bootstrap(), timeout_s)
            return bool(client.cluster.brokers())
        except Exception:  # noqa: BLE001 - any failure means "not ready yet"
            return False
        finally:
            await client.close()

    return asyncio.run(probe())
