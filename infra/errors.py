"""Exceptions of the infra package."""

from __future__ import annotations

from schemas.errors import MicroturnError


class InfraError(MicroturnError):
    """Root of every error raised by `infra`; the message says what to do next."""


class SetupError(InfraError):
    """A prerequisite is missing (Java, Maven, the tritonserver binary, a free port)."""


class StartError(InfraError):
    """A server did not become ready; the message names its log file."""
