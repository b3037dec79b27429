"""Every package's root exception derives from `MicroturnError`, and exit codes live on the classes."""

from __future__ import annotations

from inference.errors import InferenceError
from inference.network.errors import ConfigError as NetworkConfigError
from inference.network.errors import NetworkError
from infra.cli.common import EXIT_BAD_INPUT, CommandError
from infra.errors import InfraError
from processors.errors import ConfigError as ProcessorConfigError
from processors.errors import ProcessorError
from replay.errors import ReplayError
from schemas.errors import ConfigError, MicroturnError, SchemaError
from streams.errors import StreamsError
from streams.ingress.errors import ConfigError as IngressConfigError
from streams.ingress.errors import IngressError
from streams.media import MediaError


def test_every_package_root_is_a_microturn_error() -> None:
    roots = [
        CommandError,
        InfraError,
        InferenceError,
        NetworkError,
        ProcessorError,
        ReplayError,
        SchemaError,
        StreamsError,
        IngressError,
        MediaError,
    ]
    assert [root for root in roots if not issubclass(root, MicroturnError)] == []


def test_there_is_one_config_error_and_bad_input_exits_2() -> None:
    assert NetworkConfigError is ProcessorConfigError is IngressConfigError is ConfigError
    assert ConfigError("x").exit_code == MediaError("x").exit_code == EXIT_BAD_INPUT
    assert InferenceError("x").exit_code == 1
    assert CommandError("x", exit_code=3).exit_code == 3
