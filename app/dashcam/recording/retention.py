"""Retention: what to delete so that video and the store stay within their bounds.

Video: a quota (bytes, or a percentage of the volume) on what the recordings
folder holds, a reserve of free space on its volume, and an optional maximum
age. The decision (``plan``) is a pure function: past the maximum age the
unprotected segments go; then each bound is met by deleting the oldest
segments it may take, and only when deleting them can meet it: the quota and
the reserve take unprotected segments; protected ones (clips) go only when
recording would otherwise stop (less than two segments free), oldest first,
logged as a ``protected_deleted`` event naming the events whose evidence went.
A bound that deleting cannot meet deletes nothing and is reported. A segment
being joined or exported (held, see ``join.hold``) is skipped, never deleted.
The worker checks when a segment closes (the recorder wakes it), so the
folder stays within its quota with the next segment, and every ``interval``.

Bounds that no volume of this size can meet are found at the start
(``check_bounds``): one the user set is a configuration error; the default
reserve (256M) on a smaller card becomes a tenth of the volume, with a warning.

The store: detection rows older than a maximum age, or the oldest ones while
the file's content is over a size, are pruned in small batches through the
single writer (runs, events, tracks, alerts and clips stay). Where pruning is
on, a store volume short of room (its free bytes and the file's free pages
under ``store_room``, or a write refused: the store wakes retention) has its
oldest detection rows pruned first, whatever their age, in batches small
enough for what room is left and every ``ROOM_PRUNE_S`` until there is room:
on a full volume they are what makes room for events.
"""

import logging
import os
import re
import threading
import time
from collections import namedtuple

from dashcam import events as ev
from dashcam.errors import ConfigError
from dashcam.recording.index import PruneDetections, SegmentsDeleted, open_reader
from dashcam.recording.join import try_delete
from dashcam.store import (clipped_events, content_bytes, detections_before, free_page_bytes,
                           has_detections, segments_by_start)
from dashcam.timestamps import parse_iso
from dashcam.worker import Throttled, Worker

log = logging.getLogger(__name__)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}
SIZE_HELP = "bytes (500M, 32G, 1.5T) or a percentage of the volume (80%)"
PRUNE_ROWS = 5000   # detection rows per pruning batch: a short transaction for the writer
# The WAL a pruning batch takes, measured on a store of interleaved frames, events and
# tracks: about 40 KiB whatever the size (index and free-list pages) and 140-160 bytes a
# row. A batch on a store short of room must fit half the WAL's bound, with a margin.
PRUNE_WAL_FIXED = 64 * 1024
PRUNE_WAL_PER_ROW = 200
ROOM_PRUNE_S = 0.1   # between those batches while the store is short of room (not the full pass)
RECENT = 12         # segments (a minute of 5 s ones) whose largest is the room kept for the next


class Size(namedtuple("Size", "kind value")):
    """A bound: ``kind`` ``"percent"`` (of the volume) or ``"bytes"``; prints as it is written."""

    __slots__ = ()

    def __str__(self):
        if self.kind == "percent":
            return f"{self.value:g}%"
        for unit in "TGMK":
            if self.value and self.value % _UNITS[unit.lower()] == 0:
                return f"{self.value // _UNITS[unit.lower()]}{unit}"
        return str(self.value)


DEFAULT_QUOTA = Size("percent", 80.0)
DEFAULT_RESERVE = Size("bytes", 256 * 1024 ** 2)
NO_RESERVE = Size("bytes", 0)
SMALL_VOLUME_RESERVE = Size("percent", 10.0)   # the default reserve where 256M cannot be met


class Item(namedtuple("Item", "id path started_at ended_at bytes protected")):
    """A segment as retention sees it (times in UTC epoch seconds)."""

    __slots__ = ()


def parse_size(text):
    """A ``Size`` from ``80%``, ``500M``, ``32G``, ``1234``; ValueError otherwise."""
    text = text.strip()
    if text.endswith("%"):
        percent = float(text[:-1])
        if not 0 <= percent <= 100:
            raise ValueError(text)
        return Size("percent", percent)
    match = _SIZE.match(text)
    if not match:
        raise ValueError(text)
    return Size("bytes", int(float(match.group(1)) * _UNITS[match.group(2).lower()]))


