"""The preview: where it can show frames, how it draws them, and that it fails quietly."""

import shutil

import cv2
import numpy as np
import pytest

from dashcam.capture import Frame
from dashcam.detection import Detection
from dashcam.errors import DashcamError
from videos import read_back
from dashcam.preview import (FfmpegSink, OpenCVFileSink, PreviewWorker, build_preview,
                             gui_available)

GUI_BUILD = "  GUI:                           GTK3\n"
HEADLESS_BUILD = "  GUI:                           NONE\n"


def test_a_window_needs_a_display_and_an_opencv_with_a_gui():
    assert gui_available({"DISPLAY": ":0"}, GUI_BUILD)
    assert not gui_available({}, GUI_BUILD)
    assert not gui_available({"DISPLAY": ":0"}, HEADLESS_BUILD)
    if not gui_available():
        with pytest.raises(DashcamError, match="--preview preview.mp4"):
            build_preview("window")


def test_a_missing_folder_is_refused_before_the_run(tmp_path):
    with pytest.raises(DashcamError, match="does not exist"):
        build_preview(str(tmp_path / "no" / "preview.mp4"))


class BrokenSink(object):
    """A display that goes away: every write fails."""

    description = "broken"

    def __init__(self):
        self.closed = False

    def write(self, image):
        raise IOError("display gone")

    def close(self):
        self.closed = True


def test_render_scales_boxes_and_a_broken_sink_only_ends_the_preview():
    worker = PreviewWorker(BrokenSink(), width=320)
    image = np.zeros((1080, 1920, 3), np.uint8)
    detection = Detection(0, "car", 0.9, 960.0, 540.0, 1200.0, 700.0)
    drawn = worker.render(Frame(0, image, 0.0, 0.0), [detection], [7])
    assert drawn.shape == (180, 320, 3) and drawn[:, 160:].any() and not image.any()
    worker.start()
    worker.offer(Frame(0, image, 0.0, 0.0), [detection], [7])
    assert worker.done.wait(5.0)   # it stopped by itself, without an error for the run
    assert worker.error is None and worker.sink.closed and worker.shown == 0


def write_frames(sink, count=5):
    for i in range(count):
        sink.write(np.full((96, 128, 3), 40 * i, np.uint8))
    sink.close()


def test_opencv_writer_gives_a_readable_file(tmp_path):
    path = str(tmp_path / "preview.mp4")
    sink = OpenCVFileSink(path, fps=10.0)
    write_frames(sink)
    frames = read_back(path)
    assert len(frames) == 5 and frames[0].shape == (96, 128, 3)
    assert sink.description.endswith(("(avc1)", "(mp4v)"))


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="no ffmpeg on PATH here")
def test_ffmpeg_writes_h264(tmp_path):
    path = str(tmp_path / "preview.mp4")
    write_frames(FfmpegSink(path, 10.0, shutil.which("ffmpeg")))
    capture = cv2.VideoCapture(path)
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC))
    capture.release()
    assert "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)) in ("avc1", "h264", "H264")
    assert len(read_back(path)) == 5
