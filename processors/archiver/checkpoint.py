"""The archiver's commit record: which offsets the archive holds, kept beside the archive.

Layout under `<archive root>/_archiver/`: `checkpoint.json` (the last committed epoch), at most
one `intent-<epoch>.json` (the files an epoch is about to write), and `lock` (one archiver per
root). The archive, not the consumer group, is the source of truth for what was archived: the
group's committed offsets trail the checkpoint and exist for `archive sync` and lag monitoring.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import msgspec
import structlog

from processors.archiver.durable import fsync_dir, make_dirs, remove, write_bytes
from processors.archiver.errors import ArchiveError, ArchiveLockedError
from schemas.audit import ChainHead

log = structlog.get_logger(__name__)
STATE_DIR = "_archiver"
"""Folder of the archiver's own state under the archive root; never matched by table globs."""


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """What the archive durably holds after epoch `epoch`."""

    epoch: int = 0
    """Number of the last committed epoch (0: nothing archived yet)."""
    offsets: dict[str, dict[int, int]] = {}
    """topic -> partition -> the next offset to archive (every record before it is in the archive)."""
    heads: tuple[ChainHead, ...] = ()
    """The chain heads sealed by this epoch, republished on start in case the crash came before that."""


class Intent(msgspec.Struct, frozen=True):
    """The files epoch `epoch` is about to write, relative to the archive root."""

    epoch: int
    files: tuple[str, ...]


class CheckpointStore:
    """Reads and writes the commit record of the archive at `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = root / STATE_DIR
        self._path = self.state / "checkpoint.json"
        self._lock_fd: int | None = None

    def lock(self) -> None:
        """Take the root's lock for this process's lifetime (the OS drops it when the process dies)."""
        make_dirs(self.state)
        fd = os.open(self.state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise ArchiveLockedError(f"another archiver owns {self.root} (lock {self.state / 'lock'})") from exc
        self._lock_fd = fd

    def load(self) -> Checkpoint:
        """The last committed checkpoint; an empty one for a new archive."""
        try:
            return msgspec.json.decode(self._path.read_bytes(), type=Checkpoint)
        except FileNotFoundError:
            return Checkpoint()
        except (OSError, msgspec.DecodeError) as exc:
            raise ArchiveError(f"reading the archive checkpoint {self._path} failed: {exc}") from exc

    def begin(self, epoch: int, files: list[str]) -> None:
        """Record durably that epoch `epoch` will write `files`; called before the first of them is written."""
        write_bytes(self.state / f"intent-{epoch}.json", msgspec.json.encode(Intent(epoch, tuple(files))))

    def commit(self, checkpoint: Checkpoint) -> None:
        """Make `checkpoint` the committed one (atomically, durably), then drop its intent.

        Called once every file of the epoch is durable. This write is the epoch's commit point:
        a crash before it rolls the epoch back on the next start, a crash after it keeps it.
        """
        write_bytes(self._path, msgspec.json.encode(checkpoint))
        intent = self.state / f"intent-{checkpoint.epoch}.json"
        if intent.exists():
            intent.unlink()
            fsync_dir(self.state)

    def recover(self) -> Checkpoint:
        """Roll back uncommitted epochs; the checkpoint to resume from. Called once, at start.

        Resume rule: files of an epoch newer than the checkpoint (its intent file is still there)
        are deleted, together with any temporaries, because the checkpoint's offsets do not cover
        their records: those records are consumed again from the checkpoint's offsets and written
        anew. Files of committed epochs are kept and their records are never consumed again.
        Every record is therefore in the archive exactly once after any crash.
        """
        make_dirs(self.state)
        checkpoint = self.load()
        for intent_path in sorted(self.state.glob("intent-*.json")):
            intent = msgspec.json.decode(intent_path.read_bytes(), type=Intent)
            if intent.epoch > checkpoint.epoch:
                gone = remove([self.root / name for name in intent.files])
                log.warning(
                    "uncommitted_epoch_rolled_back",
                    epoch=intent.epoch,
                    deleted=len(gone),
                    committed_epoch=checkpoint.epoch,
                )
            intent_path.unlink()
        for leftover in self.state.glob(".*.tmp"):  # an intent or checkpoint whose write was cut short
            leftover.unlink()
        fsync_dir(self.state)
        return checkpoint
