"""The store's room on its volume: a WAL bounded to what the volume can take, and a reserve.

In WAL mode every commit appends whole pages to ``-wal``; they reach the main
file only at a checkpoint, and the WAL only shrinks when it restarts after
one. SQLite's default checkpoint comes at 1000 pages (4 MiB): on a small
volume the WAL fills it first, no checkpoint ever runs and nothing more can
be committed (a 3 MB tmpfs: full in 9 s, main file still 4 KiB). So the
bound (``wal_limit``) follows the volume: the checkpoint's page count and
``journal_size_limit`` (the size a restarted WAL is cut back to) both come
from it.

A volume that something else filled leaves no byte even for SQLite's
``-shm`` (32 KiB, made at open after an orderly stop deleted it) or for the
WAL of the few rows that make room (pruning old detections). So the store
keeps a ``Reserve``: a file of the same size beside it, given back when the
store is refused a write or opened on a full volume, and taken again once
the volume has twice its size free.
"""

import errno
import logging
import os

log = logging.getLogger(__name__)

MIN_WAL = 256 * 1024          # below this a checkpoint would come every few commits
MAX_WAL = 4 * 1024 * 1024     # SQLite's own default (1000 pages of 4 KiB): larger volumes
FULL_MESSAGES = ("full", "disk i/o error")   # SQLITE_FULL; SQLITE_IOERR_* (ENOSPC on -shm)


def wal_limit(volume_bytes):
    """The WAL's bound and the reserve's size on a volume of ``volume_bytes``: a sixteenth
    of it, within [256 KiB, 4 MiB]."""
    return max(MIN_WAL, min(MAX_WAL, volume_bytes // 16))


def volume(path):
    """(total bytes, free bytes) of the volume that holds the folder of ``path``."""
    stats = os.statvfs(os.path.dirname(os.path.abspath(path)))
    return stats.f_blocks * stats.f_frsize, stats.f_bavail * stats.f_frsize


def is_full(error):
    """Whether an ``sqlite3.OperationalError`` says the volume is full or failing (the
    sqlite3 module of Python < 3.11 gives only the message), not locked or busy."""
    text = str(error).lower()
    return any(m in text for m in FULL_MESSAGES)


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class Reserve:
    """``size`` bytes held in the file ``path`` for the store to write with when the volume
    is full. ``held``: whether the file holds them now."""

    def __init__(self, path, size):
        self.path, self.size = path, size
        self.held = file_size(path) >= size
        self.refused = None   # why this file system cannot hold one (then it is not tried again)

    def release(self):
        """Delete the file; the bytes it gave back (0 when it was not held)."""
        given = file_size(self.path)
        try:
            os.unlink(self.path)
        except OSError as error:
            if error.errno != errno.ENOENT:
                log.warning("store reserve %s: cannot delete it: %s", self.path, error)
                return 0
        self.held = False
        return given

    def keep(self):
        """Take the reserve again when the volume has twice its size free; True if held."""
        if self.held:
            return True
        if self.refused or volume(self.path)[1] < 2 * self.size:
            return False
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                # posix_fallocate allocates the blocks (glibc writes them where the file
                # system cannot), so the bytes are really there to give back.
                os.posix_fallocate(fd, 0, self.size)
            finally:
                os.close(fd)
        except OSError as error:
            self.release()   # no half reserve
            if error.errno not in (errno.ENOSPC, errno.EDQUOT):   # not just filled meanwhile
                self.refused = str(error)
                log.warning("store reserve %s: cannot take %d bytes (%s); the store goes on "
                            "without one", self.path, self.size, error)
            return False
        self.held = True
        return True
