"""What recording writes to the store, as kind writers on its single writer (``register``).

Segments, the clip links that protect them, deletions, snapshots and the
pruning of old detection rows are records submitted to the event logger like
any other, so they land in the store's one transaction per batch, in order.

Clip links are resolved here, inside the writer, where the order of things is
certain: a ``ClipRequest`` (an event's window) links the segments already
indexed that overlap it, and keeps the window while later segments may still
fall in it (an open event, or the post-roll to come); each ``SegmentClosed``
is linked to every kept window it overlaps. The rows are written by
``store.segments`` and ``store.clips``, idempotently, so a batch that the
logger retries after a full disk links the same rows again. Windows live only
in this process: a segment of a later run is never linked to an event of a
crashed one.
"""

from collections import namedtuple

from dashcam.errors import RecordingError
from dashcam.recording.segments import SegmentClosed
from dashcam.store import (add_segment, link_segment, link_window, write_detection_pruning,
                           write_segment_deletions, write_snapshot_paths)
from dashcam.timestamps import iso_utc

KEEP_WINDOW_S = 3600.0   # a closed window is forgotten this long after the newest segment passed it


class ClipRequest(namedtuple("ClipRequest", "event_id window_start window_end")):
    """Protect what covers [``window_start``, ``window_end``] (UTC epoch seconds; end
    None while the event is open) for event ``event_id``; sent again when it closes."""

    __slots__ = ()


class SegmentsDeleted(namedtuple("SegmentsDeleted", "ids")):
    """Retention deleted these segments' files: their rows (and clip links) go."""

    __slots__ = ()


class SnapshotTaken(namedtuple("SnapshotTaken", "event_id path")):
    """Event ``event_id``'s snapshot JPEG, relative to the recordings folder."""

    __slots__ = ()


class PruneDetections(namedtuple("PruneDetections", "before limit")):
    """Delete at most ``limit`` detection rows stamped before ``before`` (UTC epoch
    seconds; None: the oldest rows, whatever their age)."""

    __slots__ = ()


class RecordingIndex:
    """The kind writers, with the clip windows that later segments may still fall in."""

    def __init__(self):
        self.windows = {}   # event_id -> (start ISO, end ISO or None)

    def register(self, store):
        store.register(SegmentClosed, self.segments)
        store.register(ClipRequest, self.requests)
        store.register(SegmentsDeleted, write_segment_deletions, makes_room=True)
        store.register(SnapshotTaken, write_snapshot_paths)
        store.register(PruneDetections, write_detection_pruning, makes_room=True)
        return self

    def segments(self, batch, run_id, records):
        for s in records:
            started, ended = iso_utc(s.started_at), iso_utc(s.ended_at)
            segment_id = add_segment(batch.conn, s, batch.stamp(s.started_at))
            linked = [(event_id, segment_id, start, end)
                      for event_id, (start, end) in self.windows.items()
                      if start < ended and (end is None or end > started)]
            if linked:
                link_segment(batch.conn, segment_id, linked)
            batch.rows["segments"] += 1
            forget = iso_utc(s.started_at - KEEP_WINDOW_S)
            for event_id in [e for e, (_, end) in self.windows.items() if end and end < forget]:
                del self.windows[event_id]

    def requests(self, batch, run_id, records):
        for r in records:
            start = iso_utc(r.window_start)
            end = iso_utc(r.window_end) if r.window_end is not None else None
            link_window(batch.conn, r.event_id, start, end)
            self.windows[r.event_id] = (start, end)
            batch.rows["clip_requests"] += 1


def open_reader(opener, who):
    """``opener()`` (a ``StoreReader``). A recording worker that cannot read the store has
    nothing to do: it fails with a ``RecordingError`` that names it, which ends its thread
    with that error, so the pipeline, the run summary and ``doctor`` say so."""
    try:
        return opener()
    except Exception as error:
        raise RecordingError(f"{who} cannot read the store: {error}; the run goes on without "
                             f"{who}")
