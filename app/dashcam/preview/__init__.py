"""See what it sees: a window where there is a display, else a video file.

The preview shows a window where OpenCV has a GUI and a display exists, else
writes a video file: H.264 through an ``ffmpeg`` process when one is
installed, else through OpenCV's writer (``avc1``), else MPEG-4 Part 2
(``mp4v``, what the pip wheel of OpenCV can write; a warning says so).
"""

from dashcam.errors import DashcamError
from dashcam.preview.sinks import WindowSink, check_file, file_sink, gui_available
from dashcam.preview.worker import PreviewWorker

WINDOW = "window"


def check_target(target):
    """Whether ``target`` (``"window"`` or a video file path) can be shown here: an error with
    the fix if not (no display or a GUI-less OpenCV; a name no writer takes; no folder)."""
    if target != WINDOW:
        check_file(target)
    elif not gui_available():
        raise DashcamError("--preview window: no display here, or this OpenCV has no GUI "
                           "(the pip opencv-python-headless wheel); give a file instead, "
                           "e.g. --preview preview.mp4")


def build_preview(target, width=960, fps=30.0):
    """A ``PreviewWorker`` for ``target``: ``"window"`` or a video file path (``check_target``)."""
    check_target(target)
    return PreviewWorker(WindowSink() if target == WINDOW else file_sink(target, fps), width)
