"""The deployment files agree with the code (issue 16, item 5): no Docker engine here, so they are
checked statically: the YAML parses, commands parse with the real CLI parser or name modules that
exist, every MICROTURN_* variable is one the code reads, and ports, probes and images line up."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from infra.cli.main import build_parser
from processors.archiver.checkpoint import STATE_DIR as ARCHIVER_STATE_DIR
from streams import metrics
from streams.ingress.server import HEALTH_PATHS

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
PACKAGES = ("schemas", "streams", "processors", "inference", "replay", "infra")
MODULES = {"processors", "processors.archiver", "infra.topics"}
"""What `python -m` may run in a container."""


def _code_env_vars() -> tuple[set[str], set[str]]:
    """MICROTURN_* names the code reads, and name prefixes it builds (f"MICROTURN_MODEL_{KEY}")."""
    names, prefixes = set(), set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            names |= set(re.findall(r"\"(MICROTURN_[A-Z0-9_]+)\"", text))
            prefixes |= set(re.findall(r"f\"(MICROTURN_[A-Z0-9_]*_)\{", text))
    return names, prefixes


def _k8s_docs() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def _compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return doc


def _workloads() -> dict[str, dict[str, Any]]:
    """Kubernetes pod specs by workload name."""
    return {
        doc["metadata"]["name"]: doc["spec"]["template"]["spec"]
        for doc in _k8s_docs()
        if doc["kind"] in ("Deployment", "StatefulSet", "Job")
    }


def _dockerfile_env(path: Path) -> dict[str, str]:
    text = path.read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return env


def _container_env(container: dict[str, Any]) -> dict[str, str]:
    config = next(doc for doc in _k8s_docs() if doc["kind"] == "ConfigMap")["data"]
    env = dict(config) if container.get("envFrom") else {}
    env.update({item["name"]: item.get("value", "<secret>") for item in container.get("env", [])})
    return env


def _check_command(command: list[str]) -> None:
    if command[:2] == ["python", "-m"]:
        assert command[2] in MODULES and importlib.util.find_spec(command[2]) is not None, command
        assert len(command) == 3, command
    else:
        assert command[0] == "microturn", command
        args = build_parser().parse_args(command[1:])  # SystemExit (a failed test) if the CLI refuses it
        assert args.func is not None


def test_every_manifest_parses_and_kustomize_lists_them_all() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"
    )
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in _k8s_docs()}
    assert {("Deployment", "workers"), ("Deployment", "ingress"), ("Service", "ingress")} <= kinds
    assert {("StatefulSet", "archiver"), ("Deployment", "triton"), ("Job", "microturn-topics")} <= kinds
    assert set(_compose()["services"]) == {"kafka", "triton", "topics", "workers", "ingress", "archiver"}
    json.loads((DEPLOY / "grafana" / "microturn.json").read_text())


def test_commands_are_ones_the_code_runs() -> None:
    for name, spec in _workloads().items():
        for container in spec["containers"]:
            if container["image"] != "microturn-triton":
                _check_command(container["command"])
            else:
                assert "command" not in container, name  # the image's tritonserver command
    for name, service in _compose()["services"].items():
        if "command" in service:
            _check_command(service["command"])
        else:
            assert name in ("kafka", "triton"), name


def test_every_microturn_variable_is_one_the_code_reads() -> None:
    names, prefixes = _code_env_vars()
    assert "MICROTURN_KAFKA" in names and "MICROTURN_METRICS_PORT" in names  # the scan works
    used: dict[str, str] = {}
    for source, text in [
        ("Dockerfile", (ROOT / "Dockerfile").read_text()),
        ("deploy/triton/Dockerfile", (DEPLOY / "triton" / "Dockerfile").read_text()),
        ("deploy/compose.yaml", (DEPLOY / "compose.yaml").read_text()),
        *((f"deploy/k8s/{p.name}", p.read_text()) for p in K8S.glob("*.yaml")),
        ("deploy/README.md", (DEPLOY / "README.md").read_text()),
    ]:
        for name in re.findall(r"\b(MICROTURN_[A-Z0-9_]+)\b", text):
            used.setdefault(name, source)
    unknown = {
        name: source
        for name, source in used.items()
        if name not in names and not any(name.startswith(prefix) for prefix in prefixes)
    }
    assert unknown == {}
    assert "TWILIO_AUTH_TOKEN" in (ROOT / "infra" / "cli" / "serve_commands.py").read_text()


def test_ports_probes_and_metrics_agree() -> None:
    image_env = _dockerfile_env(ROOT / "Dockerfile")
    metrics_port = int(image_env[metrics.PORT_ENV])
    assert image_env[metrics.ADDRESS_ENV] == "0.0.0.0"  # reachable from outside the pod
    workloads = _workloads()
    for name in ("workers", "ingress", "archiver"):
        pod = workloads[name]
        container = pod["containers"][0]
        env = _container_env(container)
        assert int(env[metrics.PORT_ENV]) == metrics_port, name
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["metrics"] == metrics_port, name
    ingress = workloads["ingress"]["containers"][0]
    args = build_parser().parse_args(ingress["command"][1:])
    ports = {p["name"]: p["containerPort"] for p in ingress["ports"]}
    assert args.port == ports["calls"] and args.host == "0.0.0.0"
    for probe in ("livenessProbe", "readinessProbe"):
        http = ingress[probe]["httpGet"]
        assert http["path"] in HEALTH_PATHS and http["port"] == "calls"
    assert ingress["readinessProbe"]["httpGet"]["path"] == "/readyz"
    service = next(d for d in _k8s_docs() if d["kind"] == "Service" and d["metadata"]["name"] == "ingress")
    assert service["spec"]["ports"][0]["targetPort"] == "calls"
    compose_ingress = _compose()["services"]["ingress"]
    compose_args = build_parser().parse_args(compose_ingress["command"][1:])
    assert compose_ingress["ports"] == [f"{compose_args.port}:{compose_args.port}"]
    assert "/healthz" in " ".join(compose_ingress["healthcheck"]["test"])


def test_worker_and_archiver_readiness_files_are_where_the_code_writes_them() -> None:
    workloads = _workloads()
    state_dir = _dockerfile_env(ROOT / "Dockerfile")["MICROTURN_STATE_DIR"]
    worker = workloads["workers"]["containers"][0]
    assert worker["readinessProbe"]["exec"]["command"] == ["test", "-f", f"{state_dir}/ready"]
    assert {m["mountPath"] for m in worker["volumeMounts"]} == {state_dir}
    archiver = workloads["archiver"]["containers"][0]
    archive = _container_env(archiver)["MICROTURN_ARCHIVE_DIR"]
    assert archiver["readinessProbe"]["exec"]["command"] == ["test", "-f", f"{archive}/{ARCHIVER_STATE_DIR}/ready"]
    assert any(archive.startswith(m["mountPath"]) for m in archiver["volumeMounts"])
    key = _container_env(archiver)["MICROTURN_AUDIT_KEY"]
    assert any(key.startswith(m["mountPath"]) and m.get("readOnly") for m in archiver["volumeMounts"])


def test_triton_ports_gpu_and_images() -> None:
    triton_cmd = (DEPLOY / "triton" / "Dockerfile").read_text()
    assert re.search(r"^FROM nvcr\.io/nvidia/tritonserver:\S+-py3$", triton_cmd, re.M)
    flags = dict(re.findall(r"--([a-z-]+)=(\S+?)\"", triton_cmd))
    assert flags["model-repository"] == "/opt/microturn/inference/model_repository"
    assert (ROOT / "inference" / "model_repository" / "interaction" / "config.pbtxt").exists()
    container = _workloads()["triton"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {
        "http": int(flags["http-port"]),
        "grpc": int(flags["grpc-port"]),
        "metrics": int(flags["metrics-port"]),
    }
    assert container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    worker_env = _container_env(_workloads()["workers"]["containers"][0])
    assert worker_env["MICROTURN_TRITON"] == f"triton:{ports['grpc']}"
    assert _compose()["services"]["workers"]["environment"]["MICROTURN_TRITON"] == f"triton:{ports['grpc']}"
    gpu = _compose()["services"]["triton"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"]

    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    images = {image["name"]: f"{image['newName']}:{image['newTag']}" for image in kustomization["images"]}
    for spec in _workloads().values():
        assert {c["image"] for c in spec["containers"]} <= set(images)
    compose = _compose()["services"]
    assert (
        compose["workers"]["image"] == images["microturn"] and compose["triton"]["image"] == images["microturn-triton"]
    )
    assert compose["kafka"]["image"].startswith("apache/kafka:")
    kafka_env = compose["kafka"]["environment"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert (
        compose["workers"]["environment"]["MICROTURN_KAFKA"] == kafka_env["KAFKA_ADVERTISED_LISTENERS"].split("//")[1]
    )


@pytest.mark.parametrize("path", ["Dockerfile"])
def test_the_image_copies_every_package_the_processes_import(path: str) -> None:
    text = (ROOT / path).read_text()
    for package in PACKAGES:
        assert re.search(rf"^COPY {package} {package}$", text, re.M), package
    assert "uv sync --frozen --no-dev" in text


def test_the_dashboard_queries_only_metrics_that_exist() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "microturn.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    ours = {
        name
        for collector in (value for value in vars(metrics).values() if isinstance(value, MetricWrapperBase))
        for family in collector.describe()
        for name in (family.name, f"{family.name}_total", f"{family.name}_bucket")
    }
    for expr in exprs:
        for name in re.findall(r"\b((?:microturn|nv)_[a-z_]+)\b", expr):
            assert name in ours or name.startswith("nv_inference_"), name
    assert any("microturn_turn_latency_seconds_bucket" in expr for expr in exprs)
