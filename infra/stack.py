"""The local stack: `up`, `down` and `status` over one state dir.

`up` starts what is not given by URL and is idempotent: a server already running from this state
dir is kept, a dead worker is restarted. `down` stops exactly the processes `up` recorded in
`state.json`, by pid, after checking each pid still runs the program it was started as.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.pool import write_servers
from infra import kafka, process, triton
from processors.logs import FILE_ENV as LOG_FILE_ENV
from processors.settings import default_state_dir
from schemas import Topics
from schemas.errors import ConfigError
from schemas.topics import PARTITIONS
from streams.key_paths import KeyPaths
from streams.keystore import KeyStore, generate_master_key
from streams.log import partition_count
from streams.metrics import PORT_ENV as METRICS_PORT_ENV
from streams.vault import retention_s

WORKER_MARKER = "processors"
MAX_PARTITIONS = 256
"""More partitions than workers could ever use only slow recovery and the broker down."""
MAX_WORKERS = 64
"""More workers than partitions sit idle; 64 bounds what a typo can start."""
MAX_TRITONS = 8
"""Local Triton servers `up` may start (each holds the model and a python stub)."""


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name) or str(default)
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"stack settings: {name} must be an integer; got {value!r}") from exc


ARCHIVER_MARKER = "processors.archiver"
KAFKA_PORT_WAIT_S = 20.0
"""How long `up` waits for a dead local broker's port before it starts the broker on another one."""


