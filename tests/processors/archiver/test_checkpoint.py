"""The resume rule without a broker: uncommitted epochs roll back, committed ones stay, one owner."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from processors.archiver.batch import EpochBatch
from processors.archiver.checkpoint import Checkpoint, CheckpointStore
from processors.archiver.durable import temporary, write_bytes
from processors.archiver.errors import ArchiveLockedError
from processors.archiver.tables import TABLE_OF
from schemas import encode
from schemas.audit.chain import Chain
from tests.processors.archiver.samples import every_event


def test_files_of_an_epoch_without_checkpoint_are_deleted_and_committed_ones_kept(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.begin(1, ["audio_chunk/date=x/hour=01/part-1.parquet"])
    write_bytes(tmp_path / "audio_chunk/date=x/hour=01/part-1.parquet", b"epoch 1")
    store.commit(Checkpoint(epoch=1, offsets={"t": {0: 5}}))
    store.begin(2, ["audio_chunk/date=x/hour=01/part-2.parquet", "text_event/date=x/hour=01/part-2.parquet"])
    write_bytes(tmp_path / "audio_chunk/date=x/hour=01/part-2.parquet", b"epoch 2, never committed")
    half = temporary(tmp_path / "text_event/date=x/hour=01/part-2.parquet")
    half.parent.mkdir(parents=True)
    half.write_bytes(b"cut short")

    with capture_logs() as logs:
        resumed = CheckpointStore(tmp_path).recover()

    assert [(e["event"], e["epoch"], e["deleted"]) for e in logs] == [("uncommitted_epoch_rolled_back", 2, 2)]
    assert resumed.epoch == 1 and resumed.offsets == {"t": {0: 5}}
    assert (tmp_path / "audio_chunk/date=x/hour=01/part-1.parquet").read_bytes() == b"epoch 1"
    assert not (tmp_path / "audio_chunk/date=x/hour=01/part-2.parquet").exists() and not half.exists()
    assert not list((tmp_path / "_archiver").glob("intent-*"))


def test_an_intent_of_a_committed_epoch_is_only_cleaned_up(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.begin(3, ["a/part-3.parquet"])
    write_bytes(tmp_path / "a/part-3.parquet", b"kept")
    write_bytes(tmp_path / "_archiver/checkpoint.json", b'{"epoch": 3}')  # crash between checkpoint and cleanup
    assert CheckpointStore(tmp_path).recover().epoch == 3
    assert (tmp_path / "a/part-3.parquet").exists()


def test_one_archiver_per_root(tmp_path: Path) -> None:
    CheckpointStore(tmp_path).lock()
    with pytest.raises(ArchiveLockedError, match="another archiver owns"):
        CheckpointStore(tmp_path).lock()


def test_batches_are_due_by_size_or_by_age() -> None:
    now = [100.0]
    batch = EpochBatch(roll_bytes=1000, roll_age_s=5.0, clock=lambda: now[0])
    event = every_event()[1]
    spec, appended = TABLE_OF[type(event)], Chain().append(event.event_id, encode(event))
    assert not batch.due()
    batch.add(spec, event, ("t", 0, 0, 0), appended, 400)
    now[0] += 4.9
    assert not batch.due()
    now[0] += 0.2
    assert batch.due()
    batch.clear()
    batch.add(spec, event, ("t", 0, 1, 0), appended, 600)
    assert not batch.due()
    batch.add(spec, event, ("t", 0, 2, 0), appended, 400)
    assert batch.due() and batch.rows == 2