def size_parser(allowed=SIZE_HELP):
    """``parse_size`` as a configuration value parser."""
    def parse(text):
        return parse_size(text)
    parse.allowed = allowed
    return parse


def to_bytes(size, volume_bytes):
    kind, value = size
    return int(value * volume_bytes / 100.0) if kind == "percent" else int(value)


class Bounds(namedtuple("Bounds", "quota reserve segment")):
    """Bytes: what the recordings folder may hold (``quota``), the free space to keep on its
    volume (``reserve``), and one segment (``segment``, from the bitrate): the segment
    being written must fit within both, and recording stops without room for two
    (``recorder.can_resume``)."""

    __slots__ = ()


class Plan(namedtuple("Plan", "doomed unmet")):
    """``doomed``: the ``Item``s to delete, in order; ``unmet``: ``(bound, bytes short)``
    for each bound (``quota``, ``reserve``, ``recording``) that deleting what it may take
    cannot meet, for which nothing was chosen."""

    __slots__ = ()


def plan(segments, used, free, bounds, now, max_age=0.0, busy=()):
    """What to delete now (module docstring): a ``Plan``.

    ``segments``: ``Item``s; ``used``: bytes the recordings folder holds; ``free``: the
    volume's free bytes; ``bounds``: ``Bounds``; ``max_age``: seconds after which
    unprotected segments go (0: none); ``busy``: paths that must not be deleted now.
    """
    candidates = sorted((s for s in segments if s.path not in busy), key=lambda s: s.started_at)
    doomed = [s for s in candidates if max_age and not s.protected and s.ended_at < now - max_age]
    chosen = {s.id for s in doomed}
    freed = sum(s.bytes for s in doomed)
    unmet = []
    for bound, short, protected_too in (
            ("quota", used + bounds.segment - bounds.quota, False),
            ("reserve", bounds.reserve + bounds.segment - free, False),
            ("recording", 2 * bounds.segment - free, True)):
        need = short - freed
        if need <= 0:
            continue
        # unprotected oldest first, then (for recording only) protected oldest first
        pool = sorted((s for s in candidates if s.id not in chosen
                       and (protected_too or not s.protected)), key=lambda s: bool(s.protected))
        if sum(s.bytes for s in pool) < need:
            unmet.append((bound, need))
            continue
        for s in pool:
            if need <= 0:
                break
            doomed.append(s)
            chosen.add(s.id)
            freed += s.bytes
            need -= s.bytes
    return Plan(doomed, unmet)


def check_bounds(total, quota, reserve, segment, where):
    """``(quota, reserve, warning or None)`` to use on a volume of ``total`` bytes.

    A bound that leaves less than two segments (of ``segment`` bytes) for recording
    cannot be met on this volume however much is deleted: the one a user set is a
    ``ConfigError`` naming it, the volume (``where``) and the fix; the default reserve
    becomes ``SMALL_VOLUME_RESERVE``, with a warning that gives the values in effect.
    """
    room = 2 * segment
    volume_text = "the recordings volume of {} holds {} in all".format(where, human(total))
    warnings = []
    if total - to_bytes(reserve, total) < room:
        if reserve != DEFAULT_RESERVE:
            raise ConfigError(
                "[recording] reserve = {} cannot be met: {}, and recording needs {} of it "
                "(two segments); set a smaller reserve, e.g. 10%".format(
                    reserve, volume_text, human(room)))
        reserve = SMALL_VOLUME_RESERVE
        warnings.append(
            "[recording] reserve: the default {} cannot be kept free on a volume this small "
            "({}): keeping {} ({}) free instead, with quota {} = {}; set [recording] reserve "
            "and quota to choose".format(DEFAULT_RESERVE, volume_text,
                                         human(to_bytes(reserve, total)), reserve, quota,
                                         human(to_bytes(quota, total))))
    if to_bytes(quota, total) < room:
        text = "[recording] quota = {} is {}: {}, and recording needs {} (two segments)".format(
            quota, human(to_bytes(quota, total)), volume_text, human(room))
        if quota != DEFAULT_QUOTA:
            raise ConfigError(text + "; raise it, or lower [recording] bitrate or segment-seconds")
        warnings.append(text + "; only the newest video is kept")
    return quota, reserve, "; ".join(warnings) or None


