"""TLS and SASL settings for external Kafka clusters, applied to every Kafka client microturn creates.

Read once per process from the environment (nothing set: plaintext, as on a developer machine):

- MICROTURN_KAFKA_SECURITY_PROTOCOL: PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL
- MICROTURN_KAFKA_SASL_MECHANISM: PLAIN (default with SASL), SCRAM-SHA-256 or SCRAM-SHA-512
- MICROTURN_KAFKA_SASL_USERNAME, MICROTURN_KAFKA_SASL_PASSWORD
- MICROTURN_KAFKA_SSL_CAFILE: CA bundle to verify the brokers (default: the system's)
- MICROTURN_KAFKA_SSL_CERTFILE, MICROTURN_KAFKA_SSL_KEYFILE: a client certificate (mutual TLS)

`aiokafka_options()` are keyword arguments for AIOKafkaProducer/Consumer/AdminClient/Client;
`faust_credentials()` is the faust app's `broker_credentials`. The password is never logged.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.errors import ConfigError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
ENV = {
    "protocol": "MICROTURN_KAFKA_SECURITY_PROTOCOL",
    "mechanism": "MICROTURN_KAFKA_SASL_MECHANISM",
    "username": "MICROTURN_KAFKA_SASL_USERNAME",
    "password": "MICROTURN_KAFKA_SASL_PASSWORD",
    "cafile": "MICROTURN_KAFKA_SSL_CAFILE",
    "certfile": "MICROTURN_KAFKA_SSL_CERTFILE",
    "keyfile": "MICROTURN_KAFKA_SSL_KEYFILE",
}


@dataclass(frozen=True)
class KafkaSecurity:
    """How to connect to the brokers; checked at construction."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "PLAIN"
    username: str = ""
    password: str = ""
    cafile: str = ""
    certfile: str = ""
    keyfile: str = ""

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"kafka security: {ENV['protocol']} must be one of {PROTOCOLS}; got {self.protocol!r}")
        if self.sasl and self.mechanism not in MECHANISMS:
            raise ConfigError(f"kafka security: {ENV['mechanism']} must be one of {MECHANISMS}; got {self.mechanism!r}")
        if self.sasl and not (self.username and self.password):
            raise ConfigError(
                f"kafka security: {self.protocol} needs {ENV['username']} and {ENV['password']}; "
                f"got {'a username' if self.username else 'no username'} and "
                f"{'a password' if self.password else 'no password'}"
            )
        for name in ("cafile", "certfile", "keyfile"):
            path = getattr(self, name)
            if path and not os.path.isfile(path):
                raise ConfigError(f"kafka security: {ENV[name]} must name a readable file; got {path!r}")
        if bool(self.certfile) != bool(self.keyfile):
            raise ConfigError(f"kafka security: set both {ENV['certfile']} and {ENV['keyfile']}, or neither")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaSecurity:
        env = os.environ if environ is None else environ
        values = {field: env.get(name, "").strip() for field, name in ENV.items() if env.get(name, "").strip()}
        if "protocol" in values:
            values["protocol"] = values["protocol"].upper()
        if "mechanism" in values:
            values["mechanism"] = values["mechanism"].upper()
        return cls(**values)

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL")

    @property
    def tls(self) -> bool:
        return self.protocol.endswith("SSL")

    def ssl_context(self) -> Any:
        """The TLS context for the brokers (None for plaintext protocols)."""
        if not self.tls:
            return None
        from aiokafka.helpers import create_ssl_context

        return create_ssl_context(
            cafile=self.cafile or None, certfile=self.certfile or None, keyfile=self.keyfile or None
        )

    def aiokafka_options(self) -> dict[str, Any]:
        """Keyword arguments for every aiokafka client ({} for plaintext: aiokafka's defaults)."""
        if self.protocol == "PLAINTEXT":
            return {}
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.tls:
            options["ssl_context"] = self.ssl_context()
        if self.sasl:
            options.update(
                sasl_mechanism=self.mechanism, sasl_plain_username=self.username, sasl_plain_password=self.password
            )
        return options

    def faust_credentials(self) -> Any:
        """faust's `broker_credentials` (None for plaintext)."""
        import faust

        if self.sasl:
            return faust.SASLCredentials(
                username=self.username,
                password=self.password,
                ssl_context=self.ssl_context(),
                mechanism=self.mechanism,
            )
        if self.tls:
            return faust.SSLCredentials(self.ssl_context())
        return None


@functools.cache
def security() -> KafkaSecurity:
    """This process's Kafka security settings, read from the environment once."""
    return KafkaSecurity.from_env()


def aiokafka_options() -> dict[str, Any]:
    """`security().aiokafka_options()`: spread into every aiokafka client's constructor."""
    return security().aiokafka_options()
