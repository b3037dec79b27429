"""TLS/SASL settings for external Kafka clusters reach every Kafka client (issue 16, item 6)."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import faust
import pytest

from schemas.errors import ConfigError
from streams.kafka_security import ENV, KafkaSecurity

ROOT = Path(__file__).parents[2]
PACKAGES = ("schemas", "streams", "processors", "inference", "replay", "infra")


def test_nothing_set_is_plaintext_with_aiokafkas_defaults() -> None:
    plain = KafkaSecurity.from_env({})
    assert plain.aiokafka_options() == {} and plain.faust_credentials() is None


def test_sasl_ssl_gives_every_option() -> None:
    env = {
        ENV["protocol"]: "sasl_ssl",
        ENV["mechanism"]: "scram-sha-512",
        ENV["username"]: "svc",
        ENV["password"]: "pw",
    }
    security = KafkaSecurity.from_env(env)
    options = security.aiokafka_options()
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "svc" and options["sasl_plain_password"] == "pw"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    credentials = security.faust_credentials()
    assert isinstance(credentials, faust.SASLCredentials) and credentials.username == "svc"


def test_tls_alone_gives_faust_ssl_credentials() -> None:
    security = KafkaSecurity.from_env({ENV["protocol"]: "SSL"})
    assert isinstance(security.faust_credentials(), faust.SSLCredentials)
    assert set(security.aiokafka_options()) == {"security_protocol", "ssl_context"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({ENV["protocol"]: "TLS"}, "must be one of"),
        ({ENV["protocol"]: "SASL_SSL", ENV["username"]: "svc"}, "got a username and no password"),
        (
            {ENV["protocol"]: "SASL_PLAINTEXT", ENV["mechanism"]: "GSSAPI", ENV["username"]: "u", ENV["password"]: "p"},
            "MICROTURN_KAFKA_SASL_MECHANISM must be one of",
        ),
        ({ENV["protocol"]: "SSL", ENV["cafile"]: "/nonexistent/ca.pem"}, "must name a readable file"),
    ],
)
def test_bad_settings_are_refused_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        KafkaSecurity.from_env(env)


def test_every_kafka_client_we_create_takes_the_security_options() -> None:
    """A static check: each aiokafka client constructor call in our packages spreads aiokafka_options(),
    and the faust app gets broker_credentials."""
    calls = 0
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            for match in re.finditer(r"AIOKafka(?:Consumer|Producer|AdminClient|Client)\(", text):
                end = _closing(text, match.end() - 1)
                line = text[: match.start()].count("\n") + 1
                assert "aiokafka_options()" in text[match.end() : end], f"{path}:{line}"
                calls += 1
    assert calls >= 10
    assert "broker_credentials=security().faust_credentials()" in (ROOT / "processors" / "app.py").read_text()


def _closing(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at `start`."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return index
    raise AssertionError("unbalanced parentheses")
