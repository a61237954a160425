"""The inference worker: newest frame -> detector -> tracker -> events, at batch 1.

It takes whatever frame is newest in the ``LatestFrame`` slot (never a
queue of stale ones), runs the detector (preprocess, backend, decode,
cluster), gives each detection a track id, turns track changes into events
and hands one ``FrameRecord`` to the store's writer and, at the same moment,
to its subscribers (alert rules, which must not wait for a commit). A
preview, if any, is offered the frame through its own newest-wins slot, so
neither can slow this loop down.
"""

import logging
import time

from dashcam import events as ev
from dashcam.metrics import Window
from dashcam.records import FrameRecord, Prepared
from dashcam.slot import SlotClosed
from dashcam.worker import Worker

log = logging.getLogger(__name__)


class PreprocessAhead:
    """Preprocessing for the capture thread, into reused buffers, never one in use.

    At most two frames hold a buffer while the next is prepared (the one being
    inferred and the one waiting in the slot), so ``count`` 3 preprocessors
    from ``make_preprocessor()`` (the detector's ``new_preprocessor``, one
    buffer each) always leave one free.
    """

    def __init__(self, make_preprocessor, count=3, clock=time.monotonic):
        self.preprocessors = [make_preprocessor() for _ in range(count)]
        self.clock = clock

    def __call__(self, image, held=(), size=None):
        """A ``Prepared`` input for ``image``, in a buffer that no frame in ``held`` uses;
        ``size``: the frame's own size when ``image`` is a scaled copy (``Frame.size``)."""
        busy = {id(f.prepared.blob) for f in held if f.prepared is not None}
        preprocessor = next(p for p in self.preprocessors if id(p.blob) not in busy)
        started = self.clock()
        blob = preprocessor(image, size)
        return Prepared(blob, preprocessor.scale_x, preprocessor.scale_y, self.clock() - started)


class InferenceWorker(Worker):
    """Runs ``detector`` and ``tracker`` on frames from ``slot``; records go to ``output(record)``.

    ``publish(record)`` and ``on_frame((frame, detections, track_ids))``, if
    given, must not block (``FanOut``s: of subscribers; of previews, each with its slot).
    Stage times (seconds) of recent frames are kept in ``preprocess``,
    ``infer``, ``postprocess``, ``tracking``.
    """

    name = "inference"

    def __init__(self, slot, detector, tracker, output, publish=None, on_frame=None,
                 clock=time.monotonic, rate=None):
        Worker.__init__(self)
        self.slot = slot
        self.detector = detector
        self.tracker = tracker
        self.output = output
        self.publish = publish
        self.on_frame = on_frame
        self.clock = clock
        self.rate = rate
        self.processed = 0
        self.skipped = 0     # frames taken that ``rate`` (a ``rate.FrameRate``) let go
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
            if frame is None:
                continue
            if self.rate is None or self.rate.take(frame.t_mono):
                self.process(frame)
            else:
                self.skipped += 1

    def process(self, frame):
        if frame.prepared is None:
            detections = self.detector.detect(frame.image, frame.size)
            timings = self.detector.timings
            detect_s = sum(timings)
        else:
            detections = self.detector.detect_prepared(frame.prepared)
            timings = self.detector.timings
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
        self._emit(FrameRecord(frame.index, frame.t_mono, frame.t_utc, detections,
                               update.track_ids, detect_s, events, tracks, frame.frame_size))
        self.processed += 1
        if self.on_frame is not None:
            self.on_frame((frame, detections, update.track_ids))

    def _emit(self, record):
        if self.publish is not None:
            self.publish(record)
        self.output(record)

    def finish(self):
        """After the thread has stopped: end every track, hand over their object_left events."""
        ended = self.tracker.flush()
        if ended:
            self._emit(FrameRecord(None, self.clock(), None, [], [], 0.0,
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
