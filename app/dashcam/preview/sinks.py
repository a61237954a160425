"""Where preview frames go: a window, or a video file (ffmpeg's H.264, else OpenCV's writer).

A file sink has ``fps``: the worker writes it a constant-rate stream in which
each frame stands for the time it was on screen, so the file plays in real time.
"""

import logging
import os
import re
import shutil
import subprocess

import cv2

from dashcam.errors import DashcamError

log = logging.getLogger(__name__)

TITLE = "dashcam"
# The file names a preview can have: containers that take both writers' video, ffmpeg's
# H.264 (libx264) and OpenCV's (avc1, else mp4v, through its FFmpeg backend). Tried with
# ffmpeg 5.1 and OpenCV 5.1 (tests/test_preview.py writes each): .webm, .ogv and .gif take
# neither codec, .ts, .mpg and .flv not OpenCV's tags; .txt and the like no muxer at all.
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".avi", ".mov")


def gui_available(environ=None, build_information=None):
    """Whether a window can be shown: a display, and an OpenCV built with a GUI."""
    environ = os.environ if environ is None else environ
    if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return False
    info = build_information if build_information is not None else cv2.getBuildInformation()
    match = re.search(r"^\s*GUI:\s*(\S+)", info, re.MULTILINE)
    return bool(match) and match.group(1).upper() != "NONE"


class WindowSink:
    """An OpenCV window, shown from the preview thread."""

    description = "a window"
    fps = None  # shown as they come

    def write(self, image):
        cv2.imshow(TITLE, image)
        cv2.waitKey(1)

    def close(self):
        cv2.destroyAllWindows()


class FfmpegSink:
    """Raw BGR frames piped to ``ffmpeg``, encoded to H.264 (libx264, yuv420p: plays anywhere)."""

    def __init__(self, path, fps, ffmpeg):
        self.path, self.fps, self.ffmpeg = path, fps, ffmpeg
        self.process = None
        self.description = f"{path} (H.264 by ffmpeg)"

    def write(self, image):
        if self.process is None:
            height, width = image.shape[:2]
            self.process = subprocess.Popen(
                [self.ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
                 "-s", f"{width}x{height}", "-r", f"{self.fps:g}", "-i", "-",
                 "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", self.path],
                stdin=subprocess.PIPE)
        try:
            self.process.stdin.write(image.tobytes())
        except OSError as error:   # ffmpeg is gone: killed, or it failed (it said why on stderr)
            raise DashcamError("ffmpeg stopped taking preview frames for {} ({}, exit status {})"
                               .format(self.path, error.strerror or error, self._ended()))

    def _ended(self):
        """ffmpeg's exit status, once it has exited (killed if it lingers past 5 s)."""
        try:
            return self.process.wait(5.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def close(self):
        if self.process is not None:
            try:
                self.process.stdin.close()
            except OSError:
                pass   # ffmpeg died with frames in the pipe: write() said so
            self._ended()
            self.process = None


class OpenCVFileSink:
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
                self.description = f"{self.path} ({fourcc})"
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


def check_file(path):
    """A name no writer takes (``VIDEO_EXTENSIONS``), or a missing folder, is an error
    before the run, rather than on the first frame."""
    if os.path.splitext(path)[1].lower() not in VIDEO_EXTENSIONS:
        raise DashcamError("--preview {}: not a video file name; give one ending in {} (or "
                           "window)".format(path, ", ".join(VIDEO_EXTENSIONS)))
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise DashcamError("preview: folder {} does not exist; create it or give another "
                           "path".format(folder))


def file_sink(path, fps=30.0, ffmpeg=None):
    """The best file writer here for ``path`` (``check_file``); ``ffmpeg`` defaults to the
    one on PATH."""
    check_file(path)
    ffmpeg = ffmpeg or shutil.which("ffmpeg")
    if ffmpeg:
        return FfmpegSink(path, fps, ffmpeg)
    return OpenCVFileSink(path, fps)
