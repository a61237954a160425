"""The preview thread: frames with boxes, labels, track ids and the status line.

It runs behind its own newest-wins slot: the inference worker only offers it a
frame (never waits), so a slow display or encoder skips preview frames
instead of slowing inference.
"""

import logging
import math

import cv2

from dashcam.draw import draw_detections, track_name
from dashcam.slot import LatestFrame, SlotClosed
from dashcam.worker import Worker

log = logging.getLogger(__name__)


class PreviewWorker(Worker):
    """Draws offered frames at ``width`` pixels wide and writes them to ``sink``.

    ``status_text`` (set by the pipeline) is drawn at the top. ``shown`` counts
    frames drawn, ``written`` the frames the sink got (a file sink gets a frame
    once per ``1 / sink.fps`` s it stood on screen), ``early`` frames that came
    before their turn in that rate (not drawn), ``skipped`` frames replaced
    before the preview got to them. A sink that fails (ffmpeg died, the display
    went) ends the thread with that ``error``: the run goes on without a preview.
    """

    name = "preview"

    def __init__(self, sink, width=960):
        Worker.__init__(self)
        self.sink = sink
        self.width = width
        self.slot = LatestFrame()
        self.status_text = ""
        self.shown = self.written = self.early = 0
        self._t0 = None

    @property
    def skipped(self):
        return self.slot.overwritten

    def offer(self, view):
        """``(frame, detections, track_ids)`` from the inference worker: never blocks."""
        self.slot.put(view)

    def wake(self):
        self.slot.close()

    def run(self):
        try:
            while not self.stopping:
                try:
                    item = self.slot.get(timeout=0.2)
                except SlotClosed:
                    break
                if item is None:
                    continue
                # A broken preview goes dark: its error ends this thread, which the
                # pipeline reports (worker_failed, the summary) while the run goes on.
                self.show(*item)
        finally:
            try:
                self.sink.close()
            except Exception:
                log.exception("preview %s: closing failed", self.sink.description)

    def show(self, frame, detections, track_ids):
        """Draw one frame and write it as often as its time on screen asks (see ``repeats``)."""
        if self._t0 is None:
            self._t0 = frame.t_mono
        copies = repeats(self._t0, frame.t_mono, self.sink.fps, self.written)
        if copies <= 0:
            self.early += 1   # it came before its turn in a file's constant frame rate
            return
        image = self.render(frame, detections, track_ids)
        for _ in range(copies):
            self.sink.write(image)
            self.written += 1
        self.shown += 1

    def render(self, frame, detections, track_ids):
        """The frame at ``width``, with its boxes (measured in ``frame.frame_size``)."""
        image = frame.image
        scale = self.width / float(image.shape[1])
        height = int(round(image.shape[0] * scale)) // 2 * 2  # even: yuv420p needs it
        image = cv2.resize(image, (self.width, height), interpolation=cv2.INTER_AREA)
        sx, sy = self.width / float(frame.frame_size[0]), height / float(frame.frame_size[1])
        scaled = [d._replace(x1=d.x1 * sx, y1=d.y1 * sy, x2=d.x2 * sx, y2=d.y2 * sy)
                  for d in detections]
        names = [track_name(d.label, t) for d, t in zip(detections, track_ids)]
        draw_detections(image, scaled, names)
        text = self.status_text or f"frame {frame.index}"
        cv2.rectangle(image, (0, 0), (image.shape[1], 22), (0, 0, 0), -1)
        cv2.putText(image, text[:160], (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                    (255, 255, 255), 1, cv2.LINE_AA)
        return image


def repeats(t0, t, fps, written):
    """How many times a frame captured at ``t`` goes into a stream of ``fps`` frames a
    second that began at ``t0`` and has ``written`` frames: enough to reach its time
    (0: it is early, skip it). ``fps`` None (a window): once."""
    if fps is None:
        return 1
    return int(math.floor((t - t0) * fps + 1e-6)) + 1 - written
