"""Snapshots: a JPEG of the frame an event is about, with its boxes drawn.

The frame is taken from the recording itself, not held in memory: once the
segment that covers the event's time is indexed (a few seconds later), the
frame nearest that time is decoded from it (``nearest_frame``), and the boxes of that
frame are the detection rows the store has for it (the event's own box
where the store keeps no detection rows). The JPEG goes to
``snapshots/run-NNNNNN/event-NNNNNNN.jpg`` under the recordings folder and its
path into ``events.snapshot`` through the single writer. This costs nothing
on the hot path, and an event of any type gets one by name (``[recording]
snapshots``).

The worker is an event subscriber, stopped after the event logger: the
events of a run's last moments are committed by the logger's last commit,
so their snapshots cannot be stored in that run (and a kill stops any
run). The next start repairs it before anything else (``repair``): a JPEG
on disk whose event has no snapshot is linked to it (one whose event is
gone is left alone), and the last run's wanted events with no JPEG at all
are taken from their segments, which are still there.
"""

import json
import logging
import os
import re
import time

import cv2

from dashcam import events as ev
from dashcam.draw import draw_detections, track_name
from dashcam.recording.index import SnapshotTaken, open_reader
from dashcam.recording.segments import SNAPSHOTS, run_folder
from dashcam.records import LABELS, Detection
from dashcam.store import (events_without_snapshot, frame_detections, run_ids, segment_after,
                           segment_covering, segment_ending_in, unsnapped_events)
from dashcam.timestamps import iso_utc, parse_iso
from dashcam.worker import QueueWorker

log = logging.getLogger(__name__)

# Events worth a picture by default: an object appearing is not (on a road it happens
# every few seconds, and retention deletes only video, so their JPEGs would pile up).
DEFAULT_SNAPSHOTS = "alert, camera_lost, impact, manual_lock"
LAST_FRAME_S = 2.0   # a segment that ended this long before an event may hold its last frame
_JPEG = re.compile(r"^event-(\d+)\.jpg$")


def wanted(types_text):
    """The set of event types that get a snapshot (``*``: None, every type)."""
    names = {t.strip() for t in types_text.split(",") if t.strip()}
    return None if "*" in names else names


def nearest_frame(path, offset_s):
    """The BGR frame of the segment file at ``path`` nearest ``offset_s`` seconds into
    it, or None when it has no frame. With PyAV the packets are read without decoding
    up to that time and only those from the keyframe before it are decoded (at most a
    keyframe interval; a seek in MPEG-TS is by byte estimate, and may land past the
    keyframe); without PyAV (Python 3.6) OpenCV decodes from the start."""
    try:
        import av
    except ImportError:
        return _nearest_by_opencv(path, offset_s)
    with av.open(path) as container:
        stream = container.streams.video[0]
        target = (stream.start_time or 0) + int(offset_s / stream.time_base)
        run = []   # packets from the last keyframe at or before the target
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            if packet.is_keyframe and packet.pts <= target:
                run = []
            run.append(packet)
            if packet.pts > target:
                break
        decoded = [f for p in run + [None] for f in stream.codec_context.decode(p)]
        if not decoded:
            return None
        best = min(decoded, key=lambda f: abs(f.pts - target))
        return best.to_ndarray(format="bgr24")


def _nearest_by_opencv(path, offset_s):
    capture = cv2.VideoCapture(path)
    try:
        best, best_gap = None, None
        while capture.grab():
            gap = abs(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 - offset_s)
            if best_gap is not None and gap > best_gap:
                break
            best_gap = gap
            ok, best = capture.retrieve()
        return best
    finally:
        capture.release()


