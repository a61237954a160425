"""See what it sees: frames with boxes, labels, track ids and the status line.

The preview runs on its own thread behind its own newest-wins slot: the
inference worker only offers it a frame (never waits), so a slow display or
encoder skips preview frames instead of slowing inference. It shows a window
where OpenCV has a GUI and a display exists, else writes a video file:
H.264 through an ``ffmpeg`` process when one is installed, else through
OpenCV's writer (``avc1``), else MPEG-4 Part 2 (``mp4v``, what the pip
wheel of OpenCV can write; a warning says so).
"""

import logging
import os
import re
import shutil
import subprocess

import cv2

from dashcam.capture import LatestFrame, SlotClosed
from dashcam.draw import draw_detections
from dashcam.errors import DashcamError
from dashcam.workers import Worker

log = logging.getLogger(__name__)

WINDOW = "window"
TITLE = "dashcam"


def gui_available(environ=None, build_information=None):
    """Whether a window can be shown: a display, and an OpenCV built with a GUI."""
    environ = os.environ if environ is None else environ
    if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return False
    info = build_information if build_information is not None else cv2.getBuildInformation()
    match = re.search(r"^\s*GUI:\s*(\S+)", info, re.MULTILINE)
    return bool(match) and match.group(1).upper() != "NONE"


class WindowSink(object):
    """An OpenCV window, shown from the preview thread."""

    description = "a window"

    def write(self, image):
        cv2.imshow(TITLE, image)
        cv2.waitKey(1)

    def close(self):
        cv2.destroyAllWindows()


class FfmpegSink(object):
    """Raw BGR frames piped to ``ffmpeg``, encoded to H.264 (libx264, yuv420p: plays anywhere)."""

    def __init__(self, path, fps, ffmpeg):
        self.path, self.fps, self.ffmpeg = path, fps, ffmpeg
        self.process = None
        self.description = "{} (H.264 by ffmpeg)".format(path)

    def write(self, image):
        if self.process is None:
            height, width = image.shape[:2]
            self.process = subprocess.Popen(
                [self.ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
                 "-s", "{}x{}".format(width, height), "-r", "{:g}".format(self.fps), "-i", "-",
                 "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", self.path],
                stdin=subprocess.PIPE)
        self.process.stdin.write(image.tobytes())

    def close(self):
        if self.process is not None:
            self.process.stdin.close()
            try:
                self.process.wait(5.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None


class OpenCVFileSink(object):
    """``cv2.VideoWriter``: H.264 (``avc1``) where this OpenCV can, else ``mp4v``."""

    FOURCCS = ("avc1", "mp4v")

    def __init__(self, path, fps):
        self.path, self.fps = path, fps
        self.writer = None
        self.description = path

    def write(self, image):
        if self.writer is None:
            self.writer = self._open(image.shape[1], image.shape[0])
        self.writer.write(image)

    def _open(self, width, height):
        for fourcc in self.FOURCCS:
            writer = cv2.VideoWriter(self.path, cv2.VideoWriter_fourcc(*fourcc), self.fps,
                                     (width, height))
            if writer.isOpened():
                self.description = "{} ({})".format(self.path, fourcc)
                if fourcc != "avc1":
                    log.warning("preview %s: this OpenCV cannot encode H.264 and no ffmpeg is "
                                "installed; writing MPEG-4 Part 2 (%s) instead", self.path, fourcc)
                return writer
            writer.release()
        raise DashcamError("cannot write preview video {}: OpenCV has no encoder for it; "
                           "install ffmpeg or give a .mp4 path".format(self.path))

    def close(self):
        if self.writer is not None:
            self.writer.release()
            self.writer = None


def file_sink(path, fps=30.0, ffmpeg=None):
    """The best file writer here for ``path``; ``ffmpeg`` defaults to the one on PATH."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise DashcamError("preview: folder {} does not exist; create it or give another "
                           "path".format(folder))
    ffmpeg = ffmpeg or shutil.which("ffmpeg")
    if ffmpeg:
        return FfmpegSink(path, fps, ffmpeg)
    return OpenCVFileSink(path, fps)


class PreviewWorker(Worker):
    """Draws offered frames at ``width`` pixels wide and writes them to ``sink``.

    ``status_text`` (set by the pipeline) is drawn at the top. ``shown`` counts
    frames written, ``skipped`` frames replaced before the preview got to them.
    """

    name = "preview"

    def __init__(self, sink, width=960):
        Worker.__init__(self)
        self.sink = sink
        self.width = width
        self.slot = LatestFrame()
        self.status_text = ""
        self.shown = 0

    @property
    def skipped(self):
        return self.slot.overwritten

    def offer(self, frame, detections, track_ids):
        """Called by the inference worker: never blocks."""
        self.slot.put((frame, detections, track_ids))

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
                try:
                    self.sink.write(self.render(*item))
                except Exception:  # a broken preview must not end the run: it goes dark
                    log.exception("preview %s failed; no more preview frames",
                                  self.sink.description)
                    break
                self.shown += 1
        finally:
            try:
                self.sink.close()
            except Exception:
                log.exception("preview %s: closing failed", self.sink.description)

    def render(self, frame, detections, track_ids):
        image = frame.image
        scale = self.width / float(image.shape[1])
        height = int(round(image.shape[0] * scale)) // 2 * 2  # even: yuv420p needs it
        image = cv2.resize(image, (self.width, height), interpolation=cv2.INTER_AREA)
        scaled = [d._replace(x1=d.x1 * scale, y1=d.y1 * scale, x2=d.x2 * scale, y2=d.y2 * scale)
                  for d in detections]
        names = ["#{} {}".format(t, d.label) for d, t in zip(detections, track_ids)]
        draw_detections(image, scaled, names)
        text = self.status_text or "frame {}".format(frame.index)
        cv2.rectangle(image, (0, 0), (image.shape[1], 22), (0, 0, 0), -1)
        cv2.putText(image, text[:160], (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                    (255, 255, 255), 1, cv2.LINE_AA)
        return image


def build_preview(target, width=960, fps=30.0):
    """A ``PreviewWorker`` for ``target``: ``"window"`` or a video file path.

    ``"window"`` without a display or GUI-less OpenCV is an error with the fix.
    """
    if target == WINDOW:
        if not gui_available():
            raise DashcamError("--preview window: no display here, or this OpenCV has no GUI "
                               "(the pip opencv-python-headless wheel); give a file instead, "
                               "e.g. --preview preview.mp4")
        return PreviewWorker(WindowSink(), width)
    return PreviewWorker(file_sink(target, fps), width)
