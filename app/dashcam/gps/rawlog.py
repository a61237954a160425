"""The receiver's own words, kept: every NMEA sentence or gpsd JSON line, stamped with the
time it was read, in a bounded log beside the store (``dashcam.gps.log``, then ``.1`` ..
``.N`` as it rotates), so an export can hand them over for the range it covers.

Each line is ``<ISO UTC time> <line as read>``; the fixed-width time sorts as time, so a
range is cut by comparing text. Written by the GPS worker's thread only; flushed per line
(no fsync: the parsed fixes in the store are the evidence, this is their source text).
"""

import logging
import os
import time

from dashcam.timestamps import iso_utc

log = logging.getLogger(__name__)

SUFFIX = ".gps.log"


def raw_log_path(db):
    """The raw GPS log of the store ``db``: ``dashcam.db`` -> ``dashcam.gps.log`` beside it."""
    return os.path.splitext(os.path.abspath(db))[0] + SUFFIX


class RawLog:
    """Appends lines to ``path``; past ``max_bytes`` (1 MB by default) it rotates, keeping
    ``files`` older files (3 by default). A log that cannot be written is said once and
    dropped: the GPS goes on without it."""

    def __init__(self, path, max_bytes=1 << 20, files=3, wall_clock=time.time):
        self.path, self.max_bytes, self.files, self.wall_clock = path, max_bytes, files, wall_clock
        self.lines = 0
        self._file = None
        self._failed = False

    def write(self, line):
        if self._failed:
            return
        try:
            if self._file is None:
                self._file = open(self.path, "a", encoding="utf-8")
            self._file.write(f"{iso_utc(self.wall_clock())} {line}\n")
            self._file.flush()
            self.lines += 1
            if self._file.tell() >= self.max_bytes:
                self._rotate()
        except OSError as error:
            self._failed = True
            log.warning("raw GPS log %s not written (%s); the fixes are still stored",
                        self.path, error)
            self.close()

    def _rotate(self):
        self.close()
        for n in range(self.files, 0, -1):
            older = f"{self.path}.{n - 1}" if n > 1 else self.path
            if os.path.exists(older):
                os.replace(older, f"{self.path}.{n}")

    def close(self):
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass   # a full volume: the lines already written stay
            self._file = None


def raw_lines(path, since=None, until=None):
    """The logged lines (with their time) in [since, until) (UTC epoch seconds, None: open),
    oldest first, from the rotated files and the current one; none when there is no log."""
    start, end = iso_utc(since), iso_utc(until)
    names = [f"{path}.{n}" for n in range(99, 0, -1)] + [path]
    for name in names:
        if not os.path.exists(name):
            continue
        with open(name, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                stamp = line[:24]
                if (start is None or stamp >= start) and (end is None or stamp < end):
                    yield line
