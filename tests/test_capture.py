"""Capture: sources by URI, the newest-frame slot, pacing, reopening with backoff.

Real parts: the synthetic source, video files written here with OpenCV, the
real ``CaptureWorker`` thread. ``FlakyOpener`` is a stand-in for a camera that
is absent at first and later unplugged: it wraps a real source and fails on
purpose, because no camera is attached to the test machine.
"""

import os
import shutil
import socket
import tempfile
import threading

import cv2
import numpy as np
import pytest

from dashcam import events as ev
from dashcam.capture.argus import diagnose_for, socket_problem
from dashcam.capture.sources import (OpenCVSource, check_source, csi_pipeline, gstreamer_available,
                                     open_source, oriented, require_gstreamer, split_query)
from dashcam.capture.worker import CaptureWorker, backoff_delay, pacing_delay
from dashcam.errors import SourceError
from dashcam.records import Frame
from dashcam.slot import LatestFrame, SlotClosed
from videos import write_video


def frame(index):
    return Frame(index, None, float(index), 1000.0 + index)


def test_latest_frame_keeps_the_newest_and_counts_what_it_overwrote():
    slot = LatestFrame()
    assert slot.get(timeout=0.0) is None
    for i in range(3):
        slot.put(frame(i))
    assert slot.get(timeout=0.0).index == 2
    assert (slot.puts, slot.overwritten, slot.taken) == (3, 2, 1)
    slot.put(frame(3))
    assert [f.index for f in slot.held()] == [3, 2]   # waiting, and last taken
    slot.close()
    assert slot.get(timeout=0.0).index == 3  # the last frame is still delivered
    with pytest.raises(SlotClosed):
        slot.get(timeout=0.0)


def test_wait_free_waits_for_the_taker_or_gives_up_when_cancelled():
    slot, cancel = LatestFrame(), threading.Event()
    assert slot.wait_free(cancel)
    slot.put(frame(0))
    cancel.set()
    assert not slot.wait_free(cancel, poll=0.01)
    assert slot.get(timeout=0.0).index == 0 and slot.overwritten == 0
    slot.close()
    cancel.clear()
    assert slot.wait_free(cancel)


