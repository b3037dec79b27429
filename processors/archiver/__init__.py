"""The archiver: every microturn topic to Parquet, exactly once, sealed by a signed audit chain.

The names below are imported on first use (PEP 562), so that readers of the archive
(`processors.archiver.files`, `.tables`: the query path) do not import Kafka clients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.lazy import lazy_exports

if TYPE_CHECKING:
    from processors.archiver.archiver import Archiver
    from processors.archiver.settings import ArchiverSettings, default_archive_dir
    from processors.archiver.sync import wait_synced
    from processors.archiver.tables import TABLES, TableSpec

__all__ = ["TABLES", "Archiver", "ArchiverSettings", "TableSpec", "default_archive_dir", "wait_synced"]

_HOME = {
    "Archiver": "archiver",
    "ArchiverSettings": "settings",
    "default_archive_dir": "settings",
    "wait_synced": "sync",
    "TABLES": "tables",
    "TableSpec": "tables",
}


__getattr__ = lazy_exports(__name__, _HOME)
