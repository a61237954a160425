"""Segments on disk: their names, the records that index them, and recovery after a crash.

A segment is one MPEG-TS file of a few seconds that starts on a keyframe, in
a folder per run under the recordings folder::

    run-000012/20240501T123456.789Z.ts     (software encoder: named by its first frame's UTC time)
    run-000012/gst-0001-00003.ts           (GStreamer's splitmuxsink: opening, then index)

Paths in the store are relative to the recordings folder. A segment is indexed
(a ``SegmentClosed`` record through the store's single writer) once it is
closed; a file that a crash or power cut left unindexed is recovered at the
next start (``recover``): indexed up to its last whole frame if it is
readable, otherwise moved to ``quarantine/`` (never deleted), each with an
event. Nothing is cut without being kept: the bytes after the last whole
frame go to ``quarantine/`` (``PATH.cut-at-OFFSET``) before the file is
truncated, so the original is that file's bytes up to OFFSET and these after.
"""

import datetime
import logging
import os
import re
import shutil
from collections import namedtuple

from dashcam import events as ev
from dashcam.recording.tsprobe import probe

log = logging.getLogger(__name__)

SUFFIX = ".ts"
QUARANTINE = "quarantine"
SNAPSHOTS = "snapshots"
_RUN_DIR = re.compile(r"^run-(\d+)$")
_TIME_NAME = re.compile(r"^(\d{8}T\d{6})\.(\d{3})Z$")
_EPOCH = datetime.datetime(1970, 1, 1)


class SegmentClosed(namedtuple("SegmentClosed", "path run_id started_at ended_at frames bytes "
                                                "width height encoder recovered")):
    """A closed segment to index: ``path`` relative to the recordings folder, times in UTC
    epoch seconds (``ended_at``: its last frame's time plus one frame interval)."""

    __slots__ = ()

    @property
    def seconds(self):
        return self.ended_at - self.started_at


def run_folder(run_id):
    return f"run-{int(run_id):06d}"


