"""The archiver: every microturn topic to Parquet, exactly once, sealed by a signed audit chain."""

from processors.archiver.archiver import Archiver
from processors.archiver.settings import ArchiverSettings, default_archive_dir
from processors.archiver.sync import wait_synced
from processors.archiver.tables import TABLES, TableSpec

__all__ = ["TABLES", "Archiver", "ArchiverSettings", "TableSpec", "default_archive_dir", "wait_synced"]
