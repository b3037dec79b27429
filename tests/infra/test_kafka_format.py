"""The broker's storage is formatted with a cluster id `kafka-storage format` accepts."""

from __future__ import annotations

from infra.kafka import _cluster_id


def test_a_new_cluster_id_never_starts_with_a_dash() -> None:
    ids = [_cluster_id() for _ in range(2000)]  # about 1 in 64 random ids would start with "-"
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
