"""The preview: where it can show frames, how it draws them, and that it fails quietly."""

import os
import shutil

import cv2
import numpy as np
import pytest

from dashcam.errors import DashcamError
from dashcam.preview import PreviewWorker, build_preview
from dashcam.preview.worker import repeats
from dashcam.preview.sinks import VIDEO_EXTENSIONS, FfmpegSink, OpenCVFileSink, gui_available
from dashcam.records import Detection, Frame
from videos import read_back

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


@pytest.mark.parametrize("name", ["x.txt", "preview", "clip.webm", "notes.TXT"])
def test_a_file_name_no_writer_takes_is_refused_before_the_run(tmp_path, name):
    with pytest.raises(DashcamError) as error:
        build_preview(str(tmp_path / name))
    assert str(error.value) == "--preview {}: not a video file name; give one ending in .mp4, " \
                               ".mkv, .avi, .mov (or window)".format(tmp_path / name)
    assert build_preview(str(tmp_path / "UPPER.MP4")).sink.path.endswith("UPPER.MP4")


@pytest.mark.parametrize("writer", ["ffmpeg", "opencv"])
@pytest.mark.parametrize("extension", VIDEO_EXTENSIONS)
def test_every_name_the_preview_takes_is_written_by_both_writers(tmp_path, writer, extension):
    path = str(tmp_path / ("preview" + extension))
    if writer == "ffmpeg":
        if shutil.which("ffmpeg") is None:
            pytest.skip("no ffmpeg on PATH here")
        sink = FfmpegSink(path, 10.0, shutil.which("ffmpeg"))
    else:
        sink = OpenCVFileSink(path, 10.0)
    write_frames(sink)
    assert len(read_back(path)) == 5


def test_ffmpeg_dying_mid_run_stops_the_preview_and_leaves_the_reason(tmp_path):
    # a stand-in for an ffmpeg that fails after a few bytes (disk full, killed, bad codec):
    # a real process, a real pipe, a real EPIPE
    ffmpeg = tmp_path / "ffmpeg"
    ffmpeg.write_text("#!/bin/sh\nhead -c 1000 > /dev/null\nexit 3\n")
    os.chmod(str(ffmpeg), 0o755)
    path = str(tmp_path / "preview.mp4")
    worker = PreviewWorker(FfmpegSink(path, 10.0, str(ffmpeg)), width=960).start()
    # 960x540 BGR is 1.5 MB: more than a pipe holds, so the first write meets the exit
    worker.offer((Frame(0, np.zeros((544, 960, 3), np.uint8), 0.0, 0.0), [], []))
    assert worker.done.wait(10.0)
    assert worker.error_line == "ffmpeg stopped taking preview frames for {} (Broken pipe, exit " \
                                "status 3)".format(path)
    assert worker.sink.process is None   # closed, and ffmpeg reaped


class BrokenSink:
    """A display that goes away: every write fails."""

    description = "broken"
    fps = None

    def __init__(self):
        self.closed = False

    def write(self, image):
        raise OSError("display gone")

    def close(self):
        self.closed = True


def test_render_scales_boxes_and_a_broken_sink_only_ends_the_preview():
    worker = PreviewWorker(BrokenSink(), width=320)
    image = np.zeros((1080, 1920, 3), np.uint8)
    detection = Detection(0, "car", 0.9, 960.0, 540.0, 1200.0, 700.0)
    drawn = worker.render(Frame(0, image, 0.0, 0.0), [detection], [7])
    assert drawn.shape == (180, 320, 3) and drawn[:, 160:].any() and not image.any()
    worker.start()
    worker.offer((Frame(0, image, 0.0, 0.0), [detection], [7]))
    assert worker.done.wait(5.0)   # it stopped by itself, the run's summary says why
    assert worker.sink.closed and worker.shown == 0
    assert worker.error_line == "OSError: display gone"


def test_a_frame_scaled_on_the_vic_draws_its_boxes_where_the_camera_saw_them():
    worker = PreviewWorker(BrokenSink(), width=320)
    detection = Detection(0, "car", 0.9, 960.0, 540.0, 1200.0, 700.0)   # camera pixels
    full = worker.render(Frame(0, np.zeros((1080, 1920, 3), np.uint8), 0.0, 0.0), [detection], [7])
    scaled = Frame(0, np.zeros((544, 960, 3), np.uint8), 0.0, 0.0, None, (1920, 1080))
    assert np.array_equal(worker.render(scaled, [detection], [7]), full)


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


class RecordingSink:
    """A file-like sink that keeps what it is given (30 frames a second)."""

    description = "recorded"
    fps = 30.0

    def __init__(self):
        self.images = []

    def write(self, image):
        self.images.append(image)

    def close(self):
        pass


def test_a_file_preview_plays_in_real_time_whatever_the_processing_rate():
    worker = PreviewWorker(RecordingSink(), width=64)
    image = np.zeros((96, 160, 3), np.uint8)
    # 17 frames a second processed, then a one-second gap (camera lost), then bursts
    times = [i / 17.0 for i in range(17)] + [2.0, 2.01, 2.02, 2.1]
    for index, t in enumerate(times):
        worker.show(Frame(index, image, 100.0 + t, 0.0), [], [])
    # 2.1 s of capture at 30 fps: frames 0..63, each frame repeated until the next is due
    assert worker.written == len(worker.sink.images) == 64
    assert worker.early == 2 and worker.shown == len(times) - 2


@pytest.mark.parametrize("t, written, expected", [
    (0.0, 0, 1), (0.02, 1, 0), (0.034, 1, 1), (1.0, 1, 30), (0.5, 40, -24)])
def test_repeats_counts_the_frames_a_capture_time_stands_for(t, written, expected):
    assert repeats(0.0, t, 30.0, written) == expected
    assert repeats(0.0, t, None, written) == 1   # a window shows every frame once


def test_a_box_no_track_holds_is_captioned_with_its_label_alone():
    """Not "#None car": the detector's boxes that no track has taken yet are drawn too."""
    from dashcam.draw import draw_detections

    worker = PreviewWorker(RecordingSink(), width=320)
    image = np.zeros((180, 320, 3), np.uint8)
    tracked = Detection(0, "car", 0.9, 20.0, 60.0, 120.0, 140.0)
    untracked = Detection(1, "person", 0.6, 200.0, 60.0, 260.0, 170.0)
    drawn = worker.render(Frame(0, image, 0.0, 0.0), [tracked, untracked], [7, None])
    for names, same in ((["#7 car", "person"], True), (["#7 car", "#None person"], False)):
        expected = image.copy()
        draw_detections(expected, [tracked, untracked], names)
        # the status bar is drawn over the top 22 rows after the boxes
        assert np.array_equal(drawn[22:], expected[22:]) is same
