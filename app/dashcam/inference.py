"""The inference worker: newest frame -> detector -> tracker -> events, at batch 1.

It takes whatever frame is newest in the ``LatestFrame`` slot (never a
queue of stale ones), runs the detector (preprocess, backend, decode,
cluster), gives each detection a track id, turns track changes into events
and hands one ``FrameRecord`` to the event logger. A preview, if any, is
offered the frame through its own newest-wins slot, so it can never slow
this loop down.
"""

import logging
import time
from collections import namedtuple

from dashcam import events as ev
from dashcam.capture import SlotClosed
from dashcam.detector import Timings
from dashcam.status import Window
from dashcam.workers import Worker

log = logging.getLogger(__name__)


class FrameRecord(namedtuple("FrameRecord", "frame_index t_mono t_utc detections track_ids "
                                            "detect_s events tracks")):
    """What one frame produced: detections with their track ids, events, and track rows
    (``Track.as_row()`` snapshots with ``ended``) to write; ``detect_s`` is the detector's time."""

    __slots__ = ()


class Prepared(namedtuple("Prepared", "blob scale_x scale_y seconds")):
    """A network input made ahead: the blob, its frame-to-network scales, the seconds it took."""

    __slots__ = ()


class PreprocessAhead(object):
    """Preprocessing for the capture thread, into reused buffers, never one in use.

    At most two frames hold a buffer while the next is prepared (the one being
    inferred and the one waiting in the slot), so three ``preprocessors`` (the
    detector's ``Preprocessor``, one buffer each) always leave one free.
    """

    def __init__(self, preprocessors, clock=time.monotonic):
        self.preprocessors = list(preprocessors)
        self.clock = clock

    def __call__(self, image, held=()):
        """A ``Prepared`` input for ``image``, in a buffer that no frame in ``held`` uses."""
        busy = set(id(f.prepared.blob) for f in held if f.prepared is not None)
        preprocessor = next(p for p in self.preprocessors if id(p.blob) not in busy)
        started = self.clock()
        blob = preprocessor(image)
        return Prepared(blob, preprocessor.scale_x, preprocessor.scale_y, self.clock() - started)


class InferenceWorker(Worker):
    """Runs ``detector`` and ``tracker`` on frames from ``slot``; records go to ``output(record)``.

    ``on_frame(frame, detections, track_ids)``, if given, must not block (the preview's
    slot). Stage times (seconds) of recent frames are kept in ``preprocess``,
    ``infer``, ``postprocess``, ``tracking``.
    """

    name = "inference"

    def __init__(self, slot, detector, tracker, output, on_frame=None, clock=time.monotonic):
        Worker.__init__(self)
        self.slot = slot
        self.detector = detector
        self.tracker = tracker
        self.output = output
        self.on_frame = on_frame
        self.clock = clock
        self.processed = 0
        self.preprocess, self.infer = Window(), Window()
        self.postprocess, self.tracking = Window(), Window()

    def wake(self):
        self.slot.wake()

    def run(self):
        while not self.stopping:
            try:
                frame = self.slot.get(timeout=0.2)
            except SlotClosed:
                break
            if frame is not None:
                self.process(frame)

    def process(self, frame):
        prepared = frame.prepared
        if prepared is None:
            detections = self.detector.detect(frame.image)
            timings = self.detector.timings
            detect_s = sum(timings)
        else:
            started = self.clock()
            cov, bbox = self.detector.backend.infer(prepared.blob)
            inferred = self.clock()
            detections = self.detector.postprocess(cov, bbox, prepared.scale_x, prepared.scale_y)
            timings = Timings(prepared.seconds, inferred - started, self.clock() - inferred)
            # preprocessing happened before the frame's time stamp, not in its latency
            detect_s = timings.infer + timings.postprocess
        started = self.clock()
        update = self.tracker.update(detections, frame.t_mono, frame.t_utc)
        events = ev.events_from_tracks(update)
        tracks = [_row(t, False) for t in update.confirmed] + [_row(t, True) for t in update.ended]
        self.tracking.add(self.clock() - started)
        self.preprocess.add(timings.preprocess)
        self.infer.add(timings.infer)
        self.postprocess.add(timings.postprocess)
        self.output(FrameRecord(frame.index, frame.t_mono, frame.t_utc, detections,
                                update.track_ids, detect_s, events, tracks))
        self.processed += 1
        if self.on_frame is not None:
            self.on_frame(frame, detections, update.track_ids)

    def finish(self):
        """After the thread has stopped: end every track, hand over their object_left events."""
        ended = self.tracker.flush()
        if ended:
            self.output(FrameRecord(None, self.clock(), None, [], [], 0.0,
                                    [ev.object_left(t) for t in ended],
                                    [_row(t, True) for t in ended]))
        return ended

    @property
    def active_tracks(self):
        return sum(1 for t in self.tracker.tracks if t.confirmed)


def _row(track, ended):
    row = track.as_row()
    row["ended"] = ended
    return row