def segment_name(run_id, t_utc):
    """The relative path of a segment of run ``run_id`` whose first frame is at ``t_utc``."""
    moment = _EPOCH + datetime.timedelta(milliseconds=int(t_utc * 1000))
    return "{}/{}.{:03d}Z{}".format(run_folder(run_id), moment.strftime("%Y%m%dT%H%M%S"),
                                    moment.microsecond // 1000, SUFFIX)


def name_time(path):
    """The UTC epoch seconds in a segment's name (``segment_name``), or None."""
    match = _TIME_NAME.match(os.path.basename(path)[:-len(SUFFIX)])
    if not match:
        return None
    moment = datetime.datetime.strptime(match.group(1), "%Y%m%dT%H%M%S")
    return (moment - _EPOCH).total_seconds() + int(match.group(2)) / 1000.0


def run_of(path):
    """The run id in a segment's relative path (``run-000012/...``), or None."""
    match = _RUN_DIR.match(path.replace(os.sep, "/").split("/")[0])
    return int(match.group(1)) if match else None


def last_run(folder):
    """The highest run id among ``folder``'s run folders (0: none): a run whose row never
    reached the store (full from start to stop) left video under it all the same."""
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    return max([int(m.group(1)) for m in map(_RUN_DIR.match, names) if m] or [0])


def segment_files(folder, skip=()):
    """Relative paths of the ``.ts`` files under ``folder``, sorted, except under
    ``quarantine/`` and the relative folders in ``skip``."""
    found = []
    for root, dirs, files in os.walk(folder):
        rel_root = os.path.relpath(root, folder)
        if rel_root == ".":
            dirs[:] = [d for d in dirs if d not in (QUARANTINE, SNAPSHOTS) and d not in skip]
        found.extend(os.path.normpath(os.path.join(rel_root, name)) for name in files
                     if name.endswith(SUFFIX))
    return sorted(p.replace(os.sep, "/") for p in found)


def closed_from_file(folder, path, run_id, encoder, ended_hint=None, recovered=False):
    """A ``SegmentClosed`` for a complete file that a muxer closed (GStreamer's), from its
    packets; None when it holds no frame. Its start is the time in its name, else
    ``ended_hint`` (or the file's modification time) less its duration."""
    full = os.path.join(folder, path)
    found = probe(full)
    if not found.readable:
        return None
    seconds = found.duration()
    started = name_time(path)
    if started is None:
        started = (ended_hint or os.path.getmtime(full)) - seconds
    return SegmentClosed(path, run_id, started, started + seconds, found.frames,
                         os.path.getsize(full), None, None, encoder, recovered)


def recover(folder, indexed, known_runs, now, skip=()):
    """Deal with the segment files under ``folder`` that the index lacks (a crash or a
    power cut left them): returns ``(records, events)`` to submit (see ``recover_file``).

    ``indexed``: relative paths already in the index; ``known_runs``: run ids in
    the store (a file of another run is indexed without one); ``skip``: relative
    folders to leave alone (this run's).
    """
    records, events = [], []
    for path in segment_files(folder, skip):
        if path not in indexed:
            try:
                record, event = recover_file(folder, path, known_runs, now)
            except OSError as error:   # a full volume: nothing cut, tried at the next start
                log.error("recording %s: not recovered now (%s); left as it is", path,
                          error.strerror or error)
                continue
            records.extend([record] if record else [])
            events.append(event)
    return records, events


def recover_file(folder, path, known_runs, now):
    """``(SegmentClosed or None, event)`` for an unindexed file, which may end anywhere.

    A readable file is cut after its last whole frame (the frame being written
    may be partial), the cut bytes kept first (``keep_tail``), and indexed as
    ``recovered``; one with no whole frame is moved to ``quarantine/`` under the
    same relative path. OSError (a full volume) leaves the file as it was.
    """
    full = os.path.join(folder, path)
    try:
        found = probe(full)
    except OSError as error:
        found, reason = None, f"unreadable: {error}"
    else:
        reason = f"no whole frame in {os.path.getsize(full)} bytes"
    if found is None or found.good_frames < 1:
        return None, _quarantine(folder, path, reason, now)
    size = os.path.getsize(full)
    kept = None
    if found.good_end < size:
        kept = keep_tail(folder, path, found.good_end)
        with open(full, "r+b") as handle:
            handle.truncate(found.good_end)
            os.fsync(handle.fileno())
    seconds = found.duration(found.good_frames)
    started = name_time(path)
    if started is None:
        started = os.path.getmtime(full) - seconds
    run_id = run_of(path)
    log.warning("recording %s: not closed (a crash, a kill or a full disk), indexed up to its "
                "last whole frame (%d frames; %d bytes cut, kept in %s)", path,
                found.good_frames, size - found.good_end, kept)
    return (SegmentClosed(path, run_id if run_id in known_runs else None, started,
                          started + seconds, found.good_frames, found.good_end, None, None,
                          None, True),
            ev.segment_recovered(now, path, found.good_frames, size - found.good_end, kept))


def keep_tail(folder, path, offset):
    """Copy the bytes of ``path`` from ``offset`` on into ``quarantine/`` (synced) before they
    are cut; the copy's path relative to ``folder``."""
    target = "{}/{}.cut-at-{}".format(QUARANTINE, path, offset)
    full_target = os.path.join(folder, target)
    os.makedirs(os.path.dirname(full_target), exist_ok=True)
    try:
        with open(os.path.join(folder, path), "rb") as source, open(full_target, "wb") as copy:
            source.seek(offset)
            shutil.copyfileobj(source, copy)
            copy.flush()
            os.fsync(copy.fileno())
    except OSError:
        if os.path.exists(full_target):
            os.remove(full_target)   # half a copy keeps nothing: the file stays uncut
        raise
    return target


def _quarantine(folder, path, reason, now):
    target = os.path.join(QUARANTINE, path)
    full_target = os.path.join(folder, target)
    os.makedirs(os.path.dirname(full_target), exist_ok=True)
    shutil.move(os.path.join(folder, path), full_target)
    log.warning("recording %s: %s; moved to %s", path, reason, target)
    return ev.segment_quarantined(now, path, target.replace(os.sep, "/"), reason)