def human(size):
    """Bytes as mebibytes with one decimal, as the configuration writes them (``30.0M``)."""
    return f"{size / 1024.0 ** 2:.1f}M"


def folder_bytes(folder):
    """Bytes of the files under ``folder`` (segments, snapshots, quarantine)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass   # deleted meanwhile
    return total


def volume(folder):
    """(total bytes, free bytes) of ``folder``'s volume."""
    stats = os.statvfs(folder)
    return stats.f_blocks * stats.f_frsize, stats.f_bavail * stats.f_frsize


class RetentionWorker(Worker):
    """Applies ``plan`` to the recordings folder every ``interval`` seconds (10), and at
    once when woken (a segment closed, a full disk); prunes the store's detection rows.

    ``reader()`` opens a ``StoreReader`` (its own connection); deletions and pruning
    go through ``submit``. ``quota`` / ``reserve``: ``parse_size`` values (as
    ``check_bounds`` returns them); ``segment_bytes``: one segment's expected size (from
    the bitrate; the largest of the last ``RECENT`` segments where it is larger);
    ``max_age`` seconds (0: none); ``detections_max_age`` seconds and
    ``store_max_bytes`` (0: no bound); ``store_room``: bytes the store's volume keeps
    for it, free or in the file's free pages (0: none).
    """

    name = "retention"

    def __init__(self, folder, reader, submit, quota=DEFAULT_QUOTA,
                 reserve=NO_RESERVE, max_age=0.0, detections_max_age=0.0, store_max_bytes=0,
                 store_room=0, interval=10.0, wall_clock=time.time, measure=folder_bytes,
                 volume=volume, segment_bytes=0):
        Worker.__init__(self)
        self.folder, self.reader, self.submit = folder, reader, submit
        self.quota, self.reserve, self.max_age = quota, reserve, max_age
        self.segment_bytes = segment_bytes
        self.detections_max_age, self.store_max_bytes = detections_max_age, store_max_bytes
        self.store_room = store_room
        self.making_room = False   # the last pass pruned because the store was short of room
        self.interval, self.wall_clock = interval, wall_clock
        self.measure, self.volume = measure, volume
        self.deleted = self.deleted_bytes = self.protected_deleted = self.passes = 0
        self.pruned_batches = self.peak_bytes = 0
        self.unmet = {}   # bound -> passes that could not meet it
        self.report = Throttled(log)
        self._nudge = threading.Event()

    def wake(self):
        self._nudge.set()

    def run(self):
        with open_reader(self.reader, self.name) as reader:
            while not self.stopping:
                backlog = False
                try:
                    self.enforce(reader)
                    backlog = self.prune(reader)
                    while backlog and self.making_room and not self.stop_event.wait(ROOM_PRUNE_S):
                        backlog = self.prune(reader)   # small batches, often, until there is room
                except Exception:   # a bad pass must not end retention: the next one tries again
                    log.exception("retention pass failed")
                self._nudge.wait(1.0 if backlog else self.interval)
                self._nudge.clear()

    def bounds(self, total, items):
        """The ``Bounds`` on a volume of ``total`` bytes; ``items``: the segments, oldest first.
        Rate control holds the bitrate on average, not per segment (a busy scene runs
        over), so the segment to make room for is the largest recent one if larger."""
        segment = max([self.segment_bytes] + [i.bytes for i in items[-RECENT:]])
        return Bounds(to_bytes(self.quota, total), to_bytes(self.reserve, total), segment)

    def enforce(self, reader):
        """One pass over the recordings folder; returns the ``Item``s deleted."""
        self.passes += 1
        total, free = self.volume(self.folder)
        used = self.measure(self.folder)
        self.peak_bytes = max(self.peak_bytes, used)
        items = [Item(r["id"], r["path"], parse_iso(r["started_at"]), parse_iso(r["ended_at"]),
                      r["bytes"] or 0, r["protected"])
                 for r in segments_by_start(reader.db)]
        bounds = self.bounds(total, items)
        gone = [i for i in items if not os.path.exists(os.path.join(self.folder, i.path))]
        busy, deleted = set(), list(gone)
        while True:
            left = [i for i in items if i not in deleted]
            chosen = plan(left, used, free, bounds, self.wall_clock(), self.max_age, busy)
            for item in chosen.doomed:
                if try_delete(os.path.join(self.folder, item.path)):
                    deleted.append(item)
                    used, free = used - item.bytes, free + item.bytes
                else:
                    busy.add(item.path)   # being joined or exported: the plan is made again
            if not busy.intersection(i.path for i in chosen.doomed):
                break
        if deleted:
            self._record(reader, deleted, gone, free, bounds)
        for bound, short in chosen.unmet:
            self._unmet(bound, short, used, free, bounds, left)
        return deleted

    def _unmet(self, bound, short, used, free, bounds, items):
        """A bound deleting cannot meet: counted, and logged once a minute with the figures."""
        self.unmet[bound] = self.unmet.get(bound, 0) + 1
        protected = sum(i.bytes for i in items if i.protected)
        self.report(bound, logging.WARNING,
                    "retention: the %s bound is %s short and deleting %s video cannot meet it, "
                    "so nothing is deleted for it (recordings %s of quota %s; free %s, reserve "
                    "%s; protected clips %s, deleted only when recording would stop)", bound,
                    human(short), "unprotected" if bound != "recording" else "any",
                    human(used), human(bounds.quota), human(free), human(bounds.reserve),
                    human(protected))

    def _record(self, reader, deleted, gone, free, bounds):
        fresh = [i for i in deleted if i not in gone]
        protected = [i for i in fresh if i.protected]
        ids = [i.id for i in protected]
        events = clipped_events(reader.conn, ids)   # before their clip rows go
        self.submit(SegmentsDeleted([i.id for i in deleted]))
        self.deleted += len(fresh)
        self.deleted_bytes += sum(i.bytes for i in fresh)
        if protected:
            self.protected_deleted += len(protected)
            reason = ("recording would stop: {} free of the {} it needs (two segments), and no "
                      "unprotected video left to delete".format(
                          human(free - sum(i.bytes for i in fresh)), human(2 * bounds.segment)))
            log.error("retention deleted %d protected segments (clips of events %s), oldest "
                      "first: %s", len(protected), events, reason)
            self.submit(ev.protected_deleted(self.wall_clock(), [i.path for i in protected],
                                             events, reason))
        log.info("retention: deleted %d segments (%d bytes)", len(fresh),
                 sum(i.bytes for i in fresh))

    def prune(self, reader):
        """Submit one small pruning batch when detection rows are past a bound; True if so."""
        record = None
        self.making_room = bool(self.store_room and self._short_of_room(reader)
                                and has_detections(reader.conn))
        if self.making_room:
            rows = (self.store_room // 4 - PRUNE_WAL_FIXED) // PRUNE_WAL_PER_ROW
            record = PruneDetections(None, min(PRUNE_ROWS, max(100, rows)))
        if record is None and self.detections_max_age:
            before = self.wall_clock() - self.detections_max_age
            if detections_before(reader.conn, before):
                record = PruneDetections(before, PRUNE_ROWS)
        if record is None and self.store_max_bytes:
            if content_bytes(reader.conn) > self.store_max_bytes and has_detections(reader.conn):
                record = PruneDetections(None, PRUNE_ROWS)
        if record is not None and self.submit(record):
            self.pruned_batches += 1
            return True
        return False

    def _short_of_room(self, reader):
        """Whether the store's volume has less than ``store_room`` for it to grow into."""
        _, free = self.volume(os.path.dirname(os.path.abspath(reader.path)))
        return free + free_page_bytes(reader.conn) < self.store_room

    def summary(self):
        return {"deleted": self.deleted, "deleted_bytes": self.deleted_bytes,
                "protected_deleted": self.protected_deleted,
                "pruned_batches": self.pruned_batches, "passes": self.passes,
                "peak_bytes": self.peak_bytes,
                "quota": str(self.quota), "reserve": str(self.reserve),
                "unmet_passes": dict(self.unmet)}
