"""The real `tritonserver` binary shipped in the nvidia-pytriton wheel, serving our repository.

Two traps, both handled here: the python backend stub must load the running interpreter's
libpython (LIBDIR and nvidia_pytriton.libs first on LD_LIBRARY_PATH), and every endpoint binds
127.0.0.1 (metrics too: `--metrics-address`, when a metrics port is given; off otherwise).
"""

from __future__ import annotations

import os
import shutil
import site
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from infra import process
from infra.errors import SetupError

REPOSITORY = Path(__file__).resolve().parent.parent / "inference" / "model_repository"
MARKER = "tritonserver"
MODEL = "interaction"


def _dist_dir() -> Path:
    try:
        import pytriton
    except ImportError as exc:
        raise SetupError("nvidia-pytriton is not installed: run `make setup`") from exc
    return Path(pytriton.__file__).parent / "tritonserver"


def prepare_backends(home: Path) -> Path:
    """A backend folder with the python backend and the stub for this interpreter's version."""
    dist = _dist_dir()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = dist / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.exists():
        raise SetupError(f"nvidia-pytriton ships no python backend stub for Python {version} ({stub})")
    backends = home / "backends"
    python = backends / "python"
    python.mkdir(parents=True, exist_ok=True)
    for item in (dist / "backends" / "python").iterdir():
        _install(item, python / item.name)
    _install(stub, python / "triton_python_backend_stub")
    return backends


def _install(source: Path, target: Path) -> None:
    """Copy via a temporary name and rename: a stub left running by a crashed server keeps its old
    inode, and the copy never fails with "Text file busy"."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.copy2(source, tmp)
    tmp.replace(target)


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment tritonserver and its python stubs need."""
    env = dict(os.environ)
    libs = [
        str(sysconfig.get_config_var("LIBDIR")),
        str(_dist_dir().parent.parent / "nvidia_pytriton.libs"),
    ]
    if env.get("LD_LIBRARY_PATH"):
        libs.append(env["LD_LIBRARY_PATH"])
    env["LD_LIBRARY_PATH"] = ":".join(libs)
    # The stub embeds libpython, which knows nothing of our virtualenv: give it our packages.
    paths = [str(REPOSITORY.parent.parent), *site.getsitepackages()]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = ":".join(paths)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class TritonServer:
    """Where one local Triton keeps its backends and log, and the ports it listens on."""

    home: Path
    """The server's folder under the state dir."""
    http_port: int
    """HTTP/REST port on 127.0.0.1."""
    grpc_port: int
    """gRPC port on 127.0.0.1."""
    metrics_port: int = 0
    """Prometheus metrics port on 127.0.0.1 (GET /metrics); 0 switches Triton's metrics off."""

    @property
    def metrics_url(self) -> str | None:
        return f"http://127.0.0.1:{self.metrics_port}/metrics" if self.metrics_port else None

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def log_path(self) -> Path:
        return self.home / "triton.log"

    def start(self, env: dict[str, str] | None = None, timeout_s: float = 180.0) -> int:
        """Run tritonserver; its pid once the server and the interaction model are ready."""
        binary = _dist_dir() / "bin" / "tritonserver"
        backends = prepare_backends(self.home)
        argv = [
            str(binary),
            f"--model-repository={REPOSITORY}",
            f"--backend-directory={backends}",
            "--http-address=127.0.0.1",
            f"--http-port={self.http_port}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={self.grpc_port}",
            *(
                ["--allow-metrics=true", "--metrics-address=127.0.0.1", f"--metrics-port={self.metrics_port}"]
                if self.metrics_port
                else ["--allow-metrics=false"]
            ),
            "--strict-readiness=true",
            "--exit-on-error=true",
            "--log-verbose=0",
        ]
        pid = process.spawn(argv, self.log_path, env=server_env(env))
        process.wait_until(lambda: triton_ready(self.http_url), "Triton server", timeout_s, self.log_path, pid)
        return pid


def triton_ready(http_url: str) -> bool:
    """Whether the server at `http_url` is ready and serves the interaction model."""
    import urllib.error
    import urllib.request

    for path in ("/v2/health/ready", f"/v2/models/{MODEL}/ready"):
        try:
            with urllib.request.urlopen(f"http://{http_url}{path}", timeout=2) as resp:
                if resp.status != 200:
                    return False
        except (urllib.error.URLError, OSError):
            return False
    return True


def triton_ready_grpc(grpc_url: str) -> bool:
    """Whether the server at gRPC `grpc_url` is ready and serves the interaction model."""
    import tritonclient.grpc as grpcclient  # type: ignore[import-untyped]
    from tritonclient.utils import InferenceServerException  # type: ignore[import-untyped]

    try:
        client = grpcclient.InferenceServerClient(grpc_url)
        try:
            return bool(client.is_server_ready(client_timeout=2) and client.is_model_ready(MODEL, client_timeout=2))
        finally:
            client.close()
    except InferenceServerException:
        return False