class SnapshotWorker(QueueWorker):
    """Takes committed ``(event_id, event)`` pairs (an event subscriber) and writes snapshots.

    ``reader()`` opens a ``StoreReader``; ``types``: ``wanted(...)``; ``width``:
    the largest JPEG width in pixels (0: the recording's); ``wait_s``: how long to wait for
    the covering segment to be indexed before giving up (counted in ``missed``).
    """

    name = "snapshots"

    def __init__(self, folder, reader, submit, types=None, width=960, quality=85, wait_s=30.0,
                 queue_size=256, clock=time.monotonic):
        QueueWorker.__init__(self, queue_size, clock=clock)
        self.folder, self.reader, self.submit = folder, reader, submit
        self.types, self.width, self.quality, self.wait_s = types, width, quality, wait_s
        self.clock = clock
        self.written = self.missed = self.linked = self.retaken = 0
        self.pending = []   # (deadline, event_id, event)
        self.run_id = None  # this run's (``Recording.begin``): the run before it is repaired
        self._store = None

    def begin(self):
        self._store = open_reader(self.reader, self.name)
        self.repair()

    def repair(self):
        """Link the JPEGs on disk whose events have no snapshot; take again the wanted events
        of the run before this one (the newest run) that have none."""
        found = snapshot_files(self.folder)
        for event_id in sorted(events_without_snapshot(self._store.conn, found)):
            self.submit(SnapshotTaken(event_id, found[event_id]))
            self.linked += 1
        runs = run_ids(self._store.conn)
        if not runs:
            return
        # this run's id, not the newest row's: the logger may not have written it yet
        current = self.run_id if self.run_id is not None else max(runs)
        deadline = self.clock() + self.wait_s
        for row in unsnapped_events(self._store.db, current, self.types, self.queue.maxsize):
            if row["id"] not in found:
                self.pending.append((deadline, row["id"], _event(row)))
                self.retaken += 1
        if self.linked or self.retaken:
            log.info("snapshots: %d JPEGs linked to their events, %d events of the last run "
                     "to take again", self.linked, self.retaken)

    def consume(self, item):
        event_id, event = item
        if self.types is None or event.type in self.types:
            self.pending.append((self.clock() + self.wait_s, event_id, event))
        if len(self.pending) > self.queue.maxsize:   # bounded: the oldest give way
            self.missed += 1
            self.pending.pop(0)

    def next_tick(self, now):
        return 0.5 if self.pending else None

    def tick(self, now):
        left = []
        for entry in self.pending:   # a decode each: a stop asked for meanwhile ends the pass
            if self.stopping or not self._try(self._store, *entry):
                left.append(entry)
        self.pending = left

    def finish(self):
        # Stopped: what is left is skipped (a decode takes a while; the stop must not).
        self.missed += len(self.pending)
        self.pending = []
        self._store.close()

    def _try(self, reader, deadline, event_id, event):
        """Write the snapshot if its segment is indexed; True when done with it."""
        t = iso_utc(event.ts_start)
        segment = segment_covering(reader.db, t)
        if segment is None:
            # The event fell in a gap (a camera lost): once video after it exists, or the
            # wait is over, its frame is the last one before it.
            later = segment_after(reader.db, t)
            if later is not None or self.clock() >= deadline:
                segment = segment_ending_in(reader.db, iso_utc(event.ts_start - LAST_FRAME_S), t)
            else:
                return False
        if segment is None:
            self.missed += 1
            log.info("snapshot of event %d: no recorded segment covers %s", event_id, t)
            return True
        try:
            self._write(reader, event_id, event, segment)
        except (OSError, ValueError, cv2.error) as error:   # PyAV's are these too
            self.missed += 1
            log.warning("snapshot of event %d failed: %s", event_id, error)
        return True

    def _write(self, reader, event_id, event, segment):
        started = parse_iso(segment["started_at"])
        last = parse_iso(segment["ended_at"]) - started - 1e-3   # within its last frame
        image = nearest_frame(os.path.join(self.folder, segment["path"]),
                              min(event.ts_start - started, last))
        if image is None:
            raise OSError("no frame decoded from {}".format(segment["path"]))
        detections, names = self._boxes(reader, event)
        scale = 1.0
        if self.width and image.shape[1] > self.width:
            scale = self.width / float(image.shape[1])
            image = cv2.resize(image, (self.width, int(round(image.shape[0] * scale))),
                               interpolation=cv2.INTER_AREA)
        draw_detections(image, [d._replace(x1=d.x1 * scale, y1=d.y1 * scale, x2=d.x2 * scale,
                                           y2=d.y2 * scale) for d in detections], names)
        relative = "{}/{}/event-{:07d}.jpg".format(
            SNAPSHOTS, run_folder(segment["run_id"] or 0), event_id)
        full = os.path.join(self.folder, relative)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise OSError("JPEG encoding failed")
        with open(full + ".part", "wb") as handle:
            handle.write(data.tobytes())
        os.replace(full + ".part", full)
        self.submit(SnapshotTaken(event_id, relative))
        self.written += 1

    def _boxes(self, reader, event):
        """The frame's detections (and captions) from the store, else the event's own box."""
        rows = frame_detections(reader.db, iso_utc(event.ts_start))
        if rows:
            return ([Detection(LABELS.index(r["label"]) if r["label"] in LABELS else 0,
                               r["label"], r["confidence"], r["x1"], r["y1"], r["x2"], r["y2"])
                     for r in rows],
                    [track_name(r["label"], r["track_id"]) for r in rows])
        box = (event.data or {}).get("box") or (event.data or {}).get("best_box")
        if not box:
            return [], None
        label = event.label or event.type
        return [Detection(LABELS.index(label) if label in LABELS else 0, label,
                          (event.data or {}).get("confidence", 1.0), *box)], None


def snapshot_files(folder):
    """``{event_id: path}`` of the snapshot JPEGs under ``folder`` (paths relative to it)."""
    found = {}
    for root, _, names in os.walk(os.path.join(folder, SNAPSHOTS)):
        for name in names:
            match = _JPEG.match(name)
            if match:
                relative = os.path.relpath(os.path.join(root, name), folder)
                found[int(match.group(1))] = relative.replace(os.sep, "/")
    return found


def _event(row):
    """An ``events.Event`` from a store row (``unsnapped_events``)."""
    return ev.Event(row["type"], parse_iso(row["ts_start"]),
                    parse_iso(row["ts_end"]) if row["ts_end"] else None, row["label"],
                    row["track_id"], row["severity"], json.loads(row["data"]) if row["data"] else {})
