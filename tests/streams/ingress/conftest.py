"""Fixtures of the ingress tests."""

from __future__ import annotations

import pytest

from infra.topics import ensure_topics
from schemas import Topics


@pytest.fixture
def topics(kafka_bootstrap: str, topic_prefix: str) -> Topics:
    """This test's topics on the shared broker, without a worker (for tests that need no model)."""
    ensure_topics(kafka_bootstrap, Topics(topic_prefix))
    return Topics(topic_prefix)