def test_backoff_doubles_up_to_ten_seconds_and_pacing_never_bursts():
    assert [backoff_delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [0.5, 1, 2, 4, 8, 10, 10]
    assert backoff_delay(30, base=1.0, cap=60.0) == 60.0
    assert pacing_delay(started=0.0, frames_done=3, fps=10.0, now=0.25) == pytest.approx(0.05)
    assert pacing_delay(0.0, 3, 10.0, now=0.32) == 0.0     # a little late: go now
    assert pacing_delay(0.0, 3, 10.0, now=0.5) is None      # far behind: restart the schedule


def test_csi_needs_gstreamer_and_says_how_to_get_it():
    pipeline = csi_pipeline(1, 1920, 1080, 30, flip=2)
    assert pipeline.startswith("nvarguscamerasrc sensor-id=1 !")
    assert "framerate=(fraction)30/1" in pipeline and "flip-method=2" in pipeline
    assert pipeline.endswith("appsink drop=true max-buffers=1 sync=false")
    scaled = csi_pipeline(0, 1920, 1080, 30, scale_to=(960, 544))
    assert "nvvidconv ! video/x-raw, width=(int)960, height=(int)544, format=(string)BGRx" in scaled
    assert "flip-method" not in scaled and oriented(1920, 1080, 3) == (1080, 1920)
    assert gstreamer_available("  Video I/O:\n    GStreamer:                   YES (1.16.3)\n")
    assert not gstreamer_available("  Video I/O:\n    GStreamer:                   NO\n")
    with pytest.raises(SourceError, match="without GStreamer.*JetPack's OpenCV.*pip uninstall"):
        require_gstreamer("csi://0", "GStreamer: NO")
    if not gstreamer_available():  # the pip wheel here: the real check fails the same way
        with pytest.raises(SourceError, match="without GStreamer"):
            check_source("csi://0")


def test_unknown_or_missing_sources_fail_before_the_run(tmp_path):
    with pytest.raises(SourceError, match="unknown source"):
        check_source("ftp://camera")
    with pytest.raises(SourceError, match="video file not found"):
        check_source(str(tmp_path / "none.mp4") + "?realtime=0")
    with pytest.raises(SourceError, match="unknown key"):
        check_source("synthetic://?seed=1&colour=red")
    assert split_query("clip.mp4?realtime=0") == ("clip.mp4", {"realtime": "0"})


def test_file_source_reads_every_frame_then_ends(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=7)
    paced = open_source(path)
    assert paced.paced and not paced.lossless and paced.fps == pytest.approx(25.0)
    paced.close()
    source = open_source("file://" + path + "?realtime=0")
    assert source.lossless and not source.paced
    images = []
    while True:
        image = source.read()
        if image is None:
            break
        images.append(image)
    source.close()
    assert len(images) == 7 and images[0].shape == (96, 160, 3)


def test_synthetic_source_is_the_synthetic_world_in_order():
    source = open_source("synthetic://?seed=3&width=128&height=72&fps=10&realtime=0")
    assert source.fps == 10.0 and source.lossless
    first, second = source.read(), source.read()
    assert first.shape == (72, 128, 3) and not np.array_equal(first, second)
    again = open_source("synthetic://?seed=3&width=128&height=72&fps=10")
    assert np.array_equal(again.read(), first) and again.paced


class FlakyOpener:
    """Fails to open ``fail_opens`` times, then opens ``make()``; the first source it
    opens dies (SourceError on read) after ``die_after`` frames, like an unplugged camera."""

    def __init__(self, make, fail_opens, die_after):
        self.make, self.fail_opens, self.die_after = make, fail_opens, die_after
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.fail_opens:
            raise SourceError("camera not found")
        source = self.make()
        if self.die_after is not None:
            source.read = self._dying(source.read, self.die_after)
            self.die_after = None
        return source

    @staticmethod
    def _dying(read, frames):
        left = [frames]

        def dying_read():
            if left[0] == 0:
                raise SourceError("camera returned no frame")
            left[0] -= 1
            return read()
        return dying_read


def test_a_source_of_scaled_frames_puts_the_cameras_size_on_each_frame(tmp_path):
    """A CSI camera scaled on the VIC reads network-sized images that stand for the camera's
    picture (``frame_size``); a video file stands in for the camera here."""
    path = write_video(tmp_path / "clip.mp4", frames=3, size=(96, 54))

    def opener():
        capture = cv2.VideoCapture(path)
        return OpenCVSource("csi://0", capture, 25.0, live=False, realtime=False,
                            frame_size=(1920, 1080))

    prepared = []
    slot = LatestFrame()
    worker = CaptureWorker("csi://0", opener, slot, lambda event: None,
                           prepare=lambda image, held, size: prepared.append(size))
    worker.start()
    frames = [slot.get(timeout=5.0) for _ in range(3)]
    assert worker.finished.wait(5.0) and worker.stop()
    assert [f.size for f in frames] == [(1920, 1080)] * 3 and prepared == [(1920, 1080)] * 3
    assert frames[0].image.shape == (54, 96, 3) and frames[0].frame_size == (1920, 1080)


def test_a_source_that_fails_is_reopened_with_events(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=10)
    opener = FlakyOpener(lambda: open_source(path + "?realtime=0"), fail_opens=3, die_after=4)
    slot, emitted = LatestFrame(), []
    worker = CaptureWorker("v4l2:///dev/video9", opener, slot, emitted.append,
                           reconnect_min=0.001).start()
    indexes = []
    while len(indexes) < 14:   # 4 frames, the camera dies, then a fresh file of 10
        got = slot.get(timeout=5.0)
        assert got is not None, "capture stalled"
        indexes.append(got.index)
    assert worker.finished.wait(5.0)
    assert worker.stop()
    assert indexes == list(range(14))   # one frame index across reconnections
    assert [e.type for e in emitted] == [ev.CAMERA_LOST, ev.CAMERA_RESTORED,
                                          ev.CAMERA_LOST, ev.CAMERA_RESTORED]
    assert emitted[0].data["reason"].startswith("cannot open: camera not found")
    assert emitted[1].data["attempts"] == 3 and emitted[3].data["attempts"] == 1
    assert opener.calls == 5 and worker.reopened == 2 and slot.overwritten == 0


def test_stop_interrupts_the_backoff_wait():
    def never():
        raise SourceError("camera not found")
    emitted, reported = [], threading.Event()

    def emit(event):
        emitted.append(event)
        reported.set()
    worker = CaptureWorker("csi://0", never, LatestFrame(), emit, reconnect_min=10.0).start()
    assert reported.wait(5.0)   # the first failure is reported at once
    assert worker.stop(timeout=2.0) and worker.error is None
    assert [e.type for e in emitted] == [ev.CAMERA_LOST]


class SilentSource:
    """A camera that opens but never delivers: each read fails (a driver's own error type)."""

    live, lossless, paced, fps, description = True, False, False, 30.0, "silent camera"

    def read(self):
        raise RuntimeError("VIDIOC_DQBUF: No such device")

    def close(self):
        pass


def test_a_camera_that_opens_but_gives_nothing_backs_off_without_flapping():
    emitted, opened = [], threading.Event()
    calls = []

    def opener():
        calls.append(1)
        if len(calls) == 4:
            opened.set()
        return SilentSource()
    worker = CaptureWorker("v4l2:///dev/video0", opener, LatestFrame(), emitted.append,
                           reconnect_min=0.001).start()
    assert opened.wait(5.0)
    assert worker.stop(timeout=2.0) and worker.error is None
    assert [e.type for e in emitted] == [ev.CAMERA_LOST]   # no restored/lost flapping
    assert "RuntimeError: VIDIOC_DQBUF" in emitted[0].data["reason"]
    assert worker.failures >= 3 and worker.reopened == 0


def test_the_argus_socket_check_tells_a_live_daemon_from_a_dead_or_missing_one():
    """Real UNIX sockets where nvargus-daemon's would be: listening (alive), closed with its
    file left behind (what the service's bind mount holds after the daemon restarted: connect()
    is refused), of another type (alive), missing, and not a socket."""
    folder = tempfile.mkdtemp(prefix="argus")   # socket paths are limited to 107 bytes
    path = os.path.join(folder, "argus_socket")
    try:
        assert "no Argus socket at " + path in socket_problem(path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)
        assert socket_problem(path) is None
        listener.close()   # the daemon is gone; its socket file stays, as in the bind mount
        assert socket_problem(path).startswith(f"nothing listens on {path}: nvargus-daemon stopped")
        os.unlink(path)
        datagram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        datagram.bind(path)
        assert socket_problem(path) is None   # alive, of another socket type
        datagram.close()
        os.unlink(path)
        open(path, "w").close()
        assert socket_problem(path) == f"{path} is not the Argus daemon's socket (not a socket)"
    finally:
        shutil.rmtree(folder)
    assert diagnose_for("csi://0") is socket_problem and diagnose_for("CSI://1?flip=2")
    assert diagnose_for("v4l2:///dev/video0") is None and diagnose_for("rtsp://cam/live") is None


def test_a_lost_csi_camera_says_when_the_argus_socket_is_dead():
    folder = tempfile.mkdtemp(prefix="argus")
    path = os.path.join(folder, "argus_socket")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)
    dead.close()
    emitted, reported = [], threading.Event()

    def never():
        raise SourceError("cannot open csi://0: check the ribbon cable")

    def emit(event):
        emitted.append(event)
        reported.set()
    worker = CaptureWorker("csi://0", never, LatestFrame(), emit, reconnect_min=10.0,
                           diagnose=lambda: socket_problem(path)).start()
    try:
        assert reported.wait(5.0)
    finally:
        assert worker.stop(timeout=2.0)
        shutil.rmtree(folder)
    [lost] = emitted
    assert lost.data["reason"].startswith("cannot open: cannot open csi://0: check the ribbon "
                                          f"cable; nothing listens on {path}: nvargus-daemon")
    assert "[service] camera-restart" in lost.data["reason"]