@dataclass(frozen=True)
class StackSettings:
    """Where the stack lives and what it may reuse, checked once."""

    state_dir: Path
    """Logs, data and state.json of every process `up` starts."""
    cache_dir: Path
    """Machine-wide cache (resolved Kafka jars)."""
    kafka: str | None = None
    """External Kafka bootstrap; None starts a local broker."""
    triton: str | None = None
    """External Triton gRPC addresses, host:port[,host:port]; None starts local servers."""
    topic_prefix: str = "microturn"
    """Prefix of every topic name."""
    workers: int = 1
    """Worker processes to run, in one consumer group (1..64; $MICROTURN_WORKERS, `up --workers`)."""
    tritons: int = 1
    """Local Triton servers to run when none is given (1..8; $MICROTURN_TRITONS, `up --tritons`)."""
    archivers: int = 0
    """Archiver processes to run (0 or 1: one per archive root); `microturn up` runs one."""
    partitions: int | None = None
    """Partition count of the topics `up` creates ($MICROTURN_PARTITIONS, `up --partitions`; None:
    4); existing topics keep theirs, and `up` refuses when they differ from it."""
    replication_factor: int = 1
    """Replicas of each topic `up` creates ($MICROTURN_REPLICATION_FACTOR, `up --replication-factor`)."""
    encryption: bool = False
    """Whether the stack's processes encrypt payloads with per-session data keys (`streams.vault`);
    `microturn up` does unless MICROTURN_ENCRYPTION=off or `up --no-encryption`. Off here, for
    stacks built in code (tests), unless asked for."""

    def __post_init__(self) -> None:
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ConfigError(f"stack settings: workers must be 1..{MAX_WORKERS}; got {self.workers}")
        if not 1 <= self.tritons <= MAX_TRITONS:
            raise ConfigError(f"stack settings: tritons must be 1..{MAX_TRITONS}; got {self.tritons}")
        if self.partitions is not None and not 1 <= self.partitions <= MAX_PARTITIONS:
            raise ConfigError(f"stack settings: partitions must be 1..{MAX_PARTITIONS}; got {self.partitions}")
        if not 1 <= self.replication_factor <= 16:
            raise ConfigError(f"stack settings: replication factor must be 1..16; got {self.replication_factor}")
        if self.archivers not in (0, 1):
            raise ConfigError(f"stack settings: archivers must be 0 or 1; got {self.archivers}")

    @classmethod
    def from_env(cls, **overrides: Any) -> StackSettings:
        values: dict[str, Any] = {
            "state_dir": default_state_dir().resolve(),
            "cache_dir": Path(os.environ.get("MICROTURN_CACHE_DIR", Path.home() / ".cache" / "microturn")),
            "kafka": os.environ.get("MICROTURN_KAFKA") or None,
            "triton": os.environ.get("MICROTURN_TRITON") or None,
            "topic_prefix": os.environ.get("MICROTURN_TOPIC_PREFIX", "microturn"),
            "workers": _int_env("MICROTURN_WORKERS", 1),
            "tritons": _int_env("MICROTURN_TRITONS", 1),
            "archivers": _int_env("MICROTURN_ARCHIVERS", 1),
            "partitions": _int_env("MICROTURN_PARTITIONS", 0) or None,
            "replication_factor": _int_env("MICROTURN_REPLICATION_FACTOR", 1),
            "encryption": os.environ.get("MICROTURN_ENCRYPTION", "").strip().lower() != "off",
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class Stack:
    """The processes of one state dir."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.state_path = settings.state_dir / "state.json"

    def _load(self) -> dict[str, Any]:
        try:
            loaded: dict[str, Any] = json.loads(self.state_path.read_text())
            return loaded
        except (OSError, ValueError):
            return {}

    def _save(self, state: dict[str, Any]) -> None:
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_path)

    def up(self, say: Any = print) -> dict[str, Any]:
        """Start what is missing; the status afterwards."""
        s = self.settings
        state = self._load()
        state["topic_prefix"] = s.topic_prefix
        state["kafka"] = self._up_kafka(state.get("kafka", {}), say)
        self._save(state)
        from infra.topics import ensure_topics  # aiokafka's admin client, only when needed

        bootstrap = state["kafka"]["bootstrap"]
        topics = Topics(s.topic_prefix, s.partitions or PARTITIONS)
        created = ensure_topics(bootstrap, topics, s.replication_factor)
        if created:
            say(f"created {len(created)} topics under {s.topic_prefix}.* ({topics.partitions} partitions)")
        count = asyncio.run(partition_count(bootstrap, topics))  # ConfigError when they disagree
        if s.partitions is not None and count != s.partitions:
            raise ConfigError(
                f"stack settings: expected {s.partitions} partitions (--partitions); the topics under "
                f"{s.topic_prefix!r} exist with {count}, and a keyed topic's count cannot change without "
                "moving its sessions: use another --topic-prefix, or leave --partitions out"
            )
        known = state.get("tritons") or ([state["triton"]] if state.get("triton") else [])
        state["tritons"] = self._up_tritons(known, say)
        state["triton"] = state["tritons"][0]
        write_servers(self.discovery_path, [t["grpc"] for t in state["tritons"]])
        self._save(state)
        state["encryption"] = self._up_keys(say)
        self._save(state)
        state["workers"] = self._up_workers(state, say)
        self._save(state)
        state["archivers"] = self._up_archivers(state, say)
        self._save(state)
        return self.status()

    def _up_kafka(self, known: dict[str, Any], say: Any) -> dict[str, Any]:
        if self.settings.kafka:
            return {"bootstrap": self.settings.kafka, "pid": None, "external": True}
        if process.is_alive(known.get("pid"), kafka.MARKER):
            return known
        _wait_gone(known.get("pid"), kafka.MARKER)  # a SIGKILLed broker still holds its port while it dies
        # Its clients (workers, archiver, ingress) keep the address: wait for the old port a while.
        broker = kafka.KafkaBroker(
            self.settings.state_dir / "kafka",
            _reuse_port(known.get("port"), KAFKA_PORT_WAIT_S, as_server=True),
            _reuse_port(known.get("controller_port"), KAFKA_PORT_WAIT_S, as_server=True),
        )
        say(f"starting Kafka on {broker.bootstrap} (log: {broker.log_path})")
        pid = broker.start(self.settings.cache_dir)
        return {
            "bootstrap": broker.bootstrap,
            "pid": pid,
            "port": broker.port,
            "controller_port": broker.controller_port,
            "log": str(broker.log_path),
        }

    @property
    def discovery_path(self) -> Path:
        """The file listing the Triton servers' gRPC addresses; workers read it again when one fails."""
        return self.settings.state_dir / "tritons"

    def _up_tritons(self, known: list[dict[str, Any]], say: Any) -> list[dict[str, Any]]:
        """The Triton servers: the external ones given, else `tritons` local ones (dead ones restarted
        on their old ports where free, extra ones stopped)."""
        if self.settings.triton:
            return [
                {"grpc": address.strip(), "http": None, "pid": None, "external": True}
                for address in self.settings.triton.split(",")
            ]
        wanted = self.settings.tritons
        for extra in known[wanted:]:
            if process.stop(extra.get("pid"), triton.MARKER):
                say(f"stopped Triton {extra['grpc']} (pid {extra['pid']}): {wanted} servers wanted")
        known = known + [{}] * (wanted - len(known))
        return [self._up_triton(index, entry, say) for index, entry in enumerate(known[:wanted])]

    def _up_triton(self, index: int, known: dict[str, Any], say: Any) -> dict[str, Any]:
        if process.is_alive(known.get("pid"), triton.MARKER):
            return known
        home = self.settings.state_dir / ("triton" if index == 0 else f"triton-{index}")
        server = triton.TritonServer(
            home,
            _reuse_port(known.get("http_port")),
            _reuse_port(known.get("grpc_port")),
            _reuse_port(known.get("metrics_port")),
        )
        say(f"starting Triton on {server.grpc_url} (log: {server.log_path})")
        pid = server.start()
        return {
            "grpc": server.grpc_url,
            "http": server.http_url,
            "pid": pid,
            "http_port": server.http_port,
            "grpc_port": server.grpc_port,
            "metrics_port": server.metrics_port,
            "metrics": server.metrics_url,
            "log": str(server.log_path),
        }

    def key_paths(self) -> KeyPaths:
        """The master key and key store of this state dir (`streams.vault.KeyPaths`), apart from the archive."""
        return KeyPaths.from_env(self.settings.state_dir)

    def _up_keys(self, say: Any) -> dict[str, Any]:
        """Payload encryption: the master key made when missing (encryption on), the key store's
        retention sweep run once; what `encryption_env` passes to every process."""
        paths = self.key_paths()
        if self.settings.encryption and not paths.master_key.exists():
            generate_master_key(paths.master_key)
            say(f"payloads are encrypted per session; master key {paths.master_key} (keep it out of the archive)")
        if paths.master_key.exists():
            expired = KeyStore(paths.store, None).sweep(retention_s())
            if expired:
                say(f"erased {len(expired)} sessions whose keys passed the key store's retention")
        return {"on": self.settings.encryption, "master_key": str(paths.master_key), "key_store": str(paths.store)}

    def encryption_env(self) -> dict[str, str]:
        """The environment that gives a process this stack's payload encryption (`streams.vault`)."""
        paths = self.key_paths()
        env = {
            "MICROTURN_ENCRYPTION": "on" if self.settings.encryption else "off",
            "MICROTURN_KEY_STORE": str(paths.store.resolve()),
        }
        if paths.master_key.exists():
            env["MICROTURN_MASTER_KEY"] = str(paths.master_key.resolve())
        return env

    def _up_workers(self, state: dict[str, Any], say: Any) -> list[dict[str, Any]]:
        """`workers` worker processes in one consumer group: dead ones restarted, extra ones stopped."""
        workers = []
        known = {w["name"]: w for w in state.get("workers", [])}
        for name, extra in known.items():
            if int(name.rsplit("-", 1)[-1]) >= self.settings.workers and process.stop(extra.get("pid"), WORKER_MARKER):
                say(f"stopped {name} (pid {extra['pid']}): {self.settings.workers} workers wanted")
        for index in range(self.settings.workers):
            name = f"worker-{index}"
            worker = known.get(name, {})
            if process.is_alive(worker.get("pid"), WORKER_MARKER):
                workers.append(worker)
                continue
            log_path = self.settings.state_dir / "workers" / f"{name}.log"
            home = self.settings.state_dir / "workers" / name
            home.mkdir(parents=True, exist_ok=True)
            ready = home / "ready"
            ready.unlink(missing_ok=True)
            metrics_port = _reuse_port(worker.get("metrics_port"))
            env = {
                **os.environ,
                "MICROTURN_KAFKA": state["kafka"]["bootstrap"],
                "MICROTURN_TRITON": ",".join(t["grpc"] for t in state["tritons"]),
                "MICROTURN_TRITON_DISCOVERY": str(self.discovery_path),
                "MICROTURN_TOPIC_PREFIX": self.settings.topic_prefix,
                "MICROTURN_STATE_DIR": str(home),
                METRICS_PORT_ENV: str(metrics_port),
                **self.encryption_env(),
            }
            out_path = log_path.with_suffix(".out")  # what escapes logging (a crash before it is set up)
            env[LOG_FILE_ENV] = str(log_path)
            pid = process.spawn([sys.executable, "-m", WORKER_MARKER], out_path, env=env)
            process.wait_until(ready.exists, name, 120.0, out_path, pid, log_path)
            say(f"started {name} (pid {pid}, log: {log_path})")
            workers.append(
                {"name": name, "pid": pid, "log": str(log_path), "metrics_port": metrics_port, **_metrics(metrics_port)}
            )
        return workers

    def audit_key_path(self) -> Path:
        """The archiver's private key: $MICROTURN_AUDIT_KEY, else `audit.key` in $MICROTURN_KEYS_DIR or
        `<state dir>/keys`, a folder apart from the archive (the archiver refuses a key inside it)."""
        from schemas.audit import default_key_path

        return default_key_path(self.settings.state_dir).resolve()

    def _up_archivers(self, state: dict[str, Any], say: Any) -> list[dict[str, Any]]:
        """The archiver (`python -m processors.archiver`): <state dir>/archive, its key in a keys folder of its own."""
        known: list[dict[str, Any]] = state.get("archivers", [])
        if not self.settings.archivers or (known and process.is_alive(known[0]["pid"], ARCHIVER_MARKER)):
            return known
        archive = Path(os.environ.get("MICROTURN_ARCHIVE_DIR") or self.settings.state_dir / "archive")
        log_path = self.settings.state_dir / "workers" / "archiver.log"
        metrics_port = _reuse_port(known[0].get("metrics_port") if known else None)
        env = {
            **os.environ,
            "MICROTURN_KAFKA": state["kafka"]["bootstrap"],
            "MICROTURN_TOPIC_PREFIX": self.settings.topic_prefix,
            "MICROTURN_ARCHIVE_DIR": str(archive),
            "MICROTURN_AUDIT_KEY": str(self.audit_key_path()),
            METRICS_PORT_ENV: str(metrics_port),
            **self.encryption_env(),
        }
        out_path = log_path.with_suffix(".out")
        env[LOG_FILE_ENV] = str(log_path)
        pid = process.spawn([sys.executable, "-m", ARCHIVER_MARKER], out_path, env=env)
        ready = archive / "_archiver" / "ready"  # holds the archiver's pid once it consumes
        process.wait_until(lambda: _read(ready) == str(pid), "archiver", 120.0, out_path, pid, log_path)
        say(f"started the archiver (pid {pid}, archive {archive}, log: {log_path})")
        say(f"audit heads are signed with {self.audit_key_path()}; verifiers need only {self.audit_key_path()}.pub")
        return [
            {
                "name": "archiver",
                "pid": pid,
                "log": str(log_path),
                "archive": str(archive),
                "metrics_port": metrics_port,
                **_metrics(metrics_port),
            }
        ]

    def down(self, say: Any = print) -> dict[str, Any]:
        """Stop every process `up` started from this state dir; the status afterwards."""
        state = self._load()
        for worker in state.get("workers", []):
            if process.stop(worker.get("pid"), WORKER_MARKER):
                say(f"stopped {worker['name']} (pid {worker['pid']})")
        for archiver in state.get("archivers", []):  # after the workers: it commits what they produced last
            if process.stop(archiver.get("pid"), ARCHIVER_MARKER):
                say(f"stopped the archiver (pid {archiver['pid']})")
        tritons = state.get("tritons") or ([state["triton"]] if state.get("triton") else [])
        for entry in tritons:
            if process.stop(entry.get("pid"), triton.MARKER):
                say(f"stopped Triton {entry['grpc']} (pid {entry['pid']})")
        kafka_entry = state.get("kafka", {})
        if process.stop(kafka_entry.get("pid"), kafka.MARKER):
            say(f"stopped kafka (pid {kafka_entry['pid']})")
        state["workers"] = state["archivers"] = []
        for entry in [*tritons, kafka_entry]:
            if entry and not entry.get("external"):
                entry["pid"] = None
        self._save(state)
        return self.status()

    def status(self) -> dict[str, Any]:
        """The status document of `microturn status --json`."""
        state = self._load()
        k = state.get("kafka", {})
        kafka_ready = bool(k.get("bootstrap")) and kafka.metadata_ready(k["bootstrap"], timeout_s=2.0)
        tritons = [_triton_status(t) for t in state.get("tritons") or [state.get("triton", {})]]
        workers = [
            {
                "name": w["name"],
                "pid": w["pid"],
                "alive": process.is_alive(w["pid"], WORKER_MARKER),
                "metrics": w.get("metrics"),
            }
            for w in state.get("workers", [])
        ]
        archivers = [
            {
                "name": a["name"],
                "pid": a["pid"],
                "alive": process.is_alive(a["pid"], ARCHIVER_MARKER),
                "archive": a["archive"],
                "metrics": a.get("metrics"),
            }
            for a in state.get("archivers", [])
        ]
        return {
            "kafka": {"bootstrap": k.get("bootstrap"), "ready": kafka_ready, "pid": k.get("pid")},
            "triton": tritons[0],
            "tritons": tritons,
            "workers": workers,
            "archivers": archivers,
            "metrics": [
                entry["metrics"]
                for entry in [*workers, *archivers, *tritons]
                if entry.get("metrics") and entry.get("alive", entry.get("ready"))
            ],
            "state_dir": str(self.settings.state_dir),
        }


def _triton_status(t: dict[str, Any]) -> dict[str, Any]:
    if t.get("http"):
        ready = triton.triton_ready(t["http"])
    else:
        ready = bool(t.get("grpc")) and triton.triton_ready_grpc(t["grpc"])
    return {
        "grpc": t.get("grpc"),
        "http": t.get("http"),
        "ready": ready,
        "pid": t.get("pid"),
        "metrics": t.get("metrics"),
    }


def _metrics(port: int) -> dict[str, str]:
    return {"metrics": f"http://127.0.0.1:{port}/metrics"}


def down_parts(status: dict[str, Any]) -> list[str]:
    """What `up` should be running but is not, by name ([] when the stack is healthy).

    Only what was started (or given) is checked: a stack never brought up has no Kafka known and
    is reported down as a whole.
    """
    down = []
    if not status["kafka"]["ready"]:
        down.append("kafka")
    down += [f"triton {t['grpc'] or '-'}" for t in status["tritons"] if not t["ready"]]
    down += [w["name"] for w in status["workers"] if not w["alive"]]
    down += [a["name"] for a in status["archivers"] if not a["alive"]]
    return down


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _wait_gone(pid: int | None, marker: str, timeout_s: float = 15.0) -> None:
    """Wait (at most `timeout_s`) until `pid`, once the process named by `marker`, has fully exited.

    A killed process loses its command line (its memory goes first) before it closes its sockets;
    until then `process.is_alive` already says dead but its port is still taken, and a restart
    would move to another port its clients do not know.
    """
    if not pid:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return
        if stat.rsplit(")", 1)[-1].split()[0] == "Z" or (cmdline and marker.encode() not in cmdline):
            return  # exited (a zombie holds no sockets), or the pid is another process's now
        time.sleep(0.05)


def _reuse_port(port: int | None, wait_s: float = 0.0, as_server: bool = False) -> int:
    """`port` again if it is free within `wait_s` (keeps addresses stable across restarts), else a new one.

    `as_server`: free as a server binding it sees it (SO_REUSEADDR, as Kafka binds), so the
    TIME_WAIT connections a SIGKILLed broker leaves on its port do not move the restarted one.
    """
    if port:
        import socket

        deadline = time.monotonic() + wait_s
        while True:
            with socket.socket() as sock:
                if as_server:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    pass
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
    return process.free_port()
